"""Driver errors, translated once at the edge of the store into the broker's conditions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from broker.errors import Throttled, Unavailable
from broker.storage.health import DatabaseHealth

UNAVAILABLE = "The database is unavailable; retry the request."


@contextmanager
def translate_errors(health: DatabaseHealth | None = None) -> Iterator[None]:
    """Driver errors as broker conditions; connection-level failures are noted in ``health``."""
    try:
        yield
    except PoolTimeout as exc:
        if health is not None and not health.reachable:
            # No connection because the pool cannot reconnect, not because all are busy.
            raise Unavailable(UNAVAILABLE) from exc
        raise Throttled("The broker is at capacity; retry the request.") from exc
    except (pg_errors.QueryCanceled, pg_errors.LockNotAvailable) as exc:
        raise Throttled(f"The database did not answer in time: {exc.sqlstate}") from exc
    except (psycopg.OperationalError, pg_errors.AdminShutdown) as exc:
        # Connection lost, server restarting or out of resources (SQLSTATE classes 08, 53, 57).
        if health is not None:
            health.failed()
        raise Unavailable(UNAVAILABLE) from exc
