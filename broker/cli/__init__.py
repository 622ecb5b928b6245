"""The ``broker`` command.

``server``: serve, migrate (and the ``main`` group); ``admin``: accounts and access keys;
``queues`` and ``topics``: the client commands that talk to a running broker through
``broker.sdk``; ``patterns``: test-pattern, local and offline.
"""

from broker.cli import admin, patterns, queues, topics
from broker.cli.server import main, worker_app

__all__ = ["admin", "main", "patterns", "queues", "topics", "worker_app"]
