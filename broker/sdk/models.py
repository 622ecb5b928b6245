"""Typed values of the SDK (frozen dataclasses of plain data)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MessageAttribute:
    """A message attribute: ``String``, ``Number`` or ``Binary`` (optionally ``.label``)."""

    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None

    @property
    def value(self) -> str | bytes:
        if self.binary_value is not None:
            return self.binary_value
        return self.string_value or ""

    @classmethod
    def of(cls, value: str | int | float | bytes | MessageAttribute) -> MessageAttribute:
        """``str`` -> String, ``int``/``float`` -> Number, ``bytes`` -> Binary."""
        if isinstance(value, MessageAttribute):
            return value
        if isinstance(value, bool):
            raise TypeError("a bool is not a message attribute value; use a string")
        if isinstance(value, str):
            return cls("String", string_value=value)
        if isinstance(value, int | float):
            return cls(
                "Number", string_value=repr(value) if isinstance(value, float) else str(value)
            )
        if isinstance(value, bytes | bytearray):
            return cls("Binary", binary_value=bytes(value))
        raise TypeError(f"unsupported message attribute value {value!r}")

    def to_json(self) -> dict[str, str]:
        if self.binary_value is not None:
            return {
                "data_type": self.data_type,
                "binary_value": base64.b64encode(self.binary_value).decode("ascii"),
            }
        return {"data_type": self.data_type, "string_value": self.string_value or ""}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MessageAttribute:
        binary = data.get("binary_value")
        return cls(
            str(data["data_type"]),
            string_value=data.get("string_value"),
            binary_value=base64.b64decode(binary) if binary is not None else None,
        )


@dataclass(frozen=True)
class SendRequest:
    """One message of ``send_batch`` (plain strings are accepted too)."""

    body: str
    attributes: Mapping[str, Any] | None = None
    delay: int | None = None
    group_id: str | None = None
    deduplication_id: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    md5_of_body: str
    md5_of_message_attributes: str | None = None
    sequence_number: str | None = None
    id: str | None = None
    """The batch entry id (batch sends only)."""


@dataclass(frozen=True)
class BatchFailure:
    id: str
    code: str
    detail: str
    status: int
    sender_fault: bool


@dataclass(frozen=True)
class BatchResult:
    successful: list[Any] = field(default_factory=list)
    """``SentMessage`` for sends, entry ids for deletes and visibility changes."""
    failed: list[BatchFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class QueueInfo:
    name: str
    url: str
    arn: str
    fifo: bool
    attributes: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    created_at: str | None = None

    @property
    def approximate_messages(self) -> int | None:
        value = self.attributes.get("ApproximateNumberOfMessages")
        return int(value) if value is not None else None


@dataclass(frozen=True)
class MoveTask:
    task_handle: str
    status: str
    source_arn: str
    destination_arn: str | None
    max_per_second: int | None
    moved: int
    to_move: int
    failure_reason: str | None
    started_at: str


@dataclass(frozen=True)
class MessageData:
    """The fields of a received message (``Message`` adds the actions)."""

    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    attributes: Mapping[str, MessageAttribute]
    system_attributes: Mapping[str, str]
    md5_of_message_attributes: str | None = None

    @property
    def receive_count(self) -> int:
        return int(self.system_attributes.get("ApproximateReceiveCount", "1"))

    @property
    def traceparent(self) -> str | None:
        value = self.attributes.get("traceparent")
        return value.string_value if value is not None else None


# --- topics --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishRequest:
    """One message of ``publish_batch`` (plain strings are accepted too)."""

    message: str
    subject: str | None = None
    attributes: Mapping[str, Any] | None = None
    group_id: str | None = None
    deduplication_id: str | None = None
    message_structure: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class PublishedMessage:
    message_id: str
    sequence_number: str | None = None
    """FIFO topics only."""
    id: str | None = None
    """The batch entry id (batch publishes only)."""


@dataclass(frozen=True)
class TopicInfo:
    name: str
    arn: str
    fifo: bool
    attributes: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    created_at: str | None = None


@dataclass(frozen=True)
class SubscriptionInfo:
    arn: str
    topic_arn: str
    protocol: str
    """``sqs``, ``http`` or ``https``."""
    endpoint: str
    """The queue ARN, or the URL."""
    pending_confirmation: bool = False
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def raw(self) -> bool:
        """RawMessageDelivery: the message itself instead of the SNS JSON envelope."""
        return self.attributes.get("RawMessageDelivery", "false").lower() == "true"

    @property
    def filter_policy(self) -> Any:
        """The FilterPolicy, parsed (``None`` without one)."""
        text = self.attributes.get("FilterPolicy")
        return json.loads(text) if text else None
