"""The broker's metric names, its per-app instruments and the request context of access logs.

This is the leaf module of ``broker.metrics``: protocol adapters import it (and nothing else from
the package) to time requests and to name the request their log lines belong to.

The names in ``FAMILIES`` are a contract: dashboards and alert rules depend on them, and the
tests of ``deploy/`` and ``helm/`` check every expression against ``series_names()``. Rename one
only with a deprecation period (export both names for a release).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram


@dataclass(frozen=True)
class Family:
    """One exported metric family, as PromQL names it (counters with their ``_total``)."""

    name: str
    type: str
    """``gauge``, ``counter`` or ``histogram``."""
    labels: tuple[str, ...]
    help: str

    @property
    def series(self) -> tuple[str, ...]:
        """Every series name a query can use."""
        if self.type == "histogram":
            return tuple(self.name + s for s in ("_bucket", "_sum", "_count"))
        return (self.name,)


QUEUE_LABELS = ("account", "queue")
QUEUE_STATES = ("visible", "in_flight", "delayed")
POOL_STATES = ("idle", "busy", "waiting")
TOPIC_LABELS = ("account", "topic")
"""Topic families are labelled by topic, never by subscription ARN: series stay bounded by the
number of topics (times three protocols), however many subscriptions each topic has."""
TOPIC_PROTOCOL_LABELS = (*TOPIC_LABELS, "protocol")
PROTOCOLS = ("sqs", "http", "https")
"""Every subscription protocol the broker delivers to (the ``protocol`` label's values)."""
OUTBOX_STATES = ("due", "scheduled")

QUEUE_MESSAGES = Family(
    "broker_queue_messages",
    "gauge",
    (*QUEUE_LABELS, "state"),
    "Messages in the queue by state: visible, in_flight (received, not yet deleted), delayed. "
    "Refreshed in the background every BROKER_METRICS_INTERVAL_SECONDS.",
)
QUEUE_OLDEST_AGE = Family(
    "broker_queue_oldest_message_age_seconds",
    "gauge",
    QUEUE_LABELS,
    "Age of the oldest message of the queue in any state (0 when empty), as of the last refresh.",
)
QUEUE_GAUGES_TIMESTAMP = Family(
    "broker_queue_gauges_refreshed_timestamp_seconds",
    "gauge",
    (),
    "Unix time of the last successful refresh of the queue and outbox gauges (0 before the first).",
)
QUEUE_GAUGES_DURATION = Family(
    "broker_queue_gauges_refresh_duration_seconds",
    "gauge",
    (),
    "How long the last successful refresh of the queue and outbox gauges took.",
)
QUEUE_GAUGES_FAILURES = Family(
    "broker_queue_gauges_refresh_failures_total",
    "counter",
    (),
    "Refreshes of the queue and outbox gauges that failed (the previous values stay served).",
)
MESSAGES_SENT = Family(
    "broker_messages_sent_total", "counter", QUEUE_LABELS, "Messages accepted by send calls."
)
MESSAGES_RECEIVED = Family(
    "broker_messages_received_total",
    "counter",
    QUEUE_LABELS,
    "Messages delivered by receive calls (redeliveries count again).",
)
MESSAGES_DELETED = Family(
    "broker_messages_deleted_total",
    "counter",
    QUEUE_LABELS,
    "Messages deleted (acknowledged) by their consumers.",
)
MESSAGES_DEAD_LETTERED = Family(
    "broker_messages_dead_lettered_total",
    "counter",
    QUEUE_LABELS,
    "Messages moved to the dead-letter queue, labelled with the source queue.",
)
MESSAGES_EXPIRED = Family(
    "broker_messages_expired_total",
    "counter",
    QUEUE_LABELS,
    "Messages deleted by the janitor at the end of their retention period.",
)
RECEIVES_EMPTY = Family(
    "broker_receives_empty_total",
    "counter",
    QUEUE_LABELS,
    "Receive calls that returned no message (after their long poll, if any).",
)
TOPIC_MESSAGES_PUBLISHED = Family(
    "broker_topic_messages_published_total",
    "counter",
    TOPIC_LABELS,
    "Messages the topic accepted: Publish and PublishBatch entries (FIFO duplicates included) "
    "and broker.publish_message rows fanned out by this process.",
)
SUBSCRIPTION_MESSAGES_DELIVERED = Family(
    "broker_subscription_messages_delivered_total",
    "counter",
    TOPIC_PROTOCOL_LABELS,
    "Messages delivered to the topic's subscriptions: queue messages committed by the publish "
    "(sqs), notifications the endpoint answered with a 2xx (http, https).",
)
SUBSCRIPTION_MESSAGES_FILTERED_OUT = Family(
    "broker_subscription_messages_filtered_out_total",
    "counter",
    TOPIC_LABELS,
    "Subscriptions of the topic whose filter policy did not match a published message, one per "
    "subscription and message.",
)
SUBSCRIPTION_DELIVERY_FAILURES = Family(
    "broker_subscription_delivery_failures_total",
    "counter",
    TOPIC_PROTOCOL_LABELS,
    "Notification delivery attempts that failed (no answer, or not a 2xx).",
)
SUBSCRIPTION_DELIVERY_RETRIES = Family(
    "broker_subscription_delivery_retries_total",
    "counter",
    TOPIC_PROTOCOL_LABELS,
    "Failed notification deliveries rescheduled by their delivery policy.",
)
SUBSCRIPTION_MESSAGES_DEAD_LETTERED = Family(
    "broker_subscription_messages_dead_lettered_total",
    "counter",
    TOPIC_LABELS,
    "Notifications whose delivery retries ran out: moved to the subscription's dead-letter "
    "queue, or dropped when it has none.",
)
OUTBOX_MESSAGES = Family(
    "broker_outbox_messages",
    "gauge",
    ("state",),
    "Deliveries in the HTTP/S outbox by state: due (waiting for a deliverer), scheduled "
    "(waiting for a retry, or mid-POST). Refreshed in the background with the queue gauges.",
)
OUTBOX_OLDEST_AGE = Family(
    "broker_outbox_oldest_message_age_seconds",
    "gauge",
    (),
    "Age of the oldest delivery in the HTTP/S outbox (0 when empty), as of the last refresh.",
)
BUS_LABELS = ("account", "bus")
"""Event families are labelled by bus, never by rule or target: series stay bounded by the
number of buses (times four target kinds), however many rules each bus has."""
BUS_KIND_LABELS = (*BUS_LABELS, "kind")
TARGET_KINDS = ("sqs", "sns", "event_bus", "api_destination")
"""The kinds of event-rule target (the ``kind`` label's values)."""
EVENT_ERROR_CODES = (
    "InvalidArgument",
    "MalformedDetail",
    "NotAuthorizedForSourceException",
    "AccessDeniedException",
    "ResourceNotFoundException",
    "other",
)
"""The ``error_code`` label's values: the entry error codes PutEvents returns, and ``other``."""

EVENTS_PUT = Family(
    "broker_events_put_total",
    "counter",
    BUS_LABELS,
    "PutEvents entries the bus accepted (committed with their deliveries).",
)
EVENTS_PUT_FAILED = Family(
    "broker_events_put_failed_total",
    "counter",
    ("error_code",),
    "PutEvents entries refused, by the entry's ErrorCode (not per bus: the bus may not exist).",
)
EVENT_RULE_MATCHES = Family(
    "broker_event_rule_matches_total",
    "counter",
    BUS_LABELS,
    "Enabled rules of the bus that events matched, one per rule and event (replays included).",
)
EVENT_TARGET_INVOCATIONS = Family(
    "broker_event_target_invocations_total",
    "counter",
    BUS_KIND_LABELS,
    "Targets invoked by the bus's rules, by kind: queue messages and topic publications "
    "committed, events passed to another bus, API-destination calls answered with a 2xx.",
)
EVENT_TARGET_FAILURES = Family(
    "broker_event_target_invocation_failures_total",
    "counter",
    BUS_KIND_LABELS,
    "Failed invocations by the bus's rules, by kind: targets that do not exist (or are not "
    "permitted) when an event matches, and failed API-destination attempts.",
)
EVENT_TARGET_RETRIES = Family(
    "broker_event_target_retries_total",
    "counter",
    BUS_LABELS,
    "Failed API-destination calls rescheduled by the target's RetryPolicy.",
)
EVENTS_DEAD_LETTERED = Family(
    "broker_events_dead_lettered_total",
    "counter",
    BUS_LABELS,
    "API-destination deliveries that gave up: sent to the target's dead-letter queue, or "
    "dropped when it has none.",
)
EVENT_TARGET_THROTTLED = Family(
    "broker_event_target_throttled_total",
    "counter",
    BUS_LABELS,
    "API-destination calls postponed by the destination's InvocationRateLimitPerSecond.",
)
EVENT_SCHEDULE_FIRES = Family(
    "broker_event_schedule_fires_total",
    "counter",
    BUS_LABELS,
    "Scheduled rules of the bus that fired a tick.",
)
EVENT_SCHEDULE_MISSED = Family(
    "broker_event_schedule_missed_ticks_total",
    "counter",
    BUS_LABELS,
    "Ticks of the bus's scheduled rules that passed while the scheduler was late: skipped, "
    "never caught up (at most 10,000 per late fire).",
)
EVENTS_ARCHIVED = Family(
    "broker_events_archived_total",
    "counter",
    BUS_LABELS,
    "Copies of the bus's events written to its archives.",
)
EVENTS_REPLAYED = Family(
    "broker_events_replayed_total",
    "counter",
    BUS_LABELS,
    "Archived events replays processed, labelled with the destination bus.",
)
EVENT_RULES = Family(
    "broker_event_rules",
    "gauge",
    (*BUS_LABELS, "state"),
    "Rules of the bus by state: enabled, disabled. Refreshed in the background with the queue "
    "gauges.",
)
EVENT_DELIVERIES = Family(
    "broker_event_deliveries",
    "gauge",
    ("state",),
    "API-destination deliveries in the outbox by state: due (waiting for a deliverer), "
    "scheduled (a retry, a rate-limit wait, or mid-call). Refreshed with the queue gauges.",
)
EVENT_REPLAYS_ACTIVE = Family(
    "broker_event_replays_active",
    "gauge",
    (),
    "Replays starting, running or being cancelled. Refreshed with the queue gauges.",
)
HTTP_REQUEST_DURATION = Family(
    "broker_http_request_duration_seconds",
    "histogram",
    ("protocol", "action", "status"),
    "Time to answer a wire-protocol request, by protocol (sqs, sns, events), action and HTTP "
    "status. Long polls count their wait.",
)
LONG_POLL_WAITERS = Family(
    "broker_long_poll_waiters", "gauge", (), "Receive calls of this process waiting for messages."
)
DB_POOL_CONNECTIONS = Family(
    "broker_db_pool_connections",
    "gauge",
    ("state",),
    "Database pool of this process: idle and busy connections, and requests waiting for one.",
)
DB_POOL_MAX = Family(
    "broker_db_pool_max_connections",
    "gauge",
    (),
    "The most connections the database pool of this process opens (BROKER_POOL_MAX_SIZE).",
)
READY = Family(
    "broker_ready",
    "gauge",
    (),
    "1 when this process would pass /readyz (listener connected, schema current, not draining).",
)

FAMILIES: tuple[Family, ...] = (
    QUEUE_MESSAGES,
    QUEUE_OLDEST_AGE,
    QUEUE_GAUGES_TIMESTAMP,
    QUEUE_GAUGES_DURATION,
    QUEUE_GAUGES_FAILURES,
    MESSAGES_SENT,
    MESSAGES_RECEIVED,
    MESSAGES_DELETED,
    MESSAGES_DEAD_LETTERED,
    MESSAGES_EXPIRED,
    RECEIVES_EMPTY,
    TOPIC_MESSAGES_PUBLISHED,
    SUBSCRIPTION_MESSAGES_DELIVERED,
    SUBSCRIPTION_MESSAGES_FILTERED_OUT,
    SUBSCRIPTION_DELIVERY_FAILURES,
    SUBSCRIPTION_DELIVERY_RETRIES,
    SUBSCRIPTION_MESSAGES_DEAD_LETTERED,
    OUTBOX_MESSAGES,
    OUTBOX_OLDEST_AGE,
    EVENTS_PUT,
    EVENTS_PUT_FAILED,
    EVENT_RULE_MATCHES,
    EVENT_TARGET_INVOCATIONS,
    EVENT_TARGET_FAILURES,
    EVENT_TARGET_RETRIES,
    EVENTS_DEAD_LETTERED,
    EVENT_TARGET_THROTTLED,
    EVENT_SCHEDULE_FIRES,
    EVENT_SCHEDULE_MISSED,
    EVENTS_ARCHIVED,
    EVENTS_REPLAYED,
    EVENT_RULES,
    EVENT_DELIVERIES,
    EVENT_REPLAYS_ACTIVE,
    HTTP_REQUEST_DURATION,
    LONG_POLL_WAITERS,
    DB_POOL_CONNECTIONS,
    DB_POOL_MAX,
    READY,
)
"""Every family the broker exports: the one list the docs, dashboard and alert tests check."""


def series_names() -> frozenset[str]:
    return frozenset(s for family in FAMILIES for s in family.series)


REQUEST_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    21.0,
)
"""Seconds. Long polls last up to 20 s: they land in the last two buckets, stuck calls past them."""

UNKNOWN = "unknown"
"""The label value of a protocol or action the broker does not serve (it bounds cardinality)."""


class Instruments:
    """The live instruments of one app (the request histogram), in the app's own registry.

    One registry per app (never prometheus_client's global one), so a process, or a test, can
    build several apps. The per-queue families (``broker.metrics.collector``) are rendered
    beside this registry by ``broker.metrics.exposition``, not through it: at ten thousand
    queues prometheus_client's generic formatting alone would take a quarter of a second.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.request_duration = Histogram(
            HTTP_REQUEST_DURATION.name,
            HTTP_REQUEST_DURATION.help,
            HTTP_REQUEST_DURATION.labels,
            registry=self.registry,
            buckets=REQUEST_BUCKETS,
        )

    def observe_request(self, protocol: str, action: str, status: int, seconds: float) -> None:
        self.request_duration.labels(protocol, action, str(status)).observe(seconds)


@dataclass
class RequestContext:
    """What a wire-protocol request is, as far as it is known yet; log lines carry it."""

    request_id: str
    protocol: str = UNKNOWN
    action: str = UNKNOWN
    account: str = ""


CURRENT_REQUEST: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "broker_request", default=None
)


@contextmanager
def request_context(request_id: str) -> Iterator[RequestContext]:
    """Make a new request the current one of this task (and of what it awaits) until exit."""
    context = RequestContext(request_id)
    token = CURRENT_REQUEST.set(context)
    try:
        yield context
    finally:
        CURRENT_REQUEST.reset(token)
