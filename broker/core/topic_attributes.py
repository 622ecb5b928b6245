"""Rules of topic names, topic and subscription attributes, and published messages (SNS)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from broker.core import delivery_policy, message_rules
from broker.core.models import MessageAttributes
from broker.core.topic_errors import ParameterValueInvalid
from broker.errors import InvalidParameterValue

MAX_MESSAGE_BYTES = 262_144
MAX_SUBJECT_CHARS = 100
MAX_TAGS = 50
_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
_FIFO_NAME = re.compile(r"[A-Za-z0-9_-]{1,251}\.fifo")
_FIFO_ID = re.compile(r"[\x21-\x7e]{1,128}")
_SNS_TYPES = ("String", "String.Array", "Number", "Binary")

# Settable topic attributes; the delivery-status logging family is accepted and stored as is.
TOPIC_SETTABLE = frozenset(
    {
        "DeliveryPolicy",
        "DisplayName",
        "Policy",
        "TracingConfig",
        "SignatureVersion",
        "KmsMasterKeyId",
        "ContentBasedDeduplication",
        "FifoThroughputScope",
        "ArchivePolicy",
        "DataProtectionPolicy",
    }
)
_FEEDBACK = re.compile(
    r"(HTTP|Firehose|Lambda|Application|SQS)(SuccessFeedbackRoleArn|SuccessFeedbackSampleRate|"
    r"FailureFeedbackRoleArn)"
)
SUBSCRIPTION_SETTABLE = frozenset(
    {
        "DeliveryPolicy",
        "FilterPolicy",
        "FilterPolicyScope",
        "RawMessageDelivery",
        "RedrivePolicy",
        "SubscriptionRoleArn",
        "ReplayPolicy",
    }
)


def invalid(reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid parameter: {reason}")


def check_topic_name(name: str, fifo: bool) -> None:
    if fifo and not _FIFO_NAME.fullmatch(name):
        raise invalid(
            "Fifo Topic names must end with .fifo and must be made up of only uppercase and "
            "lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 "
            "and 256 characters long."
        )
    if not fifo and not _NAME.fullmatch(name):
        raise invalid("Topic Name")


def check_topic_attributes(attributes: Mapping[str, str], fifo: bool, creating: bool) -> None:
    for name, value in attributes.items():
        if name == "FifoTopic":
            if not creating:
                raise invalid("AttributeName")
            continue
        if name not in TOPIC_SETTABLE and not _FEEDBACK.fullmatch(name):
            raise invalid("AttributeName")
        if name == "DeliveryPolicy" and value:
            delivery_policy.check_topic_policy(value)
        elif name == "Policy" and value:
            _json_object(value, "Policy")
        elif name == "SignatureVersion" and value not in ("1", "2"):
            raise invalid("Attributes Reason: SignatureVersion must be 1 or 2")
        elif name == "TracingConfig" and value not in ("PassThrough", "Active"):
            raise invalid("Attributes Reason: TracingConfig must be PassThrough or Active")
        elif name in ("ContentBasedDeduplication", "FifoThroughputScope") and not fifo:
            raise invalid(f"Attributes Reason: {name} is only valid for FIFO topics")
        elif name == "ContentBasedDeduplication" and value.lower() not in ("true", "false"):
            raise invalid("Attributes Reason: ContentBasedDeduplication must be true or false")
        elif name == "FifoThroughputScope" and value not in ("Topic", "MessageGroup"):
            raise invalid("Attributes Reason: FifoThroughputScope must be Topic or MessageGroup")


def _json_object(text: str, name: str) -> dict[str, object]:
    try:
        document = json.loads(text)
    except ValueError:
        raise invalid(f"{name}: failed to parse JSON") from None
    if not isinstance(document, dict):
        raise invalid(f"{name}: must be a JSON object")
    return document


def check_tags(tags: Mapping[str, str]) -> None:
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise invalid(f"Tags Reason: tag key {key!r} is invalid")
        if len(value) > 256:
            raise invalid(f"Tags Reason: the value of tag {key!r} is longer than 256 characters")


def redrive_target(text: str) -> str | None:
    """The dead-letter queue ARN of a subscription ``RedrivePolicy`` (None when unset)."""
    if not text:
        return None
    document = _json_object(text, "RedrivePolicy")
    arn = document.get("deadLetterTargetArn")
    if not isinstance(arn, str) or not arn.startswith("arn:aws:sqs:") or len(arn.split(":")) != 6:
        raise invalid("RedrivePolicy: deadLetterTargetArn is invalid")
    return arn


def check_boolean(name: str, value: str) -> str:
    if value.lower() not in ("true", "false"):
        raise invalid(f"Attributes Reason: {name}: must be true or false")
    return value.lower()


def check_publish(
    message: str, subject: str | None, attributes: MessageAttributes, limit: int
) -> None:
    if message == "":
        raise invalid("Empty message")
    if message_rules._INVALID_BODY_CHAR.search(message):
        raise invalid("Message contains invalid characters")
    if subject is not None:
        if subject == "" or len(subject) > MAX_SUBJECT_CHARS:
            raise invalid("Subject")
        if any(ord(c) < 32 for c in subject):
            raise invalid("Subject")
    check_message_attributes(attributes)
    size = len(message.encode()) + sum(
        len(name.encode()) + len(v.data_type.encode()) + _value_bytes(v)
        for name, v in attributes.items()
    )
    if size > limit:
        raise invalid(f"Message too long (must be at most {limit} bytes)")


def _value_bytes(value: object) -> int:
    binary = getattr(value, "binary_value", None)
    if binary is not None:
        return len(binary)
    return len((getattr(value, "string_value", None) or "").encode())


def check_message_attributes(attributes: MessageAttributes) -> None:
    for name, value in attributes.items():
        try:
            message_rules.check_attribute_name(name)
        except InvalidParameterValue as exc:
            raise ParameterValueInvalid(exc.message) from None
        data_type = value.data_type
        base = "String.Array" if data_type.startswith("String.Array") else value.base_type
        if base not in _SNS_TYPES:
            raise ParameterValueInvalid(
                f"The message attribute '{name}' has an invalid message attribute type, the set "
                "of supported type prefixes is Binary, Number, and String."
            )
        if base == "Binary":
            if not value.binary_value:
                raise ParameterValueInvalid(
                    f"The message attribute '{name}' must contain non-empty message attribute "
                    "value for message attribute type 'Binary'."
                )
            continue
        text = value.string_value
        if not text:
            raise ParameterValueInvalid(
                f"The message attribute '{name}' must contain non-empty message attribute value "
                f"for message attribute type '{base}'."
            )
        if base == "Number":
            _check_number(name, text)
        elif base == "String.Array":
            _check_array(name, text)


def _check_number(name: str, text: str) -> None:
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not -1e9 <= number <= 1e9:
        raise ParameterValueInvalid(f"Could not cast message attribute '{name}' value to number.")


def _check_array(name: str, text: str) -> None:
    try:
        items = json.loads(text)
    except ValueError:
        items = None
    if not isinstance(items, list) or any(isinstance(i, (list, dict)) for i in items):
        raise ParameterValueInvalid(
            f"The message attribute '{name}' with type 'String.Array' must be a JSON array of "
            "strings, numbers, true, false and null."
        )


def check_fifo_id(name: str, value: str) -> None:
    if not _FIFO_ID.fullmatch(value):
        raise invalid(
            f"{name} Reason: must be 1 to 128 characters of alphanumerics and punctuation"
        )


def message_for(message: str, structure: str | None, protocol: str) -> str:
    """The text a protocol receives: with ``MessageStructure=json``, its key or ``default``."""
    if structure != "json":
        return message
    document = parse_structure(message)
    value = document.get(protocol)
    return value if isinstance(value, str) else str(document["default"])


def parse_structure(message: str) -> dict[str, object]:
    try:
        document = json.loads(message)
    except ValueError:
        raise invalid("Message Structure - JSON message body failed to parse") from None
    if not isinstance(document, dict):
        raise invalid("Message Structure - JSON message body failed to parse")
    if not isinstance(document.get("default"), str):
        raise invalid("Message Structure - No default entry in JSON message body")
    return document
