"""Value types shared by the core service, its ports and the adapters.

Every type here is a frozen dataclass of plain values: adapters build requests from wire input,
the service validates them, and the store persists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

DEFAULT_ACCOUNT_ID = "000000000000"


@dataclass(frozen=True)
class Caller:
    """Who is calling: the account every resource of the request belongs to."""

    account_id: str = DEFAULT_ACCOUNT_ID
    access_key_id: str = ""
    region: str = "us-east-1"
    admin: bool = False
    """The key may use the administration endpoints (accounts and keys)."""
    key_policy: str | None = None
    """The key's own IAM policy document, narrowing what it may do (None: no narrowing)."""


@dataclass(frozen=True)
class MessageAttributeValue:
    """One message attribute: ``data_type`` is ``String``, ``Number`` or ``Binary`` with an optional
    ``.label`` suffix; exactly one of the values is set, by the base type."""

    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None

    @property
    def base_type(self) -> str:
        return self.data_type.split(".", 1)[0]


MessageAttributes = Mapping[str, MessageAttributeValue]


@dataclass(frozen=True)
class RedrivePolicy:
    dead_letter_target_arn: str
    max_receive_count: int


@dataclass(frozen=True)
class QueueSettings:
    """The typed view of a queue's attributes, as the semantics need them."""

    fifo: bool = False
    delay_seconds: int = 0
    maximum_message_size: int = 1_048_576
    message_retention_period: int = 345_600
    receive_message_wait_time_seconds: int = 0
    visibility_timeout: int = 30
    redrive_policy: RedrivePolicy | None = None
    content_based_deduplication: bool = False
    deduplication_scope: str = "queue"
    fifo_throughput_limit: str = "perQueue"


@dataclass(frozen=True)
class Queue:
    id: int
    account_id: str
    name: str
    region: str
    attributes: Mapping[str, str]
    """The queue attributes as set (AWS names, string values), with the defaults filled in."""
    settings: QueueSettings
    tags: Mapping[str, str]
    created_at: datetime
    modified_at: datetime

    @property
    def fifo(self) -> bool:
        return self.settings.fifo

    @property
    def arn(self) -> str:
        return queue_arn(self.region, self.account_id, self.name)


def queue_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{account_id}:{name}"


@dataclass(frozen=True)
class QueueCounts:
    visible: int
    in_flight: int
    delayed: int


@dataclass(frozen=True)
class SendEntry:
    """One message to send. ``id`` is the caller's batch entry id (empty for a single send)."""

    body: str
    id: str = ""
    attributes: MessageAttributes = field(default_factory=dict)
    system_attributes: MessageAttributes = field(default_factory=dict)
    delay_seconds: int | None = None
    group_id: str | None = None
    deduplication_id: str | None = None


@dataclass(frozen=True)
class SentMessage:
    id: str
    message_id: str
    sequence_number: str | None = None


@dataclass(frozen=True)
class ReceiveRequest:
    max_messages: int = 1
    visibility_timeout: int | None = None
    wait_seconds: int | None = None
    attribute_names: tuple[str, ...] = ()
    """Message attribute names to return: names, ``All``, ``.*`` or ``prefix.*``."""
    system_attribute_names: tuple[str, ...] = ()
    receive_request_attempt_id: str | None = None


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    body: str
    attributes: MessageAttributes
    """The message attributes selected by the request."""
    system_attributes: Mapping[str, str]
    """The system attributes the request selected (SentTimestamp, ApproximateReceiveCount...)."""


@dataclass(frozen=True)
class HandleEntry:
    """A receipt handle addressed in a delete or change-visibility call."""

    receipt_handle: str
    id: str = ""
    visibility_timeout: int = 0


@dataclass(frozen=True)
class EntryFailure:
    """One failed batch entry: ``error`` is the condition, as raised by a single call."""

    id: str
    error: Exception
    sender_fault: bool = True


class MoveTaskStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class MoveTask:
    handle: str
    status: MoveTaskStatus
    source_arn: str
    destination_arn: str | None
    max_per_second: int | None
    moved: int
    to_move: int
    failure_reason: str | None
    started_at: datetime
