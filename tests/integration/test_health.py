"""/healthz, /readyz and the start of a graceful shutdown, on a whole app and a real database."""

from __future__ import annotations

import asyncio
import os
import signal
import warnings
from collections.abc import Iterator
from types import FrameType
from typing import Any

import psycopg
import pytest

from broker import app as app_module
from broker.app import Broker, create_app, shutdown_notice
from broker.config import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette 1.x: its test client will move to httpx2
    from starlette.testclient import TestClient


def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        pool_min_size=1,
        pool_max_size=2,
        janitor_interval_seconds=3600.0,
        metrics_interval_seconds=3600.0,
    )


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(settings(database_url), configure_logging=False)) as client:
        yield client


def broker_of(client: TestClient) -> Broker:
    broker: Broker = client.app.state.broker  # type: ignore[attr-defined]
    return broker


def test_healthz_answers_while_the_process_lives(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")


def test_readyz_checks_database_schema_and_listener(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True
    assert body["checks"] == {"database": True, "schema": True, "listener": True, "accepting": True}
    assert body["schema"] == broker_of(client).expected_revision


def test_readyz_fails_once_shutdown_begins_and_waiters_are_woken(client: TestClient) -> None:
    broker = broker_of(client)
    assert client.portal is not None
    client.portal.call(broker.begin_shutdown)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["accepting"] is False
    assert "broker_ready 0.0" in client.get("/metrics").text
    assert client.get("/healthz").status_code == 200  # alive: let the drain finish


def test_readyz_waits_for_the_schema_migration(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        [(head,)] = conn.execute("SELECT version_num FROM broker.alembic_version").fetchall()
        conn.execute("UPDATE broker.alembic_version SET version_num = 'older'")
    monkeypatch.setattr(app_module, "SCHEMA_RECHECK_SECONDS", 0.0)
    with TestClient(create_app(settings(fresh_database_url), configure_logging=False)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["schema"] is False
        with psycopg.connect(fresh_database_url, autocommit=True) as conn:
            conn.execute("UPDATE broker.alembic_version SET version_num = %s", (head,))
        assert client.get("/readyz").status_code == 200
        # Once seen current it is cached: a later (expand-only) migration keeps it ready.
        with psycopg.connect(fresh_database_url, autocommit=True) as conn:
            conn.execute("UPDATE broker.alembic_version SET version_num = 'newer'")
        assert client.get("/readyz").status_code == 200


class Recorder:
    def __init__(self) -> None:
        self.began = asyncio.Event()
        self.signals: list[int] = []

    def begin_shutdown(self) -> None:
        self.began.set()

    def previous(self, signum: int, frame: FrameType | None) -> None:
        self.signals.append(signum)


async def test_sigterm_begins_the_shutdown_before_the_server_handles_it() -> None:
    recorder = Recorder()
    original = signal.signal(signal.SIGTERM, recorder.previous)
    try:
        broker: Any = recorder
        with shutdown_notice(broker):
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(recorder.began.wait(), 5)
        assert recorder.signals == [signal.SIGTERM]  # the server's handler still ran
        assert signal.getsignal(signal.SIGTERM) == recorder.previous  # and is back in place
    finally:
        signal.signal(signal.SIGTERM, original)
