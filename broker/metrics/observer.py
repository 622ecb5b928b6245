"""MetricsObserver, TopicMetricsObserver and EventMetricsObserver: the core's ``Observer``,
``TopicObserver`` and ``EventObserver`` ports, counting per queue, per topic and per bus."""

from __future__ import annotations

from broker.core.models import Queue
from broker.metrics.collector import (
    ARCHIVED,
    DEAD_LETTERED,
    DELETED,
    DELIVERED,
    DELIVERY_FAILED,
    DELIVERY_RETRIED,
    EMPTY,
    EVENTS_DEAD,
    EXPIRED,
    FILTERED_OUT,
    INVOCATION_FAILED,
    INVOKED,
    PUBLISHED,
    PUT,
    RECEIVED,
    REPLAYED,
    RULE_MATCHES,
    SCHEDULE_FIRES,
    SCHEDULE_MISSED,
    SENT,
    SUBSCRIPTION_DEAD_LETTERED,
    TARGET_RETRIED,
    THROTTLED,
    EventCounters,
    QueueCounters,
    TopicCounters,
)


class MetricsObserver:
    """Counts what the service and the janitor report. Never blocks, never raises."""

    def __init__(self, counters: QueueCounters) -> None:
        self._add = counters.add

    def messages_sent(self, queue: Queue, count: int) -> None:
        self._add(SENT, queue.account_id, queue.name, count)

    def messages_received(self, queue: Queue, count: int) -> None:
        self._add(RECEIVED, queue.account_id, queue.name, count)

    def messages_deleted(self, queue: Queue, count: int) -> None:
        self._add(DELETED, queue.account_id, queue.name, count)

    def messages_dead_lettered(self, queue: Queue, count: int) -> None:
        self._add(DEAD_LETTERED, queue.account_id, queue.name, count)

    def receive_empty(self, queue: Queue) -> None:
        self._add(EMPTY, queue.account_id, queue.name)

    def messages_expired(self, account_id: str, queue_name: str, count: int) -> None:
        self._add(EXPIRED, account_id, queue_name, count)


class TopicMetricsObserver:
    """The core's ``TopicObserver`` port: counts what the topic service and the deliverer
    report, per topic (never per subscription). Never blocks, never raises."""

    def __init__(self, counters: TopicCounters) -> None:
        self._add = counters.add
        self._add_delivery = counters.add_delivery

    def messages_published(self, topic_arn: str, count: int) -> None:
        self._add(PUBLISHED, topic_arn, count)

    def messages_filtered_out(self, topic_arn: str, count: int) -> None:
        self._add(FILTERED_OUT, topic_arn, count)

    def messages_delivered(self, topic_arn: str, protocol: str, count: int) -> None:
        self._add_delivery(DELIVERED, topic_arn, protocol, count)

    def delivery_failed(self, topic_arn: str, protocol: str) -> None:
        self._add_delivery(DELIVERY_FAILED, topic_arn, protocol)

    def delivery_retried(self, topic_arn: str, protocol: str) -> None:
        self._add_delivery(DELIVERY_RETRIED, topic_arn, protocol)

    def delivery_dead_lettered(self, topic_arn: str) -> None:
        self._add(SUBSCRIPTION_DEAD_LETTERED, topic_arn)


class EventMetricsObserver:
    """The core's ``EventObserver`` port: counts what the event service, the scheduler and the
    API-destination poster report, per bus (never per rule). Never blocks, never raises."""

    def __init__(self, counters: EventCounters) -> None:
        self._add = counters.add
        self._add_target = counters.add_target
        self._add_refused = counters.add_refused

    def events_put(self, bus_arn: str, count: int) -> None:
        self._add(PUT, bus_arn, count)

    def events_refused(self, error_code: str, count: int) -> None:
        self._add_refused(error_code, count)

    def rules_matched(self, bus_arn: str, count: int) -> None:
        self._add(RULE_MATCHES, bus_arn, count)

    def targets_invoked(self, bus_arn: str, kind: str, count: int) -> None:
        self._add_target(INVOKED, bus_arn, kind, count)

    def target_failed(self, bus_arn: str, kind: str, count: int) -> None:
        self._add_target(INVOCATION_FAILED, bus_arn, kind, count)

    def target_retried(self, bus_arn: str) -> None:
        self._add(TARGET_RETRIED, bus_arn)

    def target_dead_lettered(self, bus_arn: str) -> None:
        self._add(EVENTS_DEAD, bus_arn)

    def target_throttled(self, bus_arn: str) -> None:
        self._add(THROTTLED, bus_arn)

    def schedule_fired(self, bus_arn: str, missed: int) -> None:
        self._add(SCHEDULE_FIRES, bus_arn)
        if missed:
            self._add(SCHEDULE_MISSED, bus_arn, missed)

    def events_archived(self, bus_arn: str, count: int) -> None:
        self._add(ARCHIVED, bus_arn, count)

    def events_replayed(self, bus_arn: str, count: int) -> None:
        self._add(REPLAYED, bus_arn, count)
