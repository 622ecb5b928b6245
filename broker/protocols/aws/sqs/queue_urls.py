"""Queue URLs: ``{base}/{account_id}/{queue_name}``, resolved by their path alone.

SDKs send requests to their configured endpoint and pass the URL as an opaque parameter, so the
host in it may be anything (another port, a load balancer name); only the last two path
segments identify the queue.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from broker.core.models import Queue
from broker.errors import QueueNotFound


def queue_url(base_url: str, queue: Queue) -> str:
    return f"{base_url.rstrip('/')}/{queue.account_id}/{queue.name}"


def parse_queue_url(url: str) -> tuple[str, str]:
    """``(account_id, queue_name)`` from a queue URL; ``QueueNotFound`` when it has no such path."""
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        raise QueueNotFound() from None
    # A base URL may carry a path prefix of its own: take the last two segments.
    segments = [unquote(s) for s in path.split("/") if s]
    if len(segments) < 2:
        raise QueueNotFound()
    return segments[-2], segments[-1]


def queue_path(path: str) -> bool:
    """Whether a request path looks like ``/<account>/<name>`` (a Query POST to a queue URL)."""
    return len([s for s in path.split("/") if s]) >= 2
