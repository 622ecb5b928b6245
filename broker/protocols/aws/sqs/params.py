"""SQS request parameters from either wire format, behind one typed reader.

Handlers ask for members by their JSON (model) name; ``JsonParams`` reads the AWS JSON body and
``QueryParams`` the flattened Query form (``Attribute.1.Name``,
``MessageAttribute.2.Value.DataType``, ``SendMessageBatchRequestEntry.3.MessageBody``...). Both
check wire types only; value rules are the service's.
"""

from __future__ import annotations

import base64
import binascii
from abc import ABC, abstractmethod
from collections.abc import Mapping

from broker.core.models import MessageAttributeValue
from broker.errors import InvalidParameterValue, MissingParameter

# Query names of list and map members (the model's xmlName traits), keyed by JSON member name.
_QUERY_LISTS: Mapping[str, str] = {
    "AttributeNames": "AttributeName",
    "MessageSystemAttributeNames": "MessageSystemAttributeName",
    "MessageAttributeNames": "MessageAttributeName",
    "TagKeys": "TagKey",
    "AWSAccountIds": "AWSAccountId",
    "Actions": "ActionName",
}
_QUERY_MAPS: Mapping[str, tuple[str, str, str]] = {
    "Attributes": ("Attribute", "Name", "Value"),
    "tags": ("Tag", "Key", "Value"),
    "Tags": ("Tag", "Key", "Value"),
    "MessageAttributes": ("MessageAttribute", "Name", "Value"),
    "MessageSystemAttributes": ("MessageSystemAttribute", "Name", "Value"),
}


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 64 else text[:61] + "..."


def _invalid(name: str, value: object, reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Value {_shown(value)} for parameter {name} is invalid. Reason: {reason}"
    )


def _missing(name: str) -> MissingParameter:
    return MissingParameter(f"The request must contain the parameter {name}.")


def _decode_base64(name: str, text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(name, text, "must be base64-encoded binary.") from None


class Params(ABC):
    @abstractmethod
    def string(self, name: str) -> str | None: ...

    @abstractmethod
    def integer(self, name: str) -> int | None: ...

    @abstractmethod
    def string_list(self, name: str) -> list[str]: ...

    @abstractmethod
    def string_map(self, name: str) -> dict[str, str]: ...

    @abstractmethod
    def attribute_map(self, name: str) -> dict[str, MessageAttributeValue]:
        """A ``MessageAttributes``-shaped map: name -> DataType and String/BinaryValue."""

    @abstractmethod
    def entries(self, name: str, query_name: str) -> list[Params]:
        """The members of a list of structures (batch entries); ``query_name`` is its Query
        element name (``SendMessageBatchRequestEntry``)."""

    @abstractmethod
    def path(self, name: str) -> str:
        """How to name a member in an error message."""

    def required_string(self, name: str) -> str:
        value = self.string(name)
        if value is None:
            raise _missing(self.path(name))
        return value

    def required_integer(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise _missing(self.path(name))
        return value


class JsonParams(Params):
    def __init__(self, data: Mapping[str, object], prefix: str = "") -> None:
        self._data = data
        self._prefix = prefix

    def path(self, name: str) -> str:
        return self._prefix + name

    def _value(self, name: str) -> object:
        return self._data.get(name)

    def string(self, name: str) -> str | None:
        value = self._value(name)
        if value is None or isinstance(value, str):
            return value
        raise _invalid(self.path(name), value, "must be a string.")

    def integer(self, name: str) -> int | None:
        value = self._value(name)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _invalid(self.path(name), value, "must be an integer.")

    def string_list(self, name: str) -> list[str]:
        value = self._value(name)
        if value is None:
            return []
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [str(v) for v in value]
        raise _invalid(self.path(name), value, "must be a list of strings.")

    def string_map(self, name: str) -> dict[str, str]:
        value = self._value(name)
        if value is None:
            return {}
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return {str(k): str(v) for k, v in value.items()}
        raise _invalid(self.path(name), value, "must be a map of strings to strings.")

    def attribute_map(self, name: str) -> dict[str, MessageAttributeValue]:
        value = self._value(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _invalid(self.path(name), value, "must be a map of message attributes.")
        attributes: dict[str, MessageAttributeValue] = {}
        for key, item in value.items():
            member = (
                JsonParams(item, f"{self.path(name)}.{key}.") if isinstance(item, dict) else None
            )
            if member is None:
                raise _invalid(f"{self.path(name)}.{key}", item, "must be a message attribute.")
            binary = member.string("BinaryValue")
            attributes[str(key)] = MessageAttributeValue(
                data_type=_data_type(member, str(key)),
                string_value=member.string("StringValue"),
                binary_value=None
                if binary is None
                else _decode_base64(member.path("BinaryValue"), binary),
            )
        return attributes

    def entries(self, name: str, query_name: str) -> list[Params]:
        value = self._value(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise _invalid(self.path(name), value, "must be a list.")
        result: list[Params] = []
        for index, item in enumerate(value, start=1):
            if not isinstance(item, dict):
                raise _invalid(f"{self.path(name)}.{index}", item, "must be a structure.")
            result.append(JsonParams(item, f"{self.path(name)}.{index}."))
        return result


class QueryParams(Params):
    """A view of the flat form at ``prefix`` (``""`` for the request, ``Entry.N.`` for members)."""

    def __init__(self, fields: Mapping[str, str], prefix: str = "") -> None:
        self._fields = fields
        self._prefix = prefix

    def path(self, name: str) -> str:
        return self._prefix + name

    def string(self, name: str) -> str | None:
        return self._fields.get(self._prefix + name)

    def integer(self, name: str) -> int | None:
        value = self.string(name)
        if value is None:
            return None
        try:
            return int(value.strip())
        except ValueError:
            raise _invalid(self.path(name), value, "must be an integer.") from None

    def _indices(self, element: str) -> list[int]:
        """The ``N`` of every ``<prefix><element>.N...`` parameter, in order."""
        start = f"{self._prefix}{element}."
        found: set[int] = set()
        for key in self._fields:
            if key.startswith(start):
                index = key[len(start) :].split(".", 1)[0]
                if index.isdigit():
                    found.add(int(index))
        return sorted(found)

    def string_list(self, name: str) -> list[str]:
        element = _QUERY_LISTS.get(name, name)
        return [
            self._fields[f"{self._prefix}{element}.{i}"]
            for i in self._indices(element)
            if f"{self._prefix}{element}.{i}" in self._fields
        ]

    def _map_entries(self, name: str) -> list[tuple[str, QueryParams, str, str]]:
        element, key_name, value_name = _QUERY_MAPS.get(name, (name, "Name", "Value"))
        result = []
        for index in self._indices(element):
            entry = QueryParams(self._fields, f"{self._prefix}{element}.{index}.")
            key = entry.string(key_name)
            if key is None:
                raise _missing(entry.path(key_name))
            result.append((key, entry, key_name, value_name))
        return result

    def string_map(self, name: str) -> dict[str, str]:
        result: dict[str, str] = {}
        for key, entry, _, value_name in self._map_entries(name):
            result[key] = entry.required_string(value_name)
        return result

    def attribute_map(self, name: str) -> dict[str, MessageAttributeValue]:
        result: dict[str, MessageAttributeValue] = {}
        for key, entry, _, value_name in self._map_entries(name):
            value = QueryParams(self._fields, entry.path(value_name) + ".")
            binary = value.string("BinaryValue")
            result[key] = MessageAttributeValue(
                data_type=_data_type(value, key),
                string_value=value.string("StringValue"),
                binary_value=None
                if binary is None
                else _decode_base64(value.path("BinaryValue"), binary),
            )
        return result

    def entries(self, name: str, query_name: str) -> list[Params]:
        return [
            QueryParams(self._fields, f"{self._prefix}{query_name}.{index}.")
            for index in self._indices(query_name)
        ]


def _data_type(value: Params, attribute_name: str) -> str:
    data_type = value.string("DataType")
    if not data_type:
        raise InvalidParameterValue(
            f"The message attribute '{attribute_name}' must contain non-empty attribute type."
        )
    return data_type
