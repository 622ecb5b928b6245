"""Queue attributes: names, value rules, defaults and the typed settings derived from them.

Pure functions: the service resolves references (the dead-letter target) through the store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from broker.core.models import QueueSettings, RedrivePolicy
from broker.errors import InvalidAttributeName, InvalidAttributeValue, InvalidParameterValue

QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
FIFO_SUFFIX = ".fifo"


@dataclass(frozen=True)
class _Range:
    low: int
    high: int


_INTEGERS: dict[str, _Range] = {
    "DelaySeconds": _Range(0, 900),
    "MaximumMessageSize": _Range(1024, 1_048_576),
    "MessageRetentionPeriod": _Range(60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": _Range(0, 20),
    "VisibilityTimeout": _Range(0, 43_200),
    "KmsDataKeyReusePeriodSeconds": _Range(60, 86_400),
}
_BOOLEANS = {"FifoQueue", "ContentBasedDeduplication", "SqsManagedSseEnabled"}
_CHOICES: dict[str, frozenset[str]] = {
    "DeduplicationScope": frozenset({"messageGroup", "queue"}),
    "FifoThroughputLimit": frozenset({"perQueue", "perMessageGroupId"}),
}
_FREE_TEXT = {"Policy", "KmsMasterKeyId", "RedrivePolicy", "RedriveAllowPolicy"}
FIFO_ONLY = frozenset({"ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"})
SETTABLE = frozenset(_INTEGERS) | _BOOLEANS | frozenset(_CHOICES) | _FREE_TEXT
COMPUTED = frozenset(
    {
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
        "CreatedTimestamp",
        "LastModifiedTimestamp",
        "QueueArn",
    }
)
READABLE = SETTABLE | COMPUTED

_STANDARD_DEFAULTS = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "1048576",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",
}
_FIFO_DEFAULTS = {
    "FifoQueue": "true",
    "ContentBasedDeduplication": "false",
    "DeduplicationScope": "queue",
    "FifoThroughputLimit": "perQueue",
}
_REDRIVE_PERMISSIONS = frozenset({"allowAll", "denyAll", "byQueue"})


def validate_queue_name(name: str, fifo: bool) -> None:
    base = name[: -len(FIFO_SUFFIX)] if name.endswith(FIFO_SUFFIX) else name
    if not QUEUE_NAME.fullmatch(base) or len(name) > 80:
        raise InvalidParameterValue(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )
    if fifo != name.endswith(FIFO_SUFFIX):
        raise InvalidParameterValue(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or "
            "underscores, must end with .fifo suffix and be 1 to 80 in length"
        )


def normalize(
    attributes: Mapping[str, str], *, fifo: bool, creating: bool, max_message_bytes: int
) -> dict[str, str]:
    """Validate caller-given attributes; return them in canonical string form."""
    out: dict[str, str] = {}
    for name, value in attributes.items():
        if name not in SETTABLE or (name in FIFO_ONLY and not fifo):
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        if name == "FifoQueue" and not creating:
            raise InvalidAttributeName(f"Unknown Attribute {name}.")
        out[name] = _canonical(name, value, max_message_bytes)
    if out.get("FifoQueue") == "false" and fifo:
        raise InvalidAttributeValue("Invalid value for the parameter FifoQueue.")
    if (
        out.get("FifoThroughputLimit") == "perMessageGroupId"
        and out.get("DeduplicationScope", "messageGroup") != "messageGroup"
    ):
        raise InvalidAttributeValue(
            "Invalid value for the parameter FifoThroughputLimit. Reason: perMessageGroupId is "
            "allowed only when DeduplicationScope is messageGroup."
        )
    return out


def with_defaults(attributes: Mapping[str, str], *, fifo: bool) -> dict[str, str]:
    merged = dict(_STANDARD_DEFAULTS)
    if fifo:
        merged.update(_FIFO_DEFAULTS)
    merged.update(attributes)
    if not fifo:
        merged.pop("FifoQueue", None)
    return merged


def settings_of(attributes: Mapping[str, str]) -> QueueSettings:
    """The typed settings of stored (canonical, defaulted) attributes."""
    redrive = parse_redrive_policy(attributes.get("RedrivePolicy", ""))
    return QueueSettings(
        fifo=attributes.get("FifoQueue") == "true",
        delay_seconds=int(attributes["DelaySeconds"]),
        maximum_message_size=int(attributes["MaximumMessageSize"]),
        message_retention_period=int(attributes["MessageRetentionPeriod"]),
        receive_message_wait_time_seconds=int(attributes["ReceiveMessageWaitTimeSeconds"]),
        visibility_timeout=int(attributes["VisibilityTimeout"]),
        redrive_policy=redrive,
        content_based_deduplication=attributes.get("ContentBasedDeduplication") == "true",
        deduplication_scope=attributes.get("DeduplicationScope", "queue"),
        fifo_throughput_limit=attributes.get("FifoThroughputLimit", "perQueue"),
    )


def parse_redrive_policy(text: str) -> RedrivePolicy | None:
    if not text:
        return None
    document = _json_object("RedrivePolicy", text)
    unknown = set(document) - {"deadLetterTargetArn", "maxReceiveCount"}
    if unknown:
        raise _redrive_error(text, f"Unknown parameters: {', '.join(sorted(unknown))}")
    arn = document.get("deadLetterTargetArn")
    count = document.get("maxReceiveCount")
    if not isinstance(arn, str) or not arn:
        raise _redrive_error(text, "Redrive policy must contain deadLetterTargetArn.")
    try:
        receives = int(count) if isinstance(count, int | str) else -1
    except ValueError:
        receives = -1
    if not 1 <= receives <= 1000:
        raise _redrive_error(text, "Invalid value for maxReceiveCount: must be 1 to 1000.")
    return RedrivePolicy(dead_letter_target_arn=arn, max_receive_count=receives)


def parse_redrive_allow_policy(text: str) -> tuple[str, tuple[str, ...]]:
    """(permission, source ARNs) of a RedriveAllowPolicy; empty text allows all."""
    if not text:
        return "allowAll", ()
    document = _json_object("RedriveAllowPolicy", text)
    permission = document.get("redrivePermission")
    sources = document.get("sourceQueueArns", [])
    if permission not in _REDRIVE_PERMISSIONS:
        raise InvalidAttributeValue(
            "Invalid value for the parameter RedriveAllowPolicy. Reason: redrivePermission must "
            "be allowAll, denyAll or byQueue."
        )
    if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        raise InvalidAttributeValue(
            "Invalid value for the parameter RedriveAllowPolicy. Reason: sourceQueueArns must be "
            "a list of queue ARNs."
        )
    if permission == "byQueue" and not 1 <= len(sources) <= 10:
        raise InvalidAttributeValue(
            "Invalid value for the parameter RedriveAllowPolicy. Reason: byQueue needs 1 to 10 "
            "sourceQueueArns."
        )
    if permission != "byQueue" and sources:
        raise InvalidAttributeValue(
            "Invalid value for the parameter RedriveAllowPolicy. Reason: sourceQueueArns is "
            "allowed only with byQueue."
        )
    return str(permission), tuple(sources)


def _canonical(name: str, value: str, max_message_bytes: int) -> str:
    if not isinstance(value, str):
        raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
    if name in _INTEGERS:
        bounds = _INTEGERS[name]
        high = min(bounds.high, max_message_bytes) if name == "MaximumMessageSize" else bounds.high
        try:
            number = int(value.strip())
        except ValueError:
            number = bounds.low - 1
        if not bounds.low <= number <= high:
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
        return str(number)
    if name in _BOOLEANS:
        if value.lower() not in {"true", "false"}:
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
        return value.lower()
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
        return value
    if name == "RedrivePolicy" and value:
        policy = parse_redrive_policy(value)
        assert policy is not None
        return json.dumps(
            {
                "deadLetterTargetArn": policy.dead_letter_target_arn,
                "maxReceiveCount": policy.max_receive_count,
            },
            separators=(",", ":"),
        )
    if name == "RedriveAllowPolicy" and value:
        parse_redrive_allow_policy(value)
    if name == "Policy" and value:
        _json_object("Policy", value)
    return value


def _json_object(name: str, text: str) -> dict[str, object]:
    try:
        document = json.loads(text)
    except ValueError:
        raise InvalidAttributeValue(f"Invalid value for the parameter {name}.") from None
    if not isinstance(document, dict):
        raise InvalidAttributeValue(f"Invalid value for the parameter {name}.")
    return document


def _redrive_error(text: str, reason: str) -> InvalidAttributeValue:
    return InvalidAttributeValue(
        f"Value {text} for parameter RedrivePolicy is invalid. Reason: {reason}"
    )
