"""The per-queue families (gauges computed in the background, counters) and the process gauges.

Queue depth and age take one statement over every queue and its messages, too heavy to run per
scrape at ten thousand queues and millions of messages. ``QueueGaugeCollector.refresh`` runs it
in the background (the app schedules it every ``BROKER_METRICS_INTERVAL_SECONDS``, longer when
the statement is slow) and renders the result once; a scrape copies that text, so its cost does
not grow with the database and it never touches it. The values are as old as the last refresh,
which the collector exports as ``broker_queue_gauges_refreshed_timestamp_seconds``.

``QueueCounters`` counts message events per queue. Both hold one row per queue and render it
straight to the text format (``snapshot()`` on the event loop, the returned renderer on a worker
thread); they also implement prometheus_client's ``collect()`` for any registry that wants them.

``ProcessGaugeCollector`` holds the figures of this process (long-poll waiters, the database pool,
readiness). They live on the event loop: ``sample()`` reads them there just before a scrape.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from broker.core.event_ports import EventGauge, EventGauges
from broker.core.ports import Gauges, OutboxGauge, OutboxGauges, QueueGauge
from broker.core.wakeups import WakeupHub
from broker.metrics.instruments import (
    DB_POOL_CONNECTIONS,
    DB_POOL_MAX,
    EVENT_DELIVERIES,
    EVENT_ERROR_CODES,
    EVENT_REPLAYS_ACTIVE,
    EVENT_RULE_MATCHES,
    EVENT_RULES,
    EVENT_SCHEDULE_FIRES,
    EVENT_SCHEDULE_MISSED,
    EVENT_TARGET_FAILURES,
    EVENT_TARGET_INVOCATIONS,
    EVENT_TARGET_RETRIES,
    EVENT_TARGET_THROTTLED,
    EVENTS_ARCHIVED,
    EVENTS_DEAD_LETTERED,
    EVENTS_PUT,
    EVENTS_PUT_FAILED,
    EVENTS_REPLAYED,
    LONG_POLL_WAITERS,
    MESSAGES_DEAD_LETTERED,
    MESSAGES_DELETED,
    MESSAGES_EXPIRED,
    MESSAGES_RECEIVED,
    MESSAGES_SENT,
    OUTBOX_MESSAGES,
    OUTBOX_OLDEST_AGE,
    OUTBOX_STATES,
    POOL_STATES,
    PROTOCOLS,
    QUEUE_GAUGES_DURATION,
    QUEUE_GAUGES_FAILURES,
    QUEUE_GAUGES_TIMESTAMP,
    QUEUE_MESSAGES,
    QUEUE_OLDEST_AGE,
    QUEUE_STATES,
    READY,
    RECEIVES_EMPTY,
    SUBSCRIPTION_DELIVERY_FAILURES,
    SUBSCRIPTION_DELIVERY_RETRIES,
    SUBSCRIPTION_MESSAGES_DEAD_LETTERED,
    SUBSCRIPTION_MESSAGES_DELIVERED,
    SUBSCRIPTION_MESSAGES_FILTERED_OUT,
    TARGET_KINDS,
    TOPIC_MESSAGES_PUBLISHED,
    Family,
)

Renderer = Callable[[bool], str]
"""Text of some families; the argument tells OpenMetrics (True) from Prometheus text 0.0.4."""


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def queue_labels(account_id: str, queue: str) -> str:
    return f'account="{_escape(account_id)}",queue="{_escape(queue)}"'


def header(family: Family, openmetrics: bool) -> str:
    """The ``# HELP`` and ``# TYPE`` lines (OpenMetrics names a counter without ``_total``)."""
    name = family.name
    if openmetrics and family.type == "counter":
        name = name.removesuffix("_total")
    text = family.help.replace("\\", r"\\").replace("\n", r"\n")
    if openmetrics:
        text = text.replace('"', r"\"")
    return f"# HELP {name} {text}\n# TYPE {name} {family.type}\n"


def _gauge(family: Family) -> GaugeMetricFamily:
    return GaugeMetricFamily(family.name, family.help, labels=family.labels or None)


def _counter(family: Family) -> CounterMetricFamily:
    # CounterMetricFamily wants the name without ``_total`` and adds it to the sample.
    labels = family.labels or None
    return CounterMetricFamily(family.name.removesuffix("_total"), family.help, labels=labels)


# -- queue gauges ------------------------------------------------------------------------------


def render_queue_gauges(rows: Sequence[QueueGauge]) -> str:
    """``broker_queue_messages`` and ``broker_queue_oldest_message_age_seconds`` as text (the
    same in both formats: gauges)."""
    labels = [queue_labels(r.account_id, r.queue) for r in rows]
    name = QUEUE_MESSAGES.name
    lines = [header(QUEUE_MESSAGES, False)]
    for label, row in zip(labels, rows, strict=True):
        lines.append(f'{name}{{{label},state="visible"}} {float(row.visible)!r}\n')
        lines.append(f'{name}{{{label},state="in_flight"}} {float(row.in_flight)!r}\n')
        lines.append(f'{name}{{{label},state="delayed"}} {float(row.delayed)!r}\n')
    name = QUEUE_OLDEST_AGE.name
    lines.append(header(QUEUE_OLDEST_AGE, False))
    for label, row in zip(labels, rows, strict=True):
        lines.append(f"{name}{{{label}}} {float(row.oldest_age_seconds)!r}\n")
    return "".join(lines)


def render_outbox_gauges(outbox: OutboxGauge | None) -> str:
    """``broker_outbox_messages`` and ``broker_outbox_oldest_message_age_seconds`` as text
    (headers only before the first refresh)."""
    lines = [header(OUTBOX_MESSAGES, False)]
    if outbox is not None:
        name = OUTBOX_MESSAGES.name
        lines.append(f'{name}{{state="due"}} {float(outbox.due)!r}\n')
        lines.append(f'{name}{{state="scheduled"}} {float(outbox.scheduled)!r}\n')
    lines.append(header(OUTBOX_OLDEST_AGE, False))
    if outbox is not None:
        lines.append(f"{OUTBOX_OLDEST_AGE.name} {float(outbox.oldest_age_seconds)!r}\n")
    return "".join(lines)


def render_event_gauges(events: EventGauge | None) -> str:
    """``broker_event_rules``, ``broker_event_deliveries`` and ``broker_event_replays_active``
    as text (headers only before the first refresh)."""
    lines = [header(EVENT_RULES, False)]
    if events is not None:
        name = EVENT_RULES.name
        for bus in events.buses:
            label = bus_labels(bus.account_id, bus.bus)
            lines.append(f'{name}{{{label},state="enabled"}} {float(bus.enabled_rules)!r}\n')
            lines.append(f'{name}{{{label},state="disabled"}} {float(bus.disabled_rules)!r}\n')
    lines.append(header(EVENT_DELIVERIES, False))
    if events is not None:
        name = EVENT_DELIVERIES.name
        lines.append(f'{name}{{state="due"}} {float(events.deliveries_due)!r}\n')
        lines.append(f'{name}{{state="scheduled"}} {float(events.deliveries_scheduled)!r}\n')
    lines.append(header(EVENT_REPLAYS_ACTIVE, False))
    if events is not None:
        lines.append(f"{EVENT_REPLAYS_ACTIVE.name} {float(events.replays_active)!r}\n")
    return "".join(lines)


def render_background_gauges(
    rows: Sequence[QueueGauge],
    outbox: OutboxGauge | None,
    with_outbox: bool,
    events: EventGauge | None = None,
    with_events: bool = False,
) -> str:
    text = render_queue_gauges(rows)
    if with_outbox:
        text += render_outbox_gauges(outbox)
    if with_events:
        text += render_event_gauges(events)
    return text


class QueueGaugeCollector:
    """Queue gauges, the outbox gauges when the broker serves topics and the event gauges when
    it serves event buses, computed by ``refresh()``; scrapes read what the last refresh left."""

    def __init__(
        self,
        gauges: Gauges,
        clock: Callable[[], float] = time.time,
        *,
        outbox: OutboxGauges | None = None,
        events: EventGauges | None = None,
    ) -> None:
        self._gauges = gauges
        self._outbox = outbox
        self._events = events
        self._clock = clock
        self._rows: tuple[QueueGauge, ...] = ()
        self._outbox_row: OutboxGauge | None = None
        self._event_row: EventGauge | None = None
        self._text = render_background_gauges(
            (), None, outbox is not None, None, events is not None
        )
        self.refreshed_at = 0.0
        """Unix time of the last successful refresh; 0 before the first."""
        self.refresh_seconds = 0.0
        self.failures = 0

    async def refresh(self) -> None:
        """Query every queue's figures once and replace the cached ones (raises on failure,
        keeping the previous ones)."""
        started = time.perf_counter()
        try:
            rows = tuple(await self._gauges.queue_gauges())
            outbox = await self._outbox.outbox_gauges() if self._outbox is not None else None
            events = await self._events.event_gauges() if self._events is not None else None
        except Exception:
            self.failures += 1
            raise
        # Rendering 40,000 samples takes tens of milliseconds: keep the event loop free.
        text = await asyncio.to_thread(
            render_background_gauges,
            rows,
            outbox,
            self._outbox is not None,
            events,
            self._events is not None,
        )
        # A scrape on another thread sees the old text or the new one.
        self._rows, self._outbox_row, self._event_row = rows, outbox, events
        self._text = text
        self.refresh_seconds = time.perf_counter() - started
        self.refreshed_at = self._clock()

    def snapshot(self) -> Renderer:
        text = self._text
        status = [
            (QUEUE_GAUGES_TIMESTAMP, self.refreshed_at),
            (QUEUE_GAUGES_DURATION, self.refresh_seconds),
            (QUEUE_GAUGES_FAILURES, float(self.failures)),
        ]

        def render(openmetrics: bool) -> str:
            lines = [text]
            for family, value in status:
                lines.append(header(family, openmetrics))
                lines.append(f"{family.name} {float(value)!r}\n")
            return "".join(lines)

        return render

    def collect(self) -> Iterable[Metric]:
        messages, age = _gauge(QUEUE_MESSAGES), _gauge(QUEUE_OLDEST_AGE)
        for row in self._rows:
            labels = [row.account_id, row.queue]
            for state, value in zip(
                QUEUE_STATES, (row.visible, row.in_flight, row.delayed), strict=True
            ):
                messages.add_metric([*labels, state], value)
            age.add_metric(labels, row.oldest_age_seconds)
        timestamp, duration = _gauge(QUEUE_GAUGES_TIMESTAMP), _gauge(QUEUE_GAUGES_DURATION)
        timestamp.add_metric([], self.refreshed_at)
        duration.add_metric([], self.refresh_seconds)
        failures = _counter(QUEUE_GAUGES_FAILURES)
        failures.add_metric([], self.failures)
        collected: list[Metric] = [messages, age, timestamp, duration, failures]
        if self._outbox is not None:
            outbox, oldest = _gauge(OUTBOX_MESSAGES), _gauge(OUTBOX_OLDEST_AGE)
            backlog = self._outbox_row
            if backlog is not None:
                pairs = zip(OUTBOX_STATES, (backlog.due, backlog.scheduled), strict=True)
                for state, value in pairs:
                    outbox.add_metric([state], value)
                oldest.add_metric([], backlog.oldest_age_seconds)
            collected += [outbox, oldest]
        if self._events is not None:
            collected += _event_gauges(self._event_row)
        return collected

    def describe(self) -> Iterable[Metric]:
        families = (QUEUE_MESSAGES, QUEUE_OLDEST_AGE, QUEUE_GAUGES_TIMESTAMP, QUEUE_GAUGES_DURATION)
        described = [*(_gauge(f) for f in families), _counter(QUEUE_GAUGES_FAILURES)]
        if self._outbox is not None:
            described += [_gauge(OUTBOX_MESSAGES), _gauge(OUTBOX_OLDEST_AGE)]
        if self._events is not None:
            described += _event_gauges(None)
        return described


def _event_gauges(events: EventGauge | None) -> list[Metric]:
    rules, deliveries = _gauge(EVENT_RULES), _gauge(EVENT_DELIVERIES)
    replays = _gauge(EVENT_REPLAYS_ACTIVE)
    if events is not None:
        for bus in events.buses:
            labels = [bus.account_id, bus.bus]
            rules.add_metric([*labels, "enabled"], bus.enabled_rules)
            rules.add_metric([*labels, "disabled"], bus.disabled_rules)
        deliveries.add_metric(["due"], events.deliveries_due)
        deliveries.add_metric(["scheduled"], events.deliveries_scheduled)
        replays.add_metric([], events.replays_active)
    return [rules, deliveries, replays]


# -- queue counters ----------------------------------------------------------------------------

COUNTERS: tuple[Family, ...] = (
    MESSAGES_SENT,
    MESSAGES_RECEIVED,
    MESSAGES_DELETED,
    MESSAGES_DEAD_LETTERED,
    MESSAGES_EXPIRED,
    RECEIVES_EMPTY,
)
SENT, RECEIVED, DELETED, DEAD_LETTERED, EXPIRED, EMPTY = range(len(COUNTERS))


@dataclass
class _CounterRow:
    account_id: str
    queue: str
    labels: str
    values: list[float]


class QueueCounters:
    """The message counters of every queue this process has seen, one row per queue.

    A queue's six counters appear together, at 0, on its first event, so ``rate()`` and
    ``increase()`` see every increment from the start.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], _CounterRow] = {}

    def add(self, counter: int, account_id: str, queue: str, amount: float = 1.0) -> None:
        row = self._rows.get((account_id, queue))
        if row is None:
            labels = queue_labels(account_id, queue)
            row = _CounterRow(account_id, queue, labels, [0.0] * len(COUNTERS))
            self._rows[(account_id, queue)] = row
        row.values[counter] += amount

    def snapshot(self) -> Renderer:
        rows = list(self._rows.values())  # on the loop: the dict may grow meanwhile

        def render(openmetrics: bool) -> str:
            lines = []
            for index, family in enumerate(COUNTERS):
                lines.append(header(family, openmetrics))
                name = family.name
                for row in rows:
                    lines.append(f"{name}{{{row.labels}}} {row.values[index]!r}\n")
            return "".join(lines)

        return render

    def collect(self) -> Iterable[Metric]:
        families = [_counter(f) for f in COUNTERS]
        for row in list(self._rows.values()):
            for family, value in zip(families, row.values, strict=True):
                family.add_metric([row.account_id, row.queue], value)
        return families

    def describe(self) -> Iterable[Metric]:
        return [_counter(f) for f in COUNTERS]


# -- topic counters ----------------------------------------------------------------------------

TOPIC_COUNTERS: tuple[Family, ...] = (
    TOPIC_MESSAGES_PUBLISHED,
    SUBSCRIPTION_MESSAGES_FILTERED_OUT,
    SUBSCRIPTION_MESSAGES_DEAD_LETTERED,
)
"""Families labelled ``account``, ``topic``."""
PUBLISHED, FILTERED_OUT, SUBSCRIPTION_DEAD_LETTERED = range(len(TOPIC_COUNTERS))
DELIVERY_COUNTERS: tuple[Family, ...] = (
    SUBSCRIPTION_MESSAGES_DELIVERED,
    SUBSCRIPTION_DELIVERY_FAILURES,
    SUBSCRIPTION_DELIVERY_RETRIES,
)
"""Families labelled ``account``, ``topic``, ``protocol``."""
DELIVERED, DELIVERY_FAILED, DELIVERY_RETRIED = range(len(DELIVERY_COUNTERS))


def topic_labels(account_id: str, topic: str) -> str:
    return f'account="{_escape(account_id)}",topic="{_escape(topic)}"'


def topic_of(topic_arn: str) -> tuple[str, str]:
    """``(account, topic name)`` of ``arn:aws:sns:<region>:<account>:<name>``."""
    parts = topic_arn.split(":", 5)
    if len(parts) < 6:
        return "", topic_arn
    return parts[4], parts[5]


@dataclass
class _TopicRow:
    account_id: str
    topic: str
    labels: str
    values: list[float]
    deliveries: dict[str, list[float]]
    """Per protocol (every one of ``PROTOCOLS``, from the start): the delivery counters."""


class TopicCounters:
    """The topic and subscription counters of every topic this process has seen, one row per
    topic (labelled by topic, never by subscription: bounded by topics times protocols).

    A topic's series, for every protocol, appear together at 0 on its first event, so
    ``rate()`` and ``increase()`` see every increment from the start (a topic's deliveries may
    be made by another process than its publishes).
    """

    def __init__(self) -> None:
        self._rows: dict[str, _TopicRow] = {}

    def _row(self, topic_arn: str) -> _TopicRow:
        row = self._rows.get(topic_arn)
        if row is None:
            account_id, topic = topic_of(topic_arn)
            deliveries = {p: [0.0] * len(DELIVERY_COUNTERS) for p in PROTOCOLS}
            labels = topic_labels(account_id, topic)
            row = _TopicRow(account_id, topic, labels, [0.0] * len(TOPIC_COUNTERS), deliveries)
            self._rows[topic_arn] = row
        return row

    def add(self, counter: int, topic_arn: str, amount: float = 1.0) -> None:
        """Count one of ``TOPIC_COUNTERS`` (by index) for the topic."""
        self._row(topic_arn).values[counter] += amount

    def add_delivery(
        self, counter: int, topic_arn: str, protocol: str, amount: float = 1.0
    ) -> None:
        """Count one of ``DELIVERY_COUNTERS`` (by index); a protocol outside ``PROTOCOLS`` (none
        is delivered to) is not counted, so the label stays bounded."""
        values = self._row(topic_arn).deliveries.get(protocol)
        if values is not None:
            values[counter] += amount

    def snapshot(self) -> Renderer:
        rows = list(self._rows.values())  # on the loop: the dict may grow meanwhile

        def render(openmetrics: bool) -> str:
            lines = []
            for index, family in enumerate(TOPIC_COUNTERS):
                lines.append(header(family, openmetrics))
                name = family.name
                for row in rows:
                    lines.append(f"{name}{{{row.labels}}} {row.values[index]!r}\n")
            for index, family in enumerate(DELIVERY_COUNTERS):
                lines.append(header(family, openmetrics))
                name = family.name
                for row in rows:
                    for protocol in PROTOCOLS:
                        value = row.deliveries[protocol][index]
                        lines.append(f'{name}{{{row.labels},protocol="{protocol}"}} {value!r}\n')
            return "".join(lines)

        return render

    def collect(self) -> Iterable[Metric]:
        topics = [_counter(f) for f in TOPIC_COUNTERS]
        deliveries = [_counter(f) for f in DELIVERY_COUNTERS]
        for row in list(self._rows.values()):
            labels = [row.account_id, row.topic]
            for family, value in zip(topics, row.values, strict=True):
                family.add_metric(labels, value)
            for protocol in PROTOCOLS:
                values = row.deliveries[protocol]
                for family, value in zip(deliveries, values, strict=True):
                    family.add_metric([*labels, protocol], value)
        return [*topics, *deliveries]

    def describe(self) -> Iterable[Metric]:
        return [_counter(f) for f in (*TOPIC_COUNTERS, *DELIVERY_COUNTERS)]


# -- event counters ----------------------------------------------------------------------------

BUS_COUNTERS: tuple[Family, ...] = (
    EVENTS_PUT,
    EVENT_RULE_MATCHES,
    EVENT_TARGET_RETRIES,
    EVENTS_DEAD_LETTERED,
    EVENT_TARGET_THROTTLED,
    EVENT_SCHEDULE_FIRES,
    EVENT_SCHEDULE_MISSED,
    EVENTS_ARCHIVED,
    EVENTS_REPLAYED,
)
"""Families labelled ``account``, ``bus``."""
(
    PUT,
    RULE_MATCHES,
    TARGET_RETRIED,
    EVENTS_DEAD,
    THROTTLED,
    SCHEDULE_FIRES,
    SCHEDULE_MISSED,
    ARCHIVED,
    REPLAYED,
) = range(len(BUS_COUNTERS))
TARGET_COUNTERS: tuple[Family, ...] = (EVENT_TARGET_INVOCATIONS, EVENT_TARGET_FAILURES)
"""Families labelled ``account``, ``bus``, ``kind``."""
INVOKED, INVOCATION_FAILED = range(len(TARGET_COUNTERS))


def bus_labels(account_id: str, bus: str) -> str:
    return f'account="{_escape(account_id)}",bus="{_escape(bus)}"'


def bus_of(bus_arn: str) -> tuple[str, str]:
    """``(account, bus name)`` of ``arn:aws:events:<region>:<account>:event-bus/<name>``."""
    parts = bus_arn.split(":", 5)
    if len(parts) < 6:
        return "", bus_arn
    return parts[4], parts[5].removeprefix("event-bus/")


@dataclass
class _BusRow:
    account_id: str
    bus: str
    labels: str
    values: list[float]
    targets: dict[str, list[float]]
    """Per target kind (every one of ``TARGET_KINDS``, from the start): the target counters."""


class EventCounters:
    """The EventBridge counters of every bus this process has seen, one row per bus (labelled
    by bus, never by rule: bounded by buses times target kinds), and the refused PutEvents
    entries by error code (every code at 0 from the start).

    A bus's series appear together at 0 on its first event, so ``rate()`` and ``increase()``
    see every increment (a bus's API-destination calls may be made by another process).
    """

    def __init__(self) -> None:
        self._rows: dict[str, _BusRow] = {}
        self._refused = dict.fromkeys(EVENT_ERROR_CODES, 0.0)

    def _row(self, bus_arn: str) -> _BusRow:
        row = self._rows.get(bus_arn)
        if row is None:
            account_id, bus = bus_of(bus_arn)
            targets = {k: [0.0] * len(TARGET_COUNTERS) for k in TARGET_KINDS}
            labels = bus_labels(account_id, bus)
            row = _BusRow(account_id, bus, labels, [0.0] * len(BUS_COUNTERS), targets)
            self._rows[bus_arn] = row
        return row

    def add(self, counter: int, bus_arn: str, amount: float = 1.0) -> None:
        """Count one of ``BUS_COUNTERS`` (by index) for the bus."""
        self._row(bus_arn).values[counter] += amount

    def add_target(self, counter: int, bus_arn: str, kind: str, amount: float = 1.0) -> None:
        """Count one of ``TARGET_COUNTERS`` (by index); a kind outside ``TARGET_KINDS`` is not
        counted, so the label stays bounded."""
        values = self._row(bus_arn).targets.get(kind)
        if values is not None:
            values[counter] += amount

    def add_refused(self, error_code: str, amount: float = 1.0) -> None:
        """Count refused entries; a code outside ``EVENT_ERROR_CODES`` counts as ``other``."""
        code = error_code if error_code in self._refused else "other"
        self._refused[code] += amount

    def snapshot(self) -> Renderer:
        rows = list(self._rows.values())  # on the loop: the dict may grow meanwhile
        refused = dict(self._refused)

        def render(openmetrics: bool) -> str:
            lines = [header(EVENTS_PUT_FAILED, openmetrics)]
            name = EVENTS_PUT_FAILED.name
            for code, value in refused.items():
                lines.append(f'{name}{{error_code="{code}"}} {value!r}\n')
            for index, family in enumerate(BUS_COUNTERS):
                lines.append(header(family, openmetrics))
                name = family.name
                for row in rows:
                    lines.append(f"{name}{{{row.labels}}} {row.values[index]!r}\n")
            for index, family in enumerate(TARGET_COUNTERS):
                lines.append(header(family, openmetrics))
                name = family.name
                for row in rows:
                    for kind in TARGET_KINDS:
                        value = row.targets[kind][index]
                        lines.append(f'{name}{{{row.labels},kind="{kind}"}} {value!r}\n')
            return "".join(lines)

        return render

    def collect(self) -> Iterable[Metric]:
        failed = _counter(EVENTS_PUT_FAILED)
        for code, value in list(self._refused.items()):
            failed.add_metric([code], value)
        buses = [_counter(f) for f in BUS_COUNTERS]
        targets = [_counter(f) for f in TARGET_COUNTERS]
        for row in list(self._rows.values()):
            labels = [row.account_id, row.bus]
            for family, value in zip(buses, row.values, strict=True):
                family.add_metric(labels, value)
            for kind in TARGET_KINDS:
                for family, value in zip(targets, row.targets[kind], strict=True):
                    family.add_metric([*labels, kind], value)
        return [failed, *buses, *targets]

    def describe(self) -> Iterable[Metric]:
        return [_counter(f) for f in (EVENTS_PUT_FAILED, *BUS_COUNTERS, *TARGET_COUNTERS)]


# -- process gauges ----------------------------------------------------------------------------


class ProcessGaugeCollector:
    """Long-poll waiters, database pool and readiness of this process, sampled on the loop."""

    def __init__(
        self, gauges: Gauges, hub: WakeupHub, pool_max: int, ready: Callable[[], bool]
    ) -> None:
        self._gauges = gauges
        self._hub = hub
        self._pool_max = pool_max
        self._ready = ready
        self._sample: tuple[Metric, ...] = ()

    def sample(self) -> None:
        """Read the figures now; call on the event loop that owns the hub and the pool."""
        waiters = _gauge(LONG_POLL_WAITERS)
        waiters.add_metric([], self._hub.waiting)
        stats = self._gauges.pool_stats()
        pool = _gauge(DB_POOL_CONNECTIONS)
        for state in POOL_STATES:
            pool.add_metric([state], stats.get(state, 0))
        pool_max = _gauge(DB_POOL_MAX)
        pool_max.add_metric([], self._pool_max)
        ready = _gauge(READY)
        ready.add_metric([], 1 if self._ready() else 0)
        self._sample = (waiters, pool, pool_max, ready)

    def describe(self) -> Iterable[Metric]:
        return [_gauge(f) for f in (LONG_POLL_WAITERS, DB_POOL_CONNECTIONS, DB_POOL_MAX, READY)]

    def collect(self) -> Iterable[Metric]:
        return self._sample
