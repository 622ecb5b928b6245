"""Driver errors, translated once at the edge of the store into the broker's conditions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from broker.errors import Throttled, Unavailable


@contextmanager
def translate_errors() -> Iterator[None]:
    try:
        yield
    except PoolTimeout as exc:
        raise Throttled("The broker is at capacity; retry the request.") from exc
    except (pg_errors.QueryCanceled, pg_errors.LockNotAvailable) as exc:
        raise Throttled(f"The database did not answer in time: {exc.sqlstate}") from exc
    except (psycopg.OperationalError, pg_errors.AdminShutdown) as exc:
        # Connection lost, server restarting or out of resources (SQLSTATE classes 08, 53, 57).
        raise Unavailable("The database is unavailable; retry the request.") from exc
