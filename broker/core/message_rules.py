"""The rules a message must follow before it is stored: body characters, attributes, sizes,
delays, FIFO fields and batch shape. Pure functions raising the broker's conditions."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from broker.core.models import MessageAttributes, MessageAttributeValue, Queue, SendEntry
from broker.errors import (
    BatchEntryIdsNotDistinct,
    BatchRequestTooLong,
    EmptyBatchRequest,
    InvalidBatchEntryId,
    InvalidMessageContents,
    InvalidParameterValue,
    MessageTooLarge,
    MissingParameter,
    TooManyEntriesInBatchRequest,
)

MAX_BATCH_ENTRIES = 10
MAX_ATTRIBUTES = 10
MAX_BATCH_BYTES = 1_048_576

# The characters SQS accepts in a body (XML 1.0's Char production).
_INVALID_BODY_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_BATCH_ENTRY_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")
# MessageGroupId / MessageDeduplicationId: alphanumerics and ASCII punctuation, 1..128.
_FIFO_ID = re.compile(r"[\x21-\x7e]{1,128}")
_BASE_TYPES = frozenset({"String", "Number", "Binary"})


def check_body(body: str) -> None:
    if body == "":
        raise MissingParameter("The request must contain the parameter MessageBody.")
    bad = _INVALID_BODY_CHAR.search(body)
    if bad:
        raise InvalidMessageContents(
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | "
            "#x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
        )


def check_attributes(attributes: MessageAttributes) -> None:
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidParameterValue(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
            f"[{MAX_ATTRIBUTES}]."
        )
    for name, value in attributes.items():
        check_attribute_name(name)
        check_attribute_value(name, value)


def check_attribute_name(name: str) -> None:
    lowered = name.lower()
    if (
        not _ATTRIBUTE_NAME.fullmatch(name)
        or lowered.startswith(("aws.", "amazon."))
        or name.startswith(".")
        or name.endswith(".")
        or ".." in name
    ):
        raise InvalidParameterValue(
            f"Message (user) attribute name '{name}' is invalid. The attribute name can contain "
            "only A-Z, a-z, 0-9, underscore (_), hyphen (-), and period (.); it must not start "
            "or end with a period, contain consecutive periods, or start with AWS. or Amazon."
        )


def check_attribute_value(name: str, value: MessageAttributeValue) -> None:
    data_type = value.data_type
    if not data_type:
        raise InvalidParameterValue(
            f"The message attribute '{name}' must contain a non-empty message attribute type."
        )
    if value.base_type not in _BASE_TYPES or len(data_type) > 256 or data_type.endswith("."):
        raise InvalidParameterValue(
            f"The type of message (user) attribute '{name}' is invalid. You must use only the "
            "following supported type prefixes: Binary, Number, String."
        )
    if value.base_type == "Binary":
        if value.binary_value is None or value.string_value is not None:
            raise InvalidParameterValue(
                f"The message attribute '{name}' with type 'Binary' must use field 'Binary'."
            )
        if not value.binary_value:
            raise InvalidParameterValue(
                f"The message attribute '{name}' must contain a non-empty value of message "
                "attribute type 'Binary'."
            )
        return
    if value.string_value is None or value.binary_value is not None:
        raise InvalidParameterValue(
            f"The message attribute '{name}' with type '{value.base_type}' must use field 'String'."
        )
    if value.string_value == "":
        raise InvalidParameterValue(
            f"The message attribute '{name}' must contain a non-empty value of message "
            f"attribute type '{value.base_type}'."
        )
    if value.base_type == "Number":
        check_number(name, value.string_value)
    else:
        bad = _INVALID_BODY_CHAR.search(value.string_value)
        if bad:
            raise InvalidParameterValue(
                f"Message (user) attribute '{name}' value contains invalid characters."
            )


def check_number(name: str, text: str) -> None:
    """SQS numbers: up to 38 significant digits, magnitude between 1e-128 and 1e126."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or text.strip() != text:
        raise InvalidParameterValue(
            f"Can't parse the value '{text}' of message attribute '{name}' as a number."
        )
    if number != 0:
        digits = number.normalize().as_tuple().digits
        exponent = number.adjusted()
        if len(digits) > 38 or not -128 <= exponent <= 126:
            raise InvalidParameterValue(
                f"Value {text} of message attribute '{name}' is out of the range of a Number."
            )


def attribute_bytes(attributes: MessageAttributes) -> int:
    """Bytes of attributes counted against the message size: name, type and value."""
    total = 0
    for name, value in attributes.items():
        total += len(name.encode()) + len(value.data_type.encode())
        if value.binary_value is not None:
            total += len(value.binary_value)
        elif value.string_value is not None:
            total += len(value.string_value.encode())
    return total


def message_bytes(entry: SendEntry) -> int:
    return len(entry.body.encode()) + attribute_bytes(entry.attributes)


def check_size(entry: SendEntry, limit: int) -> None:
    if message_bytes(entry) > limit:
        raise MessageTooLarge(
            f"One or more parameters are invalid. Reason: Message must be shorter than {limit} "
            "bytes."
        )


def check_delay(queue: Queue, delay: int | None) -> None:
    if delay is None:
        return
    if queue.fifo:
        raise InvalidParameterValue(
            f"Value {delay} for parameter DelaySeconds is invalid. Reason: The request include "
            "parameter that is not valid for this queue type."
        )
    if not 0 <= delay <= 900:
        raise InvalidParameterValue(
            f"Value {delay} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be "
            ">= 0 and <= 900."
        )


def check_fifo_fields(queue: Queue, entry: SendEntry) -> None:
    if queue.fifo:
        if not entry.group_id:
            raise MissingParameter("The request must contain the parameter MessageGroupId.")
        if not entry.deduplication_id and not queue.settings.content_based_deduplication:
            raise InvalidParameterValue(
                "The queue should either have ContentBasedDeduplication enabled or "
                "MessageDeduplicationId provided explicitly"
            )
    elif entry.deduplication_id is not None:
        raise InvalidParameterValue(
            "Value for parameter MessageDeduplicationId is invalid. Reason: The request "
            "include parameter that is not valid for this queue type."
        )
    for field, value in (
        ("MessageGroupId", entry.group_id),
        ("MessageDeduplicationId", entry.deduplication_id),
    ):
        if value is not None and not _FIFO_ID.fullmatch(value):
            raise InvalidParameterValue(
                f"Value {value} for parameter {field} is invalid. Reason: {field} can only "
                "include alphanumeric and punctuation characters. 1 to 128 in length."
            )


def check_system_attributes(attributes: MessageAttributes) -> None:
    """AWSTraceHeader, a String, is the one message system attribute a sender may set."""
    for name, value in attributes.items():
        if name != "AWSTraceHeader":
            raise InvalidParameterValue(
                f"Message system attribute name '{name}' is invalid. The only supported message "
                "system attribute is AWSTraceHeader."
            )
        if value.data_type != "String" or not value.string_value:
            raise InvalidParameterValue(
                "Message system attribute AWSTraceHeader must be a non-empty String."
            )


def check_send(queue: Queue, entry: SendEntry, max_bytes: int) -> None:
    check_body(entry.body)
    check_attributes(entry.attributes)
    check_system_attributes(entry.system_attributes)
    check_size(entry, min(queue.settings.maximum_message_size, max_bytes))
    check_delay(queue, entry.delay_seconds)
    check_fifo_fields(queue, entry)


def check_batch_ids(ids: Sequence[str]) -> None:
    """Batch-level rules every batch action shares (AWS checks them before any entry)."""
    if not ids:
        raise EmptyBatchRequest("There should be at least one entry in the request.")
    if len(ids) > MAX_BATCH_ENTRIES:
        raise TooManyEntriesInBatchRequest(
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. You have sent "
            f"{len(ids)}."
        )
    for entry_id in ids:
        if not _BATCH_ENTRY_ID.fullmatch(entry_id):
            raise InvalidBatchEntryId(
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long."
            )
    seen: set[str] = set()
    for entry_id in ids:
        if entry_id in seen:
            raise BatchEntryIdsNotDistinct(f"Id {entry_id} repeated.")
        seen.add(entry_id)


def check_batch_size(entries: Sequence[SendEntry]) -> None:
    total = sum(message_bytes(e) for e in entries)
    if total > MAX_BATCH_BYTES:
        raise BatchRequestTooLong(
            f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. You have sent "
            f"{total} bytes."
        )
