"""Fixtures for the store and the service against a real PostgreSQL (no HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from broker.app import Broker, build
from broker.config import Settings
from broker.core.models import Caller
from broker.core.service import BrokerService

CALLER = Caller(access_key_id="AKIDTEST")


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "pool_min_size": 1,
        "pool_max_size": 8,
        "delete_recreate_cooldown_seconds": 0,
        "purge_cooldown_seconds": 60,
        "janitor_interval_seconds": 3600.0,  # tests drive the janitor by hand
        "queue_cache_seconds": 0.5,
    }
    values.update(overrides)
    return Settings(**values)


BrokerFactory = Callable[..., AbstractAsyncContextManager[Broker]]


@pytest.fixture
def running_broker() -> BrokerFactory:
    """Start a whole broker process's stack (pool, listener, workers) in this event loop."""

    @asynccontextmanager
    async def start(database_url: str, **overrides: Any) -> AsyncIterator[Broker]:
        broker = build(settings_for(database_url, **overrides))
        await broker.start()
        try:
            yield broker
        finally:
            await broker.stop()

    return start


@pytest.fixture
async def broker(running_broker: BrokerFactory, database_url: str) -> AsyncIterator[Broker]:
    async with running_broker(database_url) as started:
        yield started


@pytest.fixture
def service(broker: Broker) -> BrokerService:
    return broker.service


@pytest.fixture
def caller() -> Caller:
    return CALLER
