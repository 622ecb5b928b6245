"""The composition root: Settings -> pool -> store -> service -> ASGI application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from types import FrameType

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from broker import logs
from broker.api import api_routes
from broker.config import Settings
from broker.core.service import BrokerService, ServiceLimits, new_secret
from broker.core.topics import TopicLimits, TopicService
from broker.core.wakeups import WakeupHub
from broker.errors import BrokerError
from broker.metrics.collector import (
    ProcessGaugeCollector,
    QueueCounters,
    QueueGaugeCollector,
    TopicCounters,
)
from broker.metrics.exposition import Exposition
from broker.metrics.instruments import Instruments
from broker.metrics.observer import MetricsObserver, TopicMetricsObserver
from broker.protocols.aws import aws_routes
from broker.protocols.aws.sns.endpoint import SnsEndpoint
from broker.protocols.aws.sns.filter_language import MatchingFilters
from broker.request_limits import RequestLimits
from broker.signing import SECRET_NAME, KeyRing, new_signing_material
from broker.storage import migrations
from broker.storage.postgres import PostgresStore, create_pool
from broker.storage.topics import TopicStore
from broker.storage.wakeups import PostgresSignal
from broker.workers.deliverer import Deliverer
from broker.workers.janitor import Janitor
from broker.workers.loop import PeriodicWorker
from broker.workers.mover import Mover

log = logging.getLogger(__name__)

SCHEMA_RECHECK_SECONDS = 5.0
"""While the database is behind this release's migration, /readyz re-reads it at most this often."""


GAUGE_DUTY_FACTOR = 10
"""The gauge statement may keep a connection busy for at most 1/10 of the time: when it takes
longer than a tenth of the interval (millions of messages), the pause grows to match."""


class GaugeRefresher(PeriodicWorker):
    """Recomputes the queue gauges of /metrics every ``BROKER_METRICS_INTERVAL_SECONDS``, or
    every ``GAUGE_DUTY_FACTOR`` times the statement's own duration when that is longer."""

    name = "metrics"

    def __init__(self, collector: QueueGaugeCollector, interval_seconds: float) -> None:
        super().__init__(interval_seconds)
        self._collector = collector
        self._configured = interval_seconds

    async def run_once(self) -> bool:
        started = time.monotonic()
        try:
            await self._collector.refresh()
        finally:  # a failure that took long (a statement timeout) slows the retries too
            took = time.monotonic() - started
            self.interval_seconds = max(self._configured, GAUGE_DUTY_FACTOR * took)
        return False


class TopicRuntime:
    """SNS in one process: topic store and service, signing key, endpoint and deliverer."""

    def __init__(self, settings: Settings, store: PostgresStore, signal: PostgresSignal) -> None:
        self._secrets = store
        self.store = TopicStore(store.pool)
        self.keys = KeyRing()
        limits = TopicLimits(region=settings.region, cache_seconds=settings.queue_cache_seconds)
        self.service = TopicService(self.store, signal, self.keys, MatchingFilters(), limits)
        self.endpoint = SnsEndpoint(self.service, self.keys)
        base_url = settings.public_url or f"http://{settings.host}:{settings.port}"
        self.deliverer = Deliverer(
            self.store,
            self.store,
            self.service,
            signal,
            base_url,
            poll_seconds=settings.delivery_poll_seconds,
            timeout_seconds=settings.delivery_timeout_seconds,
        )
        self.service.deliveries_pending = self.deliverer.wake

    async def start(self) -> None:
        # The first process to start stores its key; every other one loads that key.
        self.keys.load(await self._secrets.load_secret(SECRET_NAME, new_signing_material()))
        self.deliverer.start()

    async def stop(self) -> None:
        await self.deliverer.stop()


@dataclass
class Broker:
    """Everything one broker process runs, started and stopped together."""

    settings: Settings
    store: PostgresStore
    signal: PostgresSignal
    hub: WakeupHub
    service: BrokerService
    instruments: Instruments = field(default_factory=Instruments)
    topics: TopicRuntime | None = None
    workers: list[PeriodicWorker] = field(default_factory=list)
    expected_revision: str | None = field(default_factory=migrations.head_revision)
    schema_current: bool = False
    """The database was seen at ``expected_revision`` (cached once true: later, newer migrations
    are expand-only, so an old replica stays ready through a rolling upgrade)."""
    draining: bool = False
    """Shutdown has begun: /readyz fails, so load balancers stop sending new requests."""
    _schema_checked_at: float = field(default=-SCHEMA_RECHECK_SECONDS, init=False, repr=False)

    def __post_init__(self) -> None:
        outbox = self.topics.store if self.topics is not None else None
        self.queue_gauges = QueueGaugeCollector(self.store, outbox=outbox)
        self.queue_counters = QueueCounters()
        self.topic_counters = TopicCounters()
        self.process_gauges = ProcessGaugeCollector(
            self.store, self.hub, self.settings.pool_max_size, self.serving
        )
        self.instruments.registry.register(self.process_gauges)
        self.service.observer = MetricsObserver(self.queue_counters)
        if self.topics is not None:
            topic_observer = TopicMetricsObserver(self.topic_counters)
            self.topics.service.observer = topic_observer
            self.topics.deliverer.observer = topic_observer
        self.exposition = Exposition(
            self.instruments.registry,
            self.process_gauges,
            [self.queue_gauges, self.queue_counters, self.topic_counters],
        )

    async def start(self) -> None:
        s = self.settings
        await self.store.pool.open(wait=True, timeout=30)
        self.service.use_receipt_secret(await self.store.load_secret("receipts", new_secret()))
        await self.signal.start()
        if self.topics is not None:
            await self.topics.start()
        await self.check_schema()
        self.workers = [
            Janitor(
                self.store,
                s.janitor_interval_seconds,
                s.janitor_batch_size,
                s.delete_recreate_cooldown_seconds,
                observer=self.service.observer,
            ),
            Mover(self.store, self.signal),
            GaugeRefresher(self.queue_gauges, s.metrics_interval_seconds),
        ]
        for worker in self.workers:
            worker.start()

    def begin_shutdown(self) -> None:
        """Stop looking ready and end every waiting receive (SIGTERM, before the drain)."""
        if not self.draining:
            log.info("shutting down: /readyz now fails; in-flight requests are drained")
        self.draining = True
        self.service.begin_shutdown()

    async def stop(self) -> None:
        self.begin_shutdown()
        for worker in self.workers:
            await worker.stop()
        if self.topics is not None:
            await self.topics.stop()
        await self.signal.stop()
        await self.store.pool.close()

    def serving(self) -> bool:
        """Ready as far as this process knows without a query (``broker_ready``)."""
        return self.signal.connected.is_set() and self.schema_current and not self.draining

    async def check_schema(self) -> bool:
        """Whether the database is at this release's migration; cheap once it was."""
        if self.schema_current:
            return True
        now = time.monotonic()
        if now - self._schema_checked_at < SCHEMA_RECHECK_SECONDS:
            return False
        self._schema_checked_at = now
        url = self.settings.database_url
        assert url is not None
        try:
            current = await asyncio.to_thread(migrations.current_revision, url)
        except Exception as exc:
            log.warning("cannot read the schema revision: %s", exc)
            return False
        self.schema_current = current == self.expected_revision
        if not self.schema_current:
            log.warning(
                "the database schema is at %s, this release needs %s: run `broker migrate`",
                current or "base",
                self.expected_revision,
            )
        return self.schema_current


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
        max_long_polls=settings.max_long_polls,
    )
    service = BrokerService(store, signal, hub, limits)
    topics = TopicRuntime(settings, store, signal)
    return Broker(settings, store, signal, hub, service, topics=topics)


@contextlib.contextmanager
def shutdown_notice(broker: Broker) -> Iterator[None]:
    """Call ``broker.begin_shutdown`` as soon as SIGTERM or SIGINT arrives.

    The ASGI lifespan only hears of a shutdown after the server drained its connections, too
    late to fail /readyz or to end long polls; so chain a handler in front of the server's
    (uvicorn installs its own with ``signal.signal``). Only possible on the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def notice(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(broker.begin_shutdown)
        handler = previous[signal.Signals(signum)]
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL and signum == signal.SIGINT:
            raise KeyboardInterrupt

    for sig in previous:
        signal.signal(sig, notice)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is notice:
                signal.signal(sig, handler)


def create_app(settings: Settings, *, configure_logging: bool = True) -> Starlette:
    """The ASGI application. ``configure_logging``: route every log line of the process through
    ``broker.logs`` at startup (off in tests that build several apps in one process)."""
    broker = build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if configure_logging:
            logs.configure(settings.log_level, settings.log_format)
            if not settings.access_log:
                logging.getLogger("broker.access").setLevel(logging.WARNING)
        await broker.start()
        app.state.broker = broker
        try:
            with shutdown_notice(broker):
                yield
        finally:
            await broker.stop()

    async def healthz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, bool] = {
            "listener": broker.signal.connected.is_set(),
            "schema": await broker.check_schema(),
            "accepting": not broker.draining,
        }
        try:
            await broker.store.ping()
            checks["database"] = True
        except BrokerError:
            checks["database"] = False
        ready = all(checks.values())
        body = {"ready": ready, "checks": checks, "schema": broker.expected_revision}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        body, headers = await broker.exposition.render(
            request.headers.get("accept", ""), request.headers.get("accept-encoding", "")
        )
        return Response(body, headers=headers)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *api_routes(
            broker.service,
            settings.public_url,
            settings.max_request_bytes,
            broker.instruments,
            region=settings.region,
            topics=broker.topics.service if broker.topics else None,
        ),
        *aws_routes(
            broker.service,
            settings.public_url,
            settings.max_request_bytes,
            broker.instruments,
            sns=broker.topics.endpoint if broker.topics else None,
        ),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(
        RequestLimits,
        max_body_bytes=settings.max_request_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
    )
    return app
