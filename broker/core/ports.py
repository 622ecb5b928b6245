"""What the core needs from the outside world: a store and a wake-up channel.

The store is deliberately narrow: one method per statement, each taking plain values or one
frozen parameter type. ``broker.storage.PostgresStore`` implements it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from broker.core.models import MessageAttributes, MoveTask, Queue, QueueCounts
from broker.core.topic_models import (
    ClaimedDelivery,
    HttpDelivery,
    PendingPublication,
    Publication,
    PublicationResult,
    Route,
    Subscription,
    Topic,
)


@dataclass(frozen=True)
class NewMessage:
    message_id: str
    body: str
    attributes: MessageAttributes
    trace_header: str | None
    delay_seconds: int
    group_id: str | None = None
    deduplication_id: str | None = None
    deduplication_scope: str = ""


@dataclass(frozen=True)
class Stored:
    """The store's answer for one sent message: its id, or the original's for a duplicate."""

    message_id: str
    sequence: int


@dataclass(frozen=True)
class LeaseParams:
    queue: Queue
    limit: int
    visibility_timeout: int
    max_receives: int
    """0 when the queue has no redrive policy."""
    dead_letter_queue: Queue | None
    attempt_id: str | None = None


@dataclass(frozen=True)
class LeasedMessage:
    row: int
    message_id: str
    body: str
    attributes: MessageAttributes
    trace_header: str | None
    sender_id: str | None
    sent_at: datetime
    receive_count: int
    first_received_at: datetime | None
    receipt_token: int
    group_id: str | None
    deduplication_id: str | None
    dead_letter_source_arn: str | None


@dataclass(frozen=True)
class Lease:
    messages: list[LeasedMessage]
    dead_lettered: int


@dataclass(frozen=True)
class VisibilityChange:
    row: int
    token: int
    timeout: int


class Store(Protocol):
    async def create_queue(
        self,
        account_id: str,
        name: str,
        region: str,
        arn: str,
        fifo: bool,
        attributes: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> Queue | None: ...

    async def get_queue(self, account_id: str, name: str) -> Queue | None: ...

    async def get_queue_by_arn(self, arn: str) -> Queue | None: ...

    async def get_queue_by_id(self, queue_id: int) -> Queue | None: ...

    async def recently_deleted(self, account_id: str, name: str, seconds: int) -> bool: ...

    async def list_queues(
        self, account_id: str, prefix: str, after: str, limit: int
    ) -> list[Queue]: ...

    async def list_dead_letter_sources(
        self, account_id: str, arn: str, after: str, limit: int
    ) -> list[Queue]: ...

    async def update_queue_attributes(
        self, queue_id: int, set_: Mapping[str, str], unset: Sequence[str]
    ) -> Queue | None: ...

    async def change_queue_policy(
        self, queue_id: int, change: Callable[[str | None], str | None]
    ) -> Queue | None: ...

    async def tag_queue(self, queue_id: int, tags: Mapping[str, str]) -> Queue | None: ...

    async def untag_queue(self, queue_id: int, keys: Sequence[str]) -> Queue | None: ...

    async def delete_queue(self, queue_id: int) -> bool: ...

    async def purge_queue(self, queue_id: int, cooldown: int) -> bool: ...

    async def count_messages(self, queue_id: int) -> QueueCounts: ...

    async def send_messages(
        self, queue: Queue, messages: Sequence[NewMessage], sender_id: str
    ) -> list[Stored]: ...

    async def lease_messages(self, params: LeaseParams) -> Lease: ...

    async def seconds_until_visible(self, queue_id: int) -> float | None: ...

    async def delete_messages(
        self, queue_id: int, receipts: Sequence[tuple[int, int]]
    ) -> set[int]: ...

    async def change_visibility(
        self, queue_id: int, changes: Sequence[VisibilityChange]
    ) -> list[str]: ...

    async def create_move_task(
        self,
        handle: str,
        account_id: str,
        source: Queue,
        destination_arn: str | None,
        max_per_second: int | None,
    ) -> bool: ...

    async def list_move_tasks(
        self, account_id: str, source_arn: str, limit: int
    ) -> list[MoveTask]: ...

    async def get_move_task(self, handle: str) -> MoveTask | None: ...

    async def cancel_move_task(self, handle: str) -> int | None: ...


class Signal(Protocol):
    """Tells waiting receivers, here and in other broker processes, that a queue has messages."""

    def sent(self, queue_id: int, count: int) -> None: ...


@dataclass(frozen=True)
class QueueGauge:
    account_id: str
    queue: str
    visible: int
    in_flight: int
    delayed: int
    oldest_age_seconds: float
    """Age of the oldest message (0 when the queue is empty)."""


class Gauges(Protocol):
    """Point-in-time figures for metrics; one statement for every queue at once."""

    async def queue_gauges(self) -> list[QueueGauge]: ...

    def pool_stats(self) -> dict[str, int]: ...


class Observer(Protocol):
    """Receives the service's message events (metrics implement it); must not block or raise."""

    def messages_sent(self, queue: Queue, count: int) -> None: ...

    def messages_received(self, queue: Queue, count: int) -> None: ...

    def messages_deleted(self, queue: Queue, count: int) -> None: ...

    def messages_dead_lettered(self, queue: Queue, count: int) -> None: ...

    def receive_empty(self, queue: Queue) -> None: ...

    def messages_expired(self, account_id: str, queue_name: str, count: int) -> None: ...


class NullObserver:
    """The observer of a service nobody watches."""

    def messages_sent(self, queue: Queue, count: int) -> None:
        pass

    def messages_received(self, queue: Queue, count: int) -> None:
        pass

    def messages_deleted(self, queue: Queue, count: int) -> None:
        pass

    def messages_dead_lettered(self, queue: Queue, count: int) -> None:
        pass

    def receive_empty(self, queue: Queue) -> None:
        pass

    def messages_expired(self, account_id: str, queue_name: str, count: int) -> None:
        pass


class Maintenance(Protocol):
    """The bounded batch steps of the background workers; each returns how much it did."""

    async def delete_expired_messages(self, limit: int) -> list[tuple[str, str, int]]: ...

    async def purge_step(self, limit: int) -> int: ...

    async def deleted_queues_step(self, cooldown: int, limit: int) -> int: ...

    async def delete_expired_bookkeeping(self, limit: int) -> int: ...

    async def move_step(self, budget_seconds: float) -> dict[int, int] | None: ...

    async def refresh_statistics(self) -> bool:
        """Re-analyze the message table if it changed a lot since its statistics were taken;
        True when it did."""
        ...


# -- topics (SNS) -------------------------------------------------------------------------------


class Signer(Protocol):
    """Signs SNS envelopes (RSA; SignatureVersion 1 = SHA1, 2 = SHA256), base64 out."""

    @property
    def certificate_path(self) -> str:
        """Where the broker serves the certificate: ``/SimpleNotificationService-<id>.pem``."""
        ...

    def sign(self, data: bytes, version: str) -> str: ...


class FilterMatcher(Protocol):
    def matches(self, document: object) -> bool: ...


class FilterIndex(Protocol):
    def matching_ids(self, document: object) -> set[str]: ...


class FilterLanguage(Protocol):
    """The filter-policy language (``broker.matching``), injected: the core may not import it.

    ``scope`` is ``MessageAttributes`` or ``MessageBody``; ``compile`` raises
    ``broker.errors.InvalidPattern`` for a bad policy.
    """

    def compile(self, policy: str, scope: str) -> FilterMatcher: ...

    def index(self, policies: Mapping[str, FilterMatcher], scope: str) -> FilterIndex: ...


class TopicStore(Protocol):
    async def create_topic(
        self,
        account_id: str,
        name: str,
        arn: str,
        fifo: bool,
        attributes: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> Topic | None: ...

    async def get_topic(self, arn: str) -> Topic | None: ...

    async def list_topics(self, account_id: str, after: str, limit: int) -> list[Topic]: ...

    async def update_topic_attributes(
        self, topic_id: int, set_: Mapping[str, str], unset: Sequence[str]
    ) -> Topic | None: ...

    async def change_topic_policy(
        self, topic_id: int, change: Callable[[str | None], str | None]
    ) -> Topic | None: ...

    async def tag_topic(self, topic_id: int, tags: Mapping[str, str]) -> Topic | None: ...

    async def untag_topic(self, topic_id: int, keys: Sequence[str]) -> Topic | None: ...

    async def delete_topic(self, topic_id: int) -> bool: ...

    async def subscription_counts(self, topic_id: int) -> tuple[int, int]:
        """Confirmed and pending subscriptions of the topic."""
        ...

    async def create_subscription(
        self,
        topic: Topic,
        arn: str,
        protocol: str,
        endpoint: str,
        attributes: Mapping[str, str],
        token: str | None,
    ) -> tuple[Subscription, bool]:
        """The new subscription (True), or the existing one for the same endpoint (False)."""
        ...

    async def get_subscription(self, arn: str) -> Subscription | None: ...

    async def find_by_token(
        self, topic_arn: str, token: str, max_age_seconds: int
    ) -> Subscription | None:
        """The subscription whose confirmation token this is, if issued within the age."""
        ...

    async def delete_unconfirmed_subscriptions(self, max_age_seconds: int, limit: int) -> int:
        """Delete up to ``limit`` unconfirmed subscriptions older than the age; the count."""
        ...

    async def confirm_subscription(self, subscription_id: int) -> Subscription | None: ...

    async def update_subscription_attributes(
        self, subscription_id: int, set_: Mapping[str, str], unset: Sequence[str]
    ) -> Subscription | None: ...

    async def delete_subscription(self, subscription_id: int) -> bool: ...

    async def list_subscriptions(
        self, account_id: str, topic_id: int | None, after: int, limit: int
    ) -> list[Subscription]: ...

    async def topic_routes(self, topic_id: int) -> list[Route]:
        """Confirmed subscriptions, each with its live queue target (SQS) or None."""
        ...

    async def publish(self, publication: Publication) -> PublicationResult: ...

    async def enqueue_deliveries(self, deliveries: Sequence[HttpDelivery]) -> None: ...

    async def get_topic_by_id(self, topic_id: int) -> Topic | None: ...

    async def claim_publications(
        self, limit: int, lease_seconds: float
    ) -> list[PendingPublication]: ...


class Outbox(Protocol):
    """The durable HTTP outbox, drained by the deliverer with leases (SKIP LOCKED)."""

    async def claim_deliveries(self, limit: int, lease_seconds: float) -> list[ClaimedDelivery]: ...

    async def complete_delivery(self, delivery_id: int, attempts: int) -> None: ...

    async def retry_delivery(
        self, delivery_id: int, attempts: int, delay_seconds: float, count_attempt: bool
    ) -> None: ...

    async def dead_letter_delivery(self, delivery_id: int, attempts: int) -> int | None:
        """Move the delivery to its subscription's dead-letter queue (or drop it when it has
        none); the queue id it went to, to wake its receivers."""
        ...

    async def delete_expired_topic_deduplication(self, limit: int) -> int: ...


# -- topic metrics -------------------------------------------------------------------------------


class TopicObserver(Protocol):
    """Receives the topic service's and the deliverer's events (metrics implement it); must not
    block or raise. Events name the topic by ARN: the observer derives bounded labels from it
    (never the subscription ARN). ``protocol`` is ``sqs``, ``http`` or ``https``."""

    def messages_published(self, topic_arn: str, count: int) -> None:
        """Publish entries the topic accepted (a FIFO duplicate counts: it was accepted)."""
        ...

    def messages_filtered_out(self, topic_arn: str, count: int) -> None:
        """Subscriptions whose filter policy did not match a fanned-out message, one each."""
        ...

    def messages_delivered(self, topic_arn: str, protocol: str, count: int) -> None:
        """Queue rows committed by a publish, or notifications a subscriber answered 2xx."""
        ...

    def delivery_failed(self, topic_arn: str, protocol: str) -> None:
        """One delivery attempt that failed (no answer, or not 2xx)."""
        ...

    def delivery_retried(self, topic_arn: str, protocol: str) -> None:
        """One failed delivery rescheduled by its delivery policy."""
        ...

    def delivery_dead_lettered(self, topic_arn: str) -> None:
        """One delivery whose retries ran out (moved to the subscription's dead-letter queue, or
        dropped when it has none)."""
        ...


class NullTopicObserver:
    """The observer of a topic service nobody watches."""

    def messages_published(self, topic_arn: str, count: int) -> None:
        pass

    def messages_filtered_out(self, topic_arn: str, count: int) -> None:
        pass

    def messages_delivered(self, topic_arn: str, protocol: str, count: int) -> None:
        pass

    def delivery_failed(self, topic_arn: str, protocol: str) -> None:
        pass

    def delivery_retried(self, topic_arn: str, protocol: str) -> None:
        pass

    def delivery_dead_lettered(self, topic_arn: str) -> None:
        pass


@dataclass(frozen=True)
class OutboxGauge:
    """The HTTP/S outbox at one moment (every topic, every replica: it is one table)."""

    due: int
    """Deliveries whose next attempt is due now (waiting for a deliverer)."""
    scheduled: int
    """Deliveries due later: waiting for a retry, or leased by a deliverer mid-POST."""
    oldest_age_seconds: float
    """Age of the oldest delivery since it was enqueued (0 when the outbox is empty)."""


class OutboxGauges(Protocol):
    """Point-in-time figures of the outbox for metrics; one statement."""

    async def outbox_gauges(self) -> OutboxGauge: ...
