"""MetricsObserver: the core's ``Observer`` port, counting message events per queue."""

from __future__ import annotations

from broker.core.models import Queue
from broker.metrics.collector import (
    DEAD_LETTERED,
    DELETED,
    EMPTY,
    EXPIRED,
    RECEIVED,
    SENT,
    QueueCounters,
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
