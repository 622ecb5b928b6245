"""Value types of topics and subscriptions: what the topic service, its store and the SNS
adapter exchange. Frozen dataclasses of plain values, like ``broker.core.models``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from broker.core.models import MessageAttributes

SQS_PROTOCOL = "sqs"
HTTP_PROTOCOLS = frozenset({"http", "https"})


def topic_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account_id}:{name}"


@dataclass(frozen=True)
class Topic:
    id: int
    account_id: str
    name: str
    arn: str
    fifo: bool
    attributes: Mapping[str, str]
    """Settable attributes as set (AWS names, string values); defaults are filled in on read."""
    tags: Mapping[str, str]
    created_at: datetime


@dataclass(frozen=True)
class Subscription:
    id: int
    arn: str
    topic_id: int
    topic_arn: str
    account_id: str
    protocol: str
    endpoint: str
    attributes: Mapping[str, str]
    """FilterPolicy, FilterPolicyScope, RawMessageDelivery, RedrivePolicy, DeliveryPolicy..."""
    confirmed: bool
    token: str | None
    """The confirmation token of an HTTP/S subscription (None once confirmed, or for SQS)."""


@dataclass(frozen=True)
class QueueTarget:
    """The queue an SQS subscription delivers to, as the publish transaction needs it."""

    queue_id: int
    fifo: bool
    content_based_deduplication: bool = False
    group_scoped_deduplication: bool = False
    account_id: str = ""
    policy: str | None = None
    """The queue's ``Policy``: another account's topic delivers only when it allows that."""


@dataclass(frozen=True)
class Route:
    """One confirmed subscription of a topic and, for SQS, the live queue it points at."""

    subscription: Subscription
    queue: QueueTarget | None


@dataclass(frozen=True)
class PublishEntry:
    """One message to publish. ``id`` is the caller's batch entry id (empty for Publish)."""

    message: str
    id: str = ""
    subject: str | None = None
    message_structure: str | None = None
    attributes: MessageAttributes = field(default_factory=dict)
    group_id: str | None = None
    deduplication_id: str | None = None


@dataclass(frozen=True)
class Published:
    id: str
    message_id: str
    sequence_number: str | None = None


# -- what the store persists in one publish transaction -------------------------------------


@dataclass(frozen=True)
class TopicMessage:
    """One published message's identity; FIFO topics deduplicate on ``(scope, dedup_id)``."""

    message_id: str
    deduplication_id: str | None = None
    deduplication_scope: str = ""


@dataclass(frozen=True)
class QueueDelivery:
    """One row of ``broker.messages`` for a queue subscription of entry ``entry``."""

    entry: int
    queue_id: int
    message_id: str
    body: str
    attributes: MessageAttributes
    group_id: str | None = None
    deduplication_id: str | None = None
    deduplication_scope: str = ""


@dataclass(frozen=True)
class HttpDelivery:
    """One outbox row: a POST to an HTTP/S endpoint, retried by the deliverer."""

    entry: int
    subscription_id: int | None
    subscription_arn: str
    topic_arn: str
    endpoint: str
    message_type: str
    message_id: str
    body: str
    raw: bool
    policy: str
    """The effective delivery policy, as JSON (see ``broker.core.delivery_policy``)."""
    dead_letter_arn: str | None = None
    kind: str = "sns"
    """``sns`` (a subscription's POST) or ``events`` (an event rule's API destination)."""
    details: str | None = None
    """JSON: what a delivery of another kind needs (``broker.core.event_models``)."""


@dataclass(frozen=True)
class Publication:
    topic_id: int
    fifo: bool
    sender_id: str
    messages: list[TopicMessage]
    queue_deliveries: list[QueueDelivery]
    http_deliveries: list[HttpDelivery]
    inbox_id: int | None = None
    """A ``broker.publish_message`` row this publication consumes, deleted in the same
    transaction (the publish fails if another process consumed it first)."""


@dataclass(frozen=True)
class PublicationResult:
    messages: list[tuple[str, int]]
    """Per published message: its id (the original's for a duplicate) and sequence number."""
    queue_counts: Mapping[int, int]
    """Messages inserted per queue id, to wake its receivers after the commit."""
    deliveries: int


@dataclass(frozen=True)
class ClaimedDelivery:
    """An outbox row leased to one deliverer until its lease (``next_attempt_at``) runs out."""

    id: int
    attempts: int
    subscription_arn: str
    topic_arn: str
    endpoint: str
    message_type: str
    message_id: str
    body: str
    raw: bool
    policy: str
    dead_letter_arn: str | None
    kind: str = "sns"
    details: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class PendingPublication:
    """A message an application published with ``broker.publish_message``, not yet fanned out."""

    id: int
    topic_id: int
    message_id: str
    message: str
    subject: str | None
    attributes: MessageAttributes
    group_id: str | None
    deduplication_id: str | None
    sender_id: str | None
