"""Topic counters, their observer and the outbox gauges without a database or a server."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families

from broker.core.ports import NullTopicObserver, OutboxGauge, QueueGauge, TopicObserver
from broker.core.wakeups import WakeupHub
from broker.metrics.collector import (
    ProcessGaugeCollector,
    QueueGaugeCollector,
    TopicCounters,
    topic_of,
)
from broker.metrics.exposition import Exposition
from broker.metrics.instruments import FAMILIES, PROTOCOLS, Instruments
from broker.metrics.observer import TopicMetricsObserver

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
ORDERS = "arn:aws:sns:us-east-1:111111111111:orders"
ODD = 'arn:aws:sns:us-east-1:222222222222:we"ird\\topic'


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(registry: CollectorRegistry) -> Samples:
    return parse(generate_latest(registry).decode())


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


class FakeGauges:
    def __init__(self) -> None:
        self.rows: list[QueueGauge] = []
        self.outbox = OutboxGauge(0, 0, 0.0)
        self.fail_outbox = False

    async def queue_gauges(self) -> list[QueueGauge]:
        return list(self.rows)

    async def outbox_gauges(self) -> OutboxGauge:
        if self.fail_outbox:
            raise RuntimeError("database down")
        return self.outbox

    def pool_stats(self) -> dict[str, int]:
        return {"idle": 1, "busy": 0, "waiting": 0}


def test_both_observers_implement_the_port() -> None:
    observers: list[TopicObserver] = [NullTopicObserver(), TopicMetricsObserver(TopicCounters())]
    for observer in observers:
        observer.messages_published(ORDERS, 1)
        observer.delivery_dead_lettered(ORDERS)


def test_the_topic_is_read_from_its_arn() -> None:
    assert topic_of(ORDERS) == ("111111111111", "orders")
    assert topic_of("arn:aws:sns:us-east-1:1:a:b") == ("1", "a:b")
    assert topic_of("not-an-arn") == ("", "not-an-arn")


def test_the_observer_counts_per_topic_and_protocol() -> None:
    counters = TopicCounters()
    observer = TopicMetricsObserver(counters)
    observer.messages_published(ORDERS, 3)
    observer.messages_filtered_out(ORDERS, 2)
    observer.messages_delivered(ORDERS, "sqs", 4)
    observer.messages_delivered(ORDERS, "https", 1)
    observer.delivery_failed(ORDERS, "http")
    observer.delivery_failed(ORDERS, "http")
    observer.delivery_retried(ORDERS, "http")
    observer.delivery_dead_lettered(ORDERS)
    observer.messages_delivered(ORDERS, "email", 1)  # not a protocol the broker delivers to
    registry = CollectorRegistry()
    registry.register(counters)
    samples = scrape(registry)
    topic = {"account": "111111111111", "topic": "orders"}

    def of(name: str, **labels: str) -> float:
        return samples[key(name, **topic, **labels)]

    assert of("broker_topic_messages_published_total") == 3
    assert of("broker_subscription_messages_filtered_out_total") == 2
    assert of("broker_subscription_messages_dead_lettered_total") == 1
    assert of("broker_subscription_messages_delivered_total", protocol="sqs") == 4
    assert of("broker_subscription_messages_delivered_total", protocol="https") == 1
    assert of("broker_subscription_messages_delivered_total", protocol="http") == 0
    assert of("broker_subscription_delivery_failures_total", protocol="http") == 2
    assert of("broker_subscription_delivery_retries_total", protocol="http") == 1
    assert of("broker_subscription_delivery_retries_total", protocol="sqs") == 0
    # Every series of the topic, 3 + 3 x 3, from its first event (plus _created samples).
    totals = [k for k in samples if k[0].endswith("_total")]
    assert len(totals) == 3 + 3 * len(PROTOCOLS)
    assert not any(dict(labels).get("protocol") == "email" for _, labels in samples)


def test_a_topic_appears_at_zero_on_its_first_event() -> None:
    counters = TopicCounters()
    TopicMetricsObserver(counters).delivery_failed(ORDERS, "https")
    samples = parse(counters.snapshot()(False))
    topic = {"account": "111111111111", "topic": "orders"}
    assert samples[key("broker_topic_messages_published_total", **topic)] == 0
    for protocol in PROTOCOLS:
        name = "broker_subscription_messages_delivered_total"
        assert samples[key(name, **topic, protocol=protocol)] == 0
    name = "broker_subscription_delivery_failures_total"
    assert samples[key(name, **topic, protocol="https")] == 1


async def test_the_fast_rendering_matches_prometheus_client() -> None:
    gauges = FakeGauges()
    gauges.outbox = OutboxGauge(2, 5, 42.5)
    collector = QueueGaugeCollector(gauges, clock=lambda: 1_700_000_000.0, outbox=gauges)
    counters = TopicCounters()
    observer = TopicMetricsObserver(counters)
    observer.messages_published(ORDERS, 2)
    observer.messages_delivered(ODD, "http", 1)
    process = ProcessGaugeCollector(gauges, WakeupHub(), 10, lambda: True)
    instruments = Instruments()
    instruments.registry.register(process)
    exposition = Exposition(instruments.registry, process, [collector, counters])
    await collector.refresh()

    body, _ = await exposition.render()
    fast = parse(body.decode())
    reference = CollectorRegistry()
    for collected in (collector, counters):
        reference.register(collected)
    expected = scrape(reference)
    assert {k: v for k, v in fast.items() if k in expected} == expected
    assert fast[key("broker_outbox_messages", state="due")] == 2
    assert fast[key("broker_outbox_messages", state="scheduled")] == 5
    assert fast[key("broker_outbox_oldest_message_age_seconds")] == 42.5
    odd = {"account": "222222222222", "topic": 'we"ird\\topic'}
    name = "broker_subscription_messages_delivered_total"
    assert fast[key(name, **odd, protocol="http")] == 1

    body, _ = await exposition.render("application/openmetrics-text; version=1.0.0")
    families = {f.name: f for f in om_parse(body.decode())}
    published = families["broker_topic_messages_published"]
    assert [(s.labels["topic"], s.value) for s in published.samples] == [
        ("orders", 2.0),
        ('we"ird\\topic', 0.0),
    ]
    assert families["broker_outbox_messages"].type == "gauge"


async def test_the_outbox_gauges_refresh_with_the_queue_gauges() -> None:
    gauges = FakeGauges()
    collector = QueueGaugeCollector(gauges, outbox=gauges)
    text = collector.snapshot()(False)
    assert "# TYPE broker_outbox_messages gauge" in text
    assert 'broker_outbox_messages{state="due"}' not in text  # nothing before the first refresh
    gauges.outbox = OutboxGauge(1, 0, 3.0)
    await collector.refresh()
    samples = parse(collector.snapshot()(False))
    assert samples[key("broker_outbox_messages", state="due")] == 1
    gauges.fail_outbox = True
    gauges.outbox = OutboxGauge(9, 9, 9.0)
    with pytest.raises(RuntimeError):
        await collector.refresh()
    samples = parse(collector.snapshot()(False))
    assert samples[key("broker_outbox_messages", state="due")] == 1  # the previous values
    assert samples[key("broker_queue_gauges_refresh_failures_total")] == 1


def test_without_topics_there_are_no_outbox_families() -> None:
    collector = QueueGaugeCollector(FakeGauges())
    assert "broker_outbox" not in collector.snapshot()(False)
    registry = CollectorRegistry()
    registry.register(collector)
    assert b"broker_outbox" not in generate_latest(registry)


def test_topic_families_are_labelled_by_topic_never_by_subscription() -> None:
    for family in FAMILIES:
        if family.name.startswith(("broker_topic_", "broker_subscription_")):
            assert family.labels[:2] == ("account", "topic"), family.name
            assert set(family.labels) <= {"account", "topic", "protocol"}, family.name
