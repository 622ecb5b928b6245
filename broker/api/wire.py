"""JSON in and out of the REST API: a strict reader of request bodies and the answer shapes.

The reader checks JSON types and refuses unknown members (a typo is an error, not a silent
default); value rules (ranges, names, sizes) stay the core service's, so REST and SQS agree.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from broker.core.models import (
    MessageAttributes,
    MessageAttributeValue,
    MoveTask,
    Queue,
    ReceivedMessage,
)
from broker.errors import InvalidParameterValue, MissingParameter
from broker.protocols.aws.sqs.md5 import md5_of_attributes, md5_of_body

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1


def invalid(name: str, reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Value for parameter {name} is invalid. Reason: {reason}")


def check_text(name: str, value: str) -> str:
    if "\x00" in value:
        raise invalid(name, "must not contain the NUL character.")
    return value


def parse_json(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameterValue(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidParameterValue("The request body must be a JSON object.")
    return value


class Body:
    """Typed access to one JSON object; ``done()`` refuses members nobody asked for."""

    def __init__(self, data: Mapping[str, Any], prefix: str = "") -> None:
        self._data = data
        self._prefix = prefix
        self._read: set[str] = set()

    def path(self, name: str) -> str:
        return self._prefix + name

    def _get(self, name: str) -> Any:
        self._read.add(name)
        return self._data.get(name)

    def done(self) -> None:
        extra = sorted(set(self._data) - self._read)
        if extra:
            raise InvalidParameterValue(f"Unknown member {self.path(str(extra[0]))!r}.")

    def string(self, name: str) -> str | None:
        value = self._get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise invalid(self.path(name), "must be a string.")
        return check_text(self.path(name), value)

    def required_string(self, name: str) -> str:
        value = self.string(name)
        if value is None:
            raise MissingParameter(f"The request must contain the parameter {self.path(name)}.")
        return value

    def integer(self, name: str) -> int | None:
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(self.path(name), "must be an integer.")
        if not INT_MIN <= value <= INT_MAX:
            raise invalid(self.path(name), "is out of range.")
        return value

    def required_integer(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise MissingParameter(f"The request must contain the parameter {self.path(name)}.")
        return value

    def boolean(self, name: str) -> bool | None:
        value = self._get(name)
        if value is None or isinstance(value, bool):
            return value
        raise invalid(self.path(name), "must be true or false.")

    def string_list(self, name: str) -> list[str]:
        value = self._get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid(self.path(name), "must be a list of strings.")
        return [check_text(self.path(name), v) for v in value]

    def string_map(self, name: str) -> dict[str, str]:
        value = self._get(name)
        if value is None:
            return {}
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise invalid(self.path(name), "must be an object of strings.")
        return {
            check_text(self.path(name), k): check_text(self.path(name), v) for k, v in value.items()
        }

    def attributes(self, name: str) -> dict[str, MessageAttributeValue]:
        value = self._get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise invalid(self.path(name), "must be an object of attribute values.")
        out: dict[str, MessageAttributeValue] = {}
        for key, item in value.items():
            path = f"{self.path(name)}.{key}"
            check_text(path, key)
            if not isinstance(item, dict):
                raise invalid(path, "must be an object with data_type and a value.")
            out[key] = attribute_value(Body(item, path + "."))
        return out

    def entries(self, name: str) -> list[Body]:
        value = self._get(name)
        if value is None:
            raise MissingParameter(f"The request must contain the parameter {self.path(name)}.")
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise invalid(self.path(name), "must be a list of objects.")
        return [Body(v, f"{self.path(name)}[{i}].") for i, v in enumerate(value)]


def attribute_value(body: Body) -> MessageAttributeValue:
    data_type = body.required_string("data_type")
    string_value = body.string("string_value")
    binary_text = body.string("binary_value")
    body.done()
    binary_value: bytes | None = None
    if binary_text is not None:
        try:
            binary_value = base64.b64decode(binary_text, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(body.path("binary_value"), "must be base64.") from None
    if data_type.split(".", 1)[0] == "Binary":
        if binary_value is None or string_value is not None:
            raise invalid(body.path("binary_value"), "a Binary attribute needs binary_value only.")
    elif binary_value is not None:
        raise invalid(body.path("string_value"), f"a {data_type} attribute needs string_value.")
    return MessageAttributeValue(data_type, string_value, binary_value)


# --- answers -----------------------------------------------------------------------------------


def timestamp(moment: datetime) -> str:
    return moment.isoformat()


def attributes_json(attributes: MessageAttributes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in attributes.items():
        item: dict[str, Any] = {"data_type": value.data_type}
        if value.base_type == "Binary":
            item["binary_value"] = base64.b64encode(value.binary_value or b"").decode("ascii")
        else:
            item["string_value"] = value.string_value or ""
        out[name] = item
    return out


def queue_summary(queue: Queue, url: str) -> dict[str, Any]:
    return {"name": queue.name, "url": url, "arn": queue.arn, "fifo": queue.fifo}


def queue_json(
    queue: Queue, url: str, attributes: Mapping[str, str], tags: Mapping[str, str]
) -> dict[str, Any]:
    return {
        **queue_summary(queue, url),
        "created_at": timestamp(queue.created_at),
        "attributes": dict(attributes),
        "tags": dict(tags),
    }


def received_json(message: ReceivedMessage) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "receipt_handle": message.receipt_handle,
        "body": message.body,
        "md5_of_body": md5_of_body(message.body),
        "attributes": attributes_json(message.attributes),
        "md5_of_message_attributes": md5_of_attributes(message.attributes),
        "system_attributes": dict(message.system_attributes),
    }


def move_task_json(task: MoveTask) -> dict[str, Any]:
    return {
        "task_handle": task.handle,
        "status": task.status.value,
        "source_arn": task.source_arn,
        "destination_arn": task.destination_arn,
        "max_per_second": task.max_per_second,
        "moved": task.moved,
        "to_move": task.to_move,
        "failure_reason": task.failure_reason,
        "started_at": timestamp(task.started_at),
    }
