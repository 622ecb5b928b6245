"""How a pool timeout is reported depends on what the process last saw of its database."""

from __future__ import annotations

import psycopg
import pytest
from psycopg_pool import PoolTimeout

from broker.errors import Throttled, Unavailable
from broker.storage.errors import translate_errors
from broker.storage.health import DOWN_ACQUIRE_SECONDS, DatabaseHealth


def test_a_pool_timeout_while_the_database_answers_is_throttling() -> None:
    health = DatabaseHealth(acquire_seconds=30.0)
    with pytest.raises(Throttled), translate_errors(health):
        raise PoolTimeout("all connections busy")
    assert health.reachable
    assert health.acquire_timeout() == 30.0


def test_after_a_lost_connection_a_pool_timeout_is_unavailability() -> None:
    health = DatabaseHealth(acquire_seconds=30.0)
    with pytest.raises(Unavailable), translate_errors(health):
        raise psycopg.OperationalError("server closed the connection unexpectedly")
    assert not health.reachable
    # Requests stop waiting the pool's full timeout for a server that is gone...
    assert health.acquire_timeout() == DOWN_ACQUIRE_SECONDS
    with pytest.raises(Unavailable), translate_errors(health):
        raise PoolTimeout("cannot reconnect")
    # ... until a statement succeeds again.
    health.succeeded()
    assert health.reachable
    with pytest.raises(Throttled), translate_errors(health):
        raise PoolTimeout("all connections busy")


def test_a_statement_timeout_is_throttling_and_not_an_outage() -> None:
    health = DatabaseHealth(acquire_seconds=30.0)
    with pytest.raises(Throttled), translate_errors(health):
        raise psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    assert health.reachable
