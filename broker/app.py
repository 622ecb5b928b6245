"""The composition root: Settings -> pool -> store -> service -> ASGI application."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import BaseRoute, Route

from broker.config import Settings
from broker.core.service import BrokerService, ServiceLimits, new_secret
from broker.core.wakeups import WakeupHub
from broker.errors import BrokerError
from broker.protocols.aws import aws_routes
from broker.storage import migrations
from broker.storage.postgres import PostgresStore, create_pool
from broker.storage.wakeups import PostgresSignal
from broker.workers.janitor import Janitor
from broker.workers.loop import PeriodicWorker
from broker.workers.mover import Mover

log = logging.getLogger(__name__)


@dataclass
class Broker:
    """Everything one broker process runs, started and stopped together."""

    settings: Settings
    store: PostgresStore
    signal: PostgresSignal
    hub: WakeupHub
    service: BrokerService
    workers: list[PeriodicWorker] = field(default_factory=list)

    async def start(self) -> None:
        s = self.settings
        await self.store.pool.open(wait=True, timeout=30)
        self.service.use_receipt_secret(await self.store.load_secret("receipts", new_secret()))
        await self.signal.start()
        self.workers = [
            Janitor(
                self.store,
                s.janitor_interval_seconds,
                s.janitor_batch_size,
                s.delete_recreate_cooldown_seconds,
            ),
            Mover(self.store, self.signal),
        ]
        for worker in self.workers:
            worker.start()

    async def stop(self) -> None:
        for worker in self.workers:
            await worker.stop()
        await self.signal.stop()
        self.hub.wake_all()
        await self.store.pool.close()


def build(settings: Settings) -> Broker:
    if settings.database_url is None:
        raise ValueError("build() needs a database URL; the CLI starts the embedded server first")
    pool = create_pool(settings.database_url, settings.pool_min_size, settings.pool_max_size)
    store = PostgresStore(pool)
    hub = WakeupHub()
    signal = PostgresSignal(settings.database_url, store, hub, settings.notify_window_seconds)
    limits = ServiceLimits(
        region=settings.region,
        max_message_bytes=settings.max_message_bytes,
        queue_cache_seconds=settings.queue_cache_seconds,
        poll_interval_seconds=settings.poll_interval_seconds,
        delete_recreate_cooldown_seconds=settings.delete_recreate_cooldown_seconds,
        purge_cooldown_seconds=settings.purge_cooldown_seconds,
    )
    service = BrokerService(store, signal, hub, limits)
    return Broker(settings, store, signal, hub, service)


def create_app(settings: Settings) -> Starlette:
    broker = build(settings)
    expected_revision = migrations.head_revision()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await broker.start()
        app.state.broker = broker
        try:
            yield
        finally:
            await broker.stop()

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, bool] = {"listener": broker.signal.connected.is_set()}
        try:
            await broker.store.ping()
            checks["database"] = True
        except BrokerError:
            checks["database"] = False
        ready = all(checks.values())
        body = {"ready": ready, "checks": checks, "schema": expected_revision}
        return JSONResponse(body, status_code=200 if ready else 503)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        *aws_routes(broker.service, settings.public_url, settings.max_request_bytes),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
