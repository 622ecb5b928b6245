"""Fixtures for the store and the service against a real PostgreSQL (no HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from request_signing import TEST_ACCESS_KEY, TEST_SECRET_KEY, Resigner
from starlette.applications import Starlette

from broker.api import api_routes
from broker.app import Broker, build
from broker.config import Settings
from broker.core.models import Caller
from broker.core.service import BrokerService
from broker.protocols.aws import aws_endpoint, aws_routes
from broker.sdk import AsyncClient, RetryPolicy

CALLER = Caller(access_key_id=TEST_ACCESS_KEY)


TEST_ENCRYPTION_KEY = "kZvc3Rh8Dm2SxmD4dcjzJYvs3o5PAnbTg8sz7L0l9Bk="


def settings_for(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "pool_min_size": 1,
        "pool_max_size": 8,
        "delete_recreate_cooldown_seconds": 0,
        "purge_cooldown_seconds": 60,
        "janitor_interval_seconds": 3600.0,  # tests drive the janitor by hand
        "queue_cache_seconds": 0.5,
        "root_access_key_id": TEST_ACCESS_KEY,
        "root_secret_access_key": TEST_SECRET_KEY,
        "secret_encryption_key": TEST_ENCRYPTION_KEY,
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


BEARER = {"Authorization": "Bearer AKIDTEST:secret"}


def rest_app(broker: Broker) -> Starlette:
    """The REST and AWS routes of a started broker, without the rest of the app."""
    topics = broker.topics
    return Starlette(
        routes=[
            *api_routes(
                broker.service,
                None,
                topics=topics.service if topics else None,
                authenticator=broker.authenticator,
            ),
            *aws_routes(
                aws_endpoint(
                    broker.service,
                    None,
                    sns=topics.endpoint if topics else None,
                    authenticator=broker.authenticator,
                )
            ),
        ]
    )


@pytest.fixture
async def http(broker: Broker) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=rest_app(broker))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://broker.test",
        headers=BEARER,
        timeout=30,
        auth=Resigner(),
    ) as client:
        yield client


@pytest.fixture
async def sdk(broker: Broker) -> AsyncIterator[AsyncClient]:
    transport = httpx.ASGITransport(app=rest_app(broker))
    async with AsyncClient(
        "http://broker.test",
        "AKIDTEST",
        "secret",
        transport=transport,
        retry=RetryPolicy(max_attempts=1),
    ) as client:
        yield client
