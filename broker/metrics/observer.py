"""MetricsObserver and TopicMetricsObserver: the core's ``Observer`` and ``TopicObserver``
ports, counting message events per queue and per topic."""

from __future__ import annotations

from broker.core.models import Queue
from broker.metrics.collector import (
    DEAD_LETTERED,
    DELETED,
    DELIVERED,
    DELIVERY_FAILED,
    DELIVERY_RETRIED,
    EMPTY,
    EXPIRED,
    FILTERED_OUT,
    PUBLISHED,
    RECEIVED,
    SENT,
    SUBSCRIPTION_DEAD_LETTERED,
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
