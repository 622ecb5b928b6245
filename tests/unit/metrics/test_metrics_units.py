"""Instruments, observer and collectors without a database or a server."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from broker.core.models import Queue, QueueSettings
from broker.core.ports import QueueGauge
from broker.core.wakeups import WakeupHub
from broker.metrics.collector import ProcessGaugeCollector, QueueCounters, QueueGaugeCollector
from broker.metrics.exposition import Exposition
from broker.metrics.instruments import FAMILIES, Instruments, series_names
from broker.metrics.observer import MetricsObserver

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(registry: CollectorRegistry) -> Samples:
    return parse(generate_latest(registry).decode())


def queue(name: str, account: str = "111111111111") -> Queue:
    now = datetime.now(UTC)
    return Queue(1, account, name, "us-east-1", {}, QueueSettings(), {}, now, now)


class FakeGauges:
    def __init__(self) -> None:
        self.rows: list[QueueGauge] = []
        self.fail = False
        self.stats = {"idle": 3, "busy": 2, "waiting": 1}

    async def queue_gauges(self) -> list[QueueGauge]:
        if self.fail:
            raise RuntimeError("database down")
        return list(self.rows)

    def pool_stats(self) -> dict[str, int]:
        return self.stats


def test_names_follow_the_conventions_and_are_unique() -> None:
    names = [f.name for f in FAMILIES]
    assert len(names) == len(set(names))
    for family in FAMILIES:
        assert re.fullmatch(r"broker_[a-z_]+", family.name)
        assert family.name.endswith("_total") == (family.type == "counter"), family.name
        assert family.type in {"gauge", "counter", "histogram"}
    assert "broker_http_request_duration_seconds_bucket" in series_names()
    required = {
        "broker_queue_messages",
        "broker_queue_oldest_message_age_seconds",
        "broker_messages_sent_total",
        "broker_messages_received_total",
        "broker_messages_deleted_total",
        "broker_messages_dead_lettered_total",
        "broker_messages_expired_total",
        "broker_receives_empty_total",
        "broker_http_request_duration_seconds_count",
        "broker_long_poll_waiters",
        "broker_db_pool_connections",
    }
    assert required <= series_names()


def test_the_observer_counts_per_account_and_queue() -> None:
    counters = QueueCounters()
    observer = MetricsObserver(counters)
    observer.messages_sent(queue("a"), 3)
    observer.messages_sent(queue("a"), 2)
    observer.messages_received(queue("a"), 4)
    observer.messages_deleted(queue("a"), 1)
    observer.messages_dead_lettered(queue("a"), 1)
    observer.receive_empty(queue("b", "222222222222"))
    observer.messages_expired("111111111111", "a", 7)
    registry = CollectorRegistry()
    registry.register(counters)
    samples = scrape(registry)
    a = frozenset({("account", "111111111111"), ("queue", "a")})
    assert samples[("broker_messages_sent_total", a)] == 5
    assert samples[("broker_messages_received_total", a)] == 4
    assert samples[("broker_messages_deleted_total", a)] == 1
    assert samples[("broker_messages_dead_lettered_total", a)] == 1
    assert samples[("broker_messages_expired_total", a)] == 7
    b = frozenset({("account", "222222222222"), ("queue", "b")})
    assert samples[("broker_receives_empty_total", b)] == 1
    assert samples[("broker_messages_sent_total", b)] == 0  # a queue's counters start together
    assert not any(name.endswith("_created") for name, _ in samples)


def test_request_durations_land_in_buckets() -> None:
    instruments = Instruments()
    instruments.observe_request("sqs", "SendMessage", 200, 0.003)
    instruments.observe_request("sqs", "SendMessage", 200, 0.2)
    samples = scrape(instruments.registry)
    labels = {("protocol", "sqs"), ("action", "SendMessage"), ("status", "200")}
    assert samples[("broker_http_request_duration_seconds_count", frozenset(labels))] == 2
    bucket = frozenset({*labels, ("le", "0.005")})
    assert samples[("broker_http_request_duration_seconds_bucket", bucket)] == 1


async def test_queue_gauges_come_from_the_last_refresh() -> None:
    gauges = FakeGauges()
    collector = QueueGaugeCollector(gauges, clock=lambda: 1_700_000_000.0)
    registry = CollectorRegistry()
    registry.register(collector)
    before = scrape(registry)
    assert before[("broker_queue_gauges_refreshed_timestamp_seconds", frozenset())] == 0
    assert not any(name == "broker_queue_messages" for name, _ in before)

    gauges.rows = [QueueGauge("111111111111", "q", 5, 2, 1, 42.5)]
    await collector.refresh()
    gauges.rows = []  # the database changes; the scrape does not ask it
    samples = scrape(registry)
    labels = {("account", "111111111111"), ("queue", "q")}
    for state, expected in (("visible", 5), ("in_flight", 2), ("delayed", 1)):
        key = ("broker_queue_messages", frozenset({*labels, ("state", state)}))
        assert samples[key] == expected
    assert samples[("broker_queue_oldest_message_age_seconds", frozenset(labels))] == 42.5
    assert samples[("broker_queue_gauges_refreshed_timestamp_seconds", frozenset())] == 1.7e9

    gauges.fail = True
    with pytest.raises(RuntimeError):
        await collector.refresh()
    after = scrape(registry)
    assert after[("broker_queue_messages", frozenset({*labels, ("state", "visible")}))] == 5
    assert after[("broker_queue_gauges_refresh_failures_total", frozenset())] == 1


async def test_process_gauges_are_sampled_at_scrape_time() -> None:
    gauges = FakeGauges()
    hub = WakeupHub()
    ready = [True]
    process = ProcessGaugeCollector(gauges, hub, 10, lambda: ready[0])
    instruments = Instruments()
    instruments.registry.register(process)
    exposition = Exposition(instruments.registry, process, [])
    with hub.waiter(7), hub.waiter(7), hub.waiter(8):
        body, headers = await exposition.render()
    assert headers["Content-Type"].startswith("text/plain")
    samples = parse(body.decode())
    assert samples[("broker_long_poll_waiters", frozenset())] == 3
    assert samples[("broker_db_pool_max_connections", frozenset())] == 10
    for state, expected in gauges.stats.items():
        assert samples[("broker_db_pool_connections", frozenset({("state", state)}))] == expected
    assert samples[("broker_ready", frozenset())] == 1
    ready[0] = False
    body, _ = await exposition.render()
    samples = parse(body.decode())
    assert samples[("broker_long_poll_waiters", frozenset())] == 0
    assert samples[("broker_ready", frozenset())] == 0


def exposition_of(rows: list[QueueGauge]) -> tuple[Exposition, QueueGaugeCollector, QueueCounters]:
    gauges = FakeGauges()
    gauges.rows = rows
    collector = QueueGaugeCollector(gauges, clock=lambda: 1_700_000_000.0)
    counters = QueueCounters()
    process = ProcessGaugeCollector(gauges, WakeupHub(), 10, lambda: True)
    instruments = Instruments()
    instruments.registry.register(process)
    instruments.observe_request("sqs", "SendMessage", 200, 0.01)
    return Exposition(instruments.registry, process, [collector, counters]), collector, counters


async def test_the_fast_rendering_matches_prometheus_client() -> None:
    rows = [QueueGauge("1", 'we"ird\\name', 1, 2, 3, 4.25), QueueGauge("2", "b", 0, 0, 0, 0.0)]
    exposition, collector, counters = exposition_of(rows)
    await collector.refresh()
    counters.add(0, "1", "b", 3)
    counters.add(5, "2", "c")
    body, _ = await exposition.render()
    fast = parse(body.decode())
    reference = CollectorRegistry()
    for collected in (collector, counters):
        reference.register(collected)
    assert {k: v for k, v in fast.items() if k in scrape(reference)} == scrape(reference)
    assert len(scrape(reference)) == 2 * 4 + 3 + 2 * 6

    body, headers = await exposition.render("application/openmetrics-text; version=1.0.0")
    assert headers["Content-Type"].startswith("application/openmetrics-text")
    text = body.decode()
    assert text.endswith("# EOF\n") and text.count("# EOF") == 1
    assert "# TYPE broker_messages_sent counter\n" in text
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse

    families = {f.name: f for f in om_parse(text)}
    sent = families["broker_messages_sent"]
    assert [(s.labels["queue"], s.value) for s in sent.samples] == [("b", 3.0), ("c", 0.0)]


async def test_queue_gauges_refresh_off_the_scrape() -> None:
    exposition, collector, _ = exposition_of([QueueGauge("1", "q", 5, 0, 0, 1.0)])
    body, _ = await exposition.render()
    assert b'broker_queue_messages{account="1"' not in body
    await collector.refresh()
    body, _ = await exposition.render()
    samples = parse(body.decode())
    key = frozenset({("account", "1"), ("queue", "q"), ("state", "visible")})
    assert samples[("broker_queue_messages", key)] == 5
    assert samples[("broker_queue_gauges_refreshed_timestamp_seconds", frozenset())] == 1.7e9


def test_two_instruments_do_not_share_a_registry() -> None:
    one, two = Instruments(), Instruments()
    one.observe_request("sqs", "SendMessage", 200, 0.01)
    assert scrape(one.registry) != scrape(two.registry)


async def test_a_scrape_of_ten_thousand_queues_is_cheap() -> None:
    rows = [QueueGauge("111111111111", f"queue-{i}", i, 1, 0, 3.0) for i in range(10_000)]
    exposition, collector, counters = exposition_of(rows)
    for i in range(10_000):
        counters.add(0, "111111111111", f"queue-{i}", 2)
    await collector.refresh()
    loop = asyncio.get_running_loop()
    started = loop.time()
    body, _ = await exposition.render()
    elapsed = loop.time() - started
    assert body.count(b"\nbroker_queue_messages{") == 30_000
    assert body.count(b"\nbroker_messages_sent_total{") == 10_000
    assert elapsed < 1.0  # about 0.05 s here; generous for a loaded CI machine
