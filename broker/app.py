"""The composition root: Settings -> pool -> store -> service -> ASGI application."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import sys
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
from broker.api import admin_routes, api_routes
from broker.config import ConfigError, Settings
from broker.core import connection_secrets
from broker.core.accounts import ROOT_ACCOUNT_ID, AccountService
from broker.core.event_archives import ArchiveService
from broker.core.event_destinations import DestinationService
from broker.core.events import EventLimits, EventService
from broker.core.rate_limits import RateLimiter
from broker.core.service import BrokerService, ServiceLimits, new_secret
from broker.core.topics import TopicLimits, TopicService
from broker.core.wakeups import WakeupHub
from broker.errors import BrokerError
from broker.front_door import FrontDoor
from broker.metrics.collector import (
    EventCounters,
    ProcessGaugeCollector,
    QueueCounters,
    QueueGaugeCollector,
    TopicCounters,
)
from broker.metrics.exposition import Bulk, Exposition
from broker.metrics.instruments import Instruments
from broker.metrics.observer import (
    EventMetricsObserver,
    MetricsObserver,
    TopicMetricsObserver,
)
from broker.protocols.aws import aws_endpoint, aws_routes
from broker.protocols.aws.context import Authenticator
from broker.protocols.aws.events.endpoint import EventsEndpoint
from broker.protocols.aws.events.patterns import EventPatterns
from broker.protocols.aws.sns.endpoint import SnsEndpoint
from broker.protocols.aws.sns.filter_language import MatchingFilters
from broker.request_limits import RequestLimits
from broker.secret_cipher import DATABASE_KEY_NAME, FernetCipher, new_encryption_key, parse_keys
from broker.signing import SECRET_NAME, KeyRing, new_signing_material
from broker.storage import migrations
from broker.storage.accounts import AccountStore
from broker.storage.events import EventStore
from broker.storage.postgres import PostgresStore, create_pool
from broker.storage.topics import TopicStore
from broker.storage.wakeups import PostgresSignal
from broker.workers.deliverer import Deliverer
from broker.workers.event_targets import EventTargetPoster
from broker.workers.janitor import Janitor
from broker.workers.loop import PeriodicWorker
from broker.workers.mover import Mover
from broker.workers.scheduler import Scheduler

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


class EventRuntime:
    """EventBridge in one process: its store, services, endpoint and scheduler."""

    def __init__(
        self, settings: Settings, store: PostgresStore, signal: PostgresSignal, topics: TopicRuntime
    ) -> None:
        self.store = EventStore(store.pool)
        limits = EventLimits(
            region=settings.region,
            cache_seconds=settings.queue_cache_seconds,
            max_entry_bytes=settings.events_max_entry_bytes,
        )
        self.service = EventService(self.store, signal, EventPatterns(), limits)
        self.destinations = DestinationService(self.store, settings.region)
        self.archives = ArchiveService(self.store, self.service, settings.region)
        self.endpoint = EventsEndpoint(self.service, self.destinations, self.archives)
        self.scheduler = Scheduler(self.service, self.archives, settings.scheduler_interval_seconds)
        # Topic targets and API destinations leave through the topics' inbox and outbox.
        self.service.deliveries_pending = topics.deliverer.wake
        self.poster = EventTargetPoster(
            topics.store,
            self.store,
            self.destinations.connection_by_arn,
            signal,
            backoff_seconds=settings.event_retry_seconds,
        )
        topics.deliverer.event_targets = self.poster


GENERATED_ROOT_MARKER = "root-credentials-generated"
"""The ``broker.secrets`` row written with the generated root key, in the same transaction: its
first writer generates (and prints) the root credentials."""


class AccessRuntime:
    """Accounts, keys and request authentication in one process."""

    def __init__(self, settings: Settings, store: PostgresStore) -> None:
        self.settings = settings
        self._secrets = store
        self.store = AccountStore(store.pool)
        self.cipher: FernetCipher | None = None
        try:
            self._configured_keys = (
                parse_keys(settings.secret_encryption_key) if settings.secret_encryption_key else []
            )
        except ValueError:
            raise ConfigError(
                "BROKER_SECRET_ENCRYPTION_KEY must be comma-separated Fernet keys "
                "(32 url-safe base64-encoded bytes each)"
            ) from None
        self.accounts = AccountService(
            self.store,
            cache_seconds=settings.key_cache_seconds,
            development_credentials=settings.development_credentials_enabled,
        )
        limiter = None
        if settings.rate_limit_per_second > 0:
            limiter = RateLimiter(
                settings.rate_limit_per_second, settings.effective_rate_limit_burst
            )
        self.authenticator = Authenticator(self.accounts, settings.regions, limiter)

    async def start(self) -> None:
        await self.load_cipher()
        await self.accounts.ensure_root_account()
        s = self.settings
        if s.development_credentials_enabled:
            log.warning(
                "accepting the development credentials (access key id 'test', secret 'test') "
                "as the root account: for local use only (see docs/security.md)"
            )
        if s.root_access_key_id is not None and s.root_secret_access_key is not None:
            await self.accounts.ensure_key(
                ROOT_ACCOUNT_ID, s.root_access_key_id, s.root_secret_access_key, admin=True
            )
        elif not s.development_credentials_enabled:
            await self._generate_root_key()

    async def load_cipher(self) -> None:
        """The configured encryption keys, plus the database's own key when one was made."""
        keys = list(self._configured_keys)
        stored = await self.store.get_secret(DATABASE_KEY_NAME)
        if not keys:
            log.warning(
                "BROKER_SECRET_ENCRYPTION_KEY is not set: access-key secrets are encrypted with "
                "a key kept in the database itself (see docs/security.md)"
            )
            candidate = new_encryption_key().encode("ascii")
            stored = await self._secrets.load_secret(DATABASE_KEY_NAME, candidate)
        if stored is not None:  # still decrypts what it encrypted before a key was configured
            keys.append(stored.decode("ascii"))
        self.cipher = FernetCipher(keys)
        self.accounts.use_cipher(self.cipher)

    async def reencrypt_secrets(self) -> int:
        """Every secret (access keys and EventBridge connections) encrypted again with the first
        configured key; the count re-encrypted."""
        count = await self.accounts.reencrypt_secrets()
        cipher = self.cipher
        assert cipher is not None, "load_cipher() first"
        events = EventStore(self._secrets.pool)
        return count + await events.reseal_connections(
            lambda parameters: connection_secrets.reseal(parameters, cipher)
        )

    async def _generate_root_key(self) -> None:
        """On the very first start without configured credentials, make a root key and print it
        (once, on standard error, never to the log)."""
        if await self.store.list_keys(ROOT_ACCOUNT_ID):
            return
        issued = await self.accounts.create_key_once(
            ROOT_ACCOUNT_ID, GENERATED_ROOT_MARKER, admin=True
        )
        if issued is None:
            return  # another process generated them, now or at an earlier start
        print(
            "\n".join(
                [
                    "",
                    "Generated root credentials (shown once; store them now):",
                    f"  access key id:     {issued.key.access_key_id}",
                    f"  secret access key: {issued.secret_access_key}",
                    "",
                ]
            ),
            file=sys.stderr,
            flush=True,
        )


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
    events: EventRuntime | None = None
    access: AccessRuntime | None = None
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
        event_gauges = self.events.store if self.events is not None else None
        self.queue_gauges = QueueGaugeCollector(self.store, outbox=outbox, events=event_gauges)
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
        self.event_counters = EventCounters()
        bulk: list[Bulk] = [self.queue_gauges, self.queue_counters, self.topic_counters]
        if self.events is not None:
            event_observer = EventMetricsObserver(self.event_counters)
            self.events.service.observer = event_observer
            self.events.poster.observer = event_observer
            bulk.append(self.event_counters)
        self.exposition = Exposition(self.instruments.registry, self.process_gauges, bulk)

    async def start(self) -> None:
        s = self.settings
        await self.store.pool.open(wait=True, timeout=30)
        self.service.use_receipt_secret(await self.store.load_secret("receipts", new_secret()))
        await self.access_runtime.start()
        if self.events is not None and self.access_runtime.cipher is not None:
            self.events.destinations.use_cipher(self.access_runtime.cipher)
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
                archives=self.events.archives if self.events else None,
                subscriptions=self.topics.service if self.topics else None,
            ),
            Mover(self.store, self.signal),
            GaugeRefresher(self.queue_gauges, s.metrics_interval_seconds),
        ]
        if self.events is not None:
            self.workers.append(self.events.scheduler)
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

    @property
    def access_runtime(self) -> AccessRuntime:
        if self.access is None:
            self.access = AccessRuntime(self.settings, self.store)
        return self.access

    @property
    def authenticator(self) -> Authenticator:
        return self.access_runtime.authenticator

    @property
    def accounts(self) -> AccountService:
        return self.access_runtime.accounts

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
    signal = PostgresSignal(
        settings.database_url,
        store,
        hub,
        settings.notify_window_seconds,
        announce_seconds=settings.peer_announce_seconds,
    )
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
    events = EventRuntime(settings, store, signal, topics)
    access = AccessRuntime(settings, store)
    return Broker(
        settings, store, signal, hub, service, topics=topics, events=events, access=access
    )


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


def create_app(settings: Settings, *, configure_logging: bool = True) -> FrontDoor:
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

    aws = aws_endpoint(
        broker.service,
        settings.public_url,
        settings.max_request_bytes,
        broker.instruments,
        sns=broker.topics.endpoint if broker.topics else None,
        events=broker.events.endpoint if broker.events else None,
        authenticator=broker.authenticator,
    )
    aws_root, aws_any_path = aws_routes(aws)
    limits = functools.partial(
        RequestLimits,
        max_body_bytes=settings.max_request_bytes,
        body_timeout_seconds=settings.body_timeout_seconds,
        instruments=broker.instruments,
    )
    # The SDKs post to "/": most requests skip the router (FrontDoor); when they do pass it, as in
    # tests that mount these routes alone, "/" is tried first (there are dozens of REST routes).
    routes: list[BaseRoute] = [
        aws_root,
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
            authenticator=broker.authenticator,
        ),
        *admin_routes(broker.accounts, broker.authenticator, settings.region),
        aws_any_path,
    ]
    app = FrontDoor(limits(aws), routes, lifespan)
    app.add_middleware(limits)
    return app
