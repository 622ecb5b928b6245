"""EventBridge counters, their observer and the core's dispatch tally, without a database."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families

from broker.core.event_models import DispatchTally, bus_of_rule, target_kind
from broker.core.event_ports import (
    BusGauge,
    EventGauge,
    EventObserver,
    NullEventObserver,
    report,
)
from broker.core.ports import QueueGauge
from broker.metrics.collector import EventCounters, QueueGaugeCollector, bus_of
from broker.metrics.instruments import EVENT_ERROR_CODES, FAMILIES, TARGET_KINDS
from broker.metrics.observer import EventMetricsObserver

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
ORDERS = "arn:aws:events:us-east-1:111111111111:event-bus/orders"
DEFAULT = "arn:aws:events:us-east-1:111111111111:event-bus/default"
ODD = 'arn:aws:events:us-east-1:222222222222:event-bus/we"ird\\bus'
BUS = {"account": "111111111111", "bus": "orders"}


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def test_both_observers_implement_the_port() -> None:
    observers: list[EventObserver] = [NullEventObserver(), EventMetricsObserver(EventCounters())]
    for observer in observers:
        observer.events_put(ORDERS, 1)
        observer.events_refused("MalformedDetail", 1)
        observer.schedule_fired(ORDERS, 3)
        report(observer, DispatchTally(matched={ORDERS: 1}))


def test_the_bus_is_read_from_its_arn() -> None:
    assert bus_of(ORDERS) == ("111111111111", "orders")
    assert bus_of("not-an-arn") == ("", "not-an-arn")


def test_a_rule_arn_names_its_bus() -> None:
    region = "arn:aws:events:us-east-1:111111111111"
    assert bus_of_rule(f"{region}:rule/orders/ship") == ORDERS
    assert bus_of_rule(f"{region}:rule/ship") == DEFAULT


def test_a_target_arn_names_its_kind() -> None:
    assert target_kind("arn:aws:sqs:us-east-1:1:q") == "sqs"
    assert target_kind("arn:aws:sns:us-east-1:1:t") == "sns"
    assert target_kind("arn:aws:events:us-east-1:1:event-bus/b") == "event_bus"
    assert target_kind("arn:aws:events:us-east-1:1:api-destination/d/uuid") == "api_destination"
    assert target_kind("arn:aws:lambda:us-east-1:1:function:f") is None
    assert target_kind("nonsense") is None


def test_the_observer_counts_per_bus_and_kind() -> None:
    counters = EventCounters()
    observer = EventMetricsObserver(counters)
    observer.events_put(ORDERS, 3)
    observer.rules_matched(ORDERS, 4)
    observer.targets_invoked(ORDERS, "sqs", 2)
    observer.targets_invoked(ORDERS, "lambda", 9)  # not a kind the broker delivers to
    observer.target_failed(ORDERS, "api_destination", 1)
    observer.target_retried(ORDERS)
    observer.target_dead_lettered(ORDERS)
    observer.target_throttled(ORDERS)
    observer.target_throttled(ORDERS)
    observer.schedule_fired(ORDERS, 0)
    observer.schedule_fired(ORDERS, 5)
    observer.events_archived(ORDERS, 3)
    observer.events_replayed(ORDERS, 7)
    observer.events_refused("MalformedDetail", 2)
    observer.events_refused("SomethingNew", 1)
    registry = CollectorRegistry()
    registry.register(counters)
    samples = parse(generate_latest(registry).decode())

    def of(name: str, **labels: str) -> float:
        return samples[key(name, **BUS, **labels)]

    assert of("broker_events_put_total") == 3
    assert of("broker_event_rule_matches_total") == 4
    assert of("broker_event_target_invocations_total", kind="sqs") == 2
    assert of("broker_event_target_invocations_total", kind="sns") == 0
    assert of("broker_event_target_invocation_failures_total", kind="api_destination") == 1
    assert of("broker_event_target_retries_total") == 1
    assert of("broker_events_dead_lettered_total") == 1
    assert of("broker_event_target_throttled_total") == 2
    assert of("broker_event_schedule_fires_total") == 2
    assert of("broker_event_schedule_missed_ticks_total") == 5
    assert of("broker_events_archived_total") == 3
    assert of("broker_events_replayed_total") == 7
    refused = "broker_events_put_failed_total"
    assert samples[key(refused, error_code="MalformedDetail")] == 2
    assert samples[key(refused, error_code="other")] == 1
    assert samples[key(refused, error_code="AccessDeniedException")] == 0
    assert not any(dict(labels).get("kind") == "lambda" for _, labels in samples)
    # Every series of the bus, 9 + 2 x 4 kinds, and every error code.
    bus_totals = [k for k in samples if k[0].endswith("_total") and "bus" in dict(k[1])]
    assert len(bus_totals) == 9 + 2 * len(TARGET_KINDS)
    codes = [k for k in samples if k[0] == refused]
    assert len(codes) == len(EVENT_ERROR_CODES)


def test_a_bus_appears_at_zero_on_its_first_event() -> None:
    counters = EventCounters()
    EventMetricsObserver(counters).target_throttled(ORDERS)
    samples = parse(counters.snapshot()(False))
    assert samples[key("broker_events_put_total", **BUS)] == 0
    for kind in TARGET_KINDS:
        assert samples[key("broker_event_target_invocations_total", **BUS, kind=kind)] == 0
    assert samples[key("broker_event_target_throttled_total", **BUS)] == 1


def test_the_fast_rendering_matches_prometheus_client() -> None:
    counters = EventCounters()
    observer = EventMetricsObserver(counters)
    observer.events_put(ORDERS, 2)
    observer.targets_invoked(ODD, "event_bus", 1)
    observer.events_refused("InvalidArgument", 4)
    fast = parse(counters.snapshot()(False))
    reference = CollectorRegistry()
    reference.register(counters)
    expected = parse(generate_latest(reference).decode())
    assert {k: v for k, v in expected.items() if not k[0].endswith("_created")} == fast
    odd = {"account": "222222222222", "bus": 'we"ird\\bus'}
    name = "broker_event_target_invocations_total"
    assert fast[key(name, **odd, kind="event_bus")] == 1

    families = {f.name: f for f in om_parse(counters.snapshot()(True) + "# EOF\n")}
    put = families["broker_events_put"]
    assert put.type == "counter"
    assert [(s.labels["bus"], s.value) for s in put.samples] == [
        ("orders", 2.0),
        ('we"ird\\bus', 0.0),
    ]


def test_report_hands_a_tally_to_the_observer() -> None:
    counters = EventCounters()
    tally = DispatchTally()
    tally.add(tally.matched, ORDERS, 2)
    tally.add(tally.matched, ORDERS)
    tally.add(tally.invoked, (ORDERS, "sns"))
    tally.add(tally.failed, (DEFAULT, "sqs"), 2)
    tally.add(tally.archived, ORDERS)
    report(EventMetricsObserver(counters), tally)
    samples = parse(counters.snapshot()(False))
    assert samples[key("broker_event_rule_matches_total", **BUS)] == 3
    assert samples[key("broker_event_target_invocations_total", **BUS, kind="sns")] == 1
    assert samples[key("broker_events_archived_total", **BUS)] == 1
    default = {"account": "111111111111", "bus": "default"}
    name = "broker_event_target_invocation_failures_total"
    assert samples[key(name, **default, kind="sqs")] == 2


def test_event_families_are_labelled_by_bus_never_by_rule() -> None:
    for family in FAMILIES:
        if family.name.startswith(("broker_event_", "broker_events_")):
            allowed = {"account", "bus", "kind", "error_code", "state"}
            assert set(family.labels) <= allowed, family.name


class FakeGauges:
    def __init__(self) -> None:
        self.events = EventGauge((), 0, 0, 0)

    async def queue_gauges(self) -> list[QueueGauge]:
        return []

    async def event_gauges(self) -> EventGauge:
        return self.events

    def pool_stats(self) -> dict[str, int]:
        return {}


async def test_the_event_gauges_refresh_with_the_queue_gauges() -> None:
    gauges = FakeGauges()
    collector = QueueGaugeCollector(gauges, events=gauges)
    text = collector.snapshot()(False)
    assert "# TYPE broker_event_rules gauge" in text
    assert "\nbroker_event_replays_active " not in text  # nothing before the first refresh
    gauges.events = EventGauge(
        (BusGauge("111111111111", "orders", 3, 1), BusGauge("222222222222", 'we"ird\\bus', 0, 0)),
        2,
        5,
        1,
    )
    await collector.refresh()
    fast = parse(collector.snapshot()(False))
    reference = CollectorRegistry()
    reference.register(collector)
    expected = parse(generate_latest(reference).decode())
    assert {k: v for k, v in fast.items() if k in expected} == expected
    assert fast[key("broker_event_rules", **BUS, state="enabled")] == 3
    assert fast[key("broker_event_rules", **BUS, state="disabled")] == 1
    odd = {"account": "222222222222", "bus": 'we"ird\\bus'}
    assert fast[key("broker_event_rules", **odd, state="enabled")] == 0
    assert fast[key("broker_event_deliveries", state="due")] == 2
    assert fast[key("broker_event_deliveries", state="scheduled")] == 5
    assert fast[key("broker_event_replays_active")] == 1


def test_without_event_buses_there_are_no_event_gauges() -> None:
    collector = QueueGaugeCollector(FakeGauges())
    assert "broker_event_" not in collector.snapshot()(False)
    registry = CollectorRegistry()
    registry.register(collector)
    assert b"broker_event_" not in generate_latest(registry)
