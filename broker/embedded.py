"""The embedded default: a private PostgreSQL under the data directory, from the pgserver wheel.

It listens only on a Unix socket inside the data directory; several broker processes started with
the same data directory share one server, which stops when the last of them exits.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def start(data_dir: Path) -> tuple[str, Any]:
    """Start (or join) the embedded server; returns its URL and the handle that keeps it alive."""
    from pgserver.postgres_server import get_server  # only the embedded default needs it

    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    return str(server.get_uri()), server
