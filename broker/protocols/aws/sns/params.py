"""SNS Query parameters: lists are ``Name.member.N``, maps ``Name.entry.N.key``/``.value``
(``Name``/``Value`` for message attributes), as botocore serializes the SNS model."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from broker.core.models import MessageAttributeValue
from broker.core.topic_attributes import invalid
from broker.errors import InvalidParameterValue, MissingParameter


class SnsParams:
    def __init__(self, fields: Mapping[str, str], prefix: str = "") -> None:
        self._fields = fields
        self._prefix = prefix

    def string(self, name: str) -> str | None:
        return self._fields.get(self._prefix + name)

    def required(self, name: str) -> str:
        value = self.string(name)
        if value is None:
            raise MissingParameter(f"Missing required parameter: {name}")  # ValidationError-like
        return value

    def boolean(self, name: str) -> bool:
        return (self.string(name) or "false").lower() == "true"

    def _indices(self, element: str) -> list[int]:
        start = f"{self._prefix}{element}."
        found = set()
        for key in self._fields:
            if key.startswith(start):
                index = key[len(start) :].split(".", 1)[0]
                if index.isdigit():
                    found.add(int(index))
        return sorted(found)

    def members(self, name: str) -> list[SnsParams]:
        return [
            SnsParams(self._fields, f"{self._prefix}{name}.member.{i}.")
            for i in self._indices(f"{name}.member")
        ]

    def string_list(self, name: str) -> list[str]:
        element = f"{self._prefix}{name}.member"
        return [self._fields[f"{element}.{i}"] for i in self._indices(f"{name}.member")]

    def string_map(self, name: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in self._indices(f"{name}.entry"):
            entry = SnsParams(self._fields, f"{self._prefix}{name}.entry.{i}.")
            out[entry.required("key")] = entry.string("value") or ""
        return out

    def tags(self, name: str = "Tags") -> dict[str, str]:
        return {m.required("Key"): m.required("Value") for m in self.members(name)}

    def attributes(self, name: str = "MessageAttributes") -> dict[str, MessageAttributeValue]:
        out: dict[str, MessageAttributeValue] = {}
        for i in self._indices(f"{name}.entry"):
            entry = SnsParams(self._fields, f"{self._prefix}{name}.entry.{i}.")
            key = entry.required("Name")
            data_type = entry.string("Value.DataType")
            if not data_type:
                raise InvalidParameterValue(
                    f"The message attribute '{key}' must contain non-empty message attribute type."
                )
            binary = entry.string("Value.BinaryValue")
            out[key] = MessageAttributeValue(
                data_type=data_type,
                string_value=entry.string("Value.StringValue"),
                binary_value=None if binary is None else _base64(key, binary),
            )
        return out


def _base64(name: str, text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(f"MessageAttributes: {name}: BinaryValue must be base64") from None
