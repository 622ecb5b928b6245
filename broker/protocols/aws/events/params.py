"""EventBridge request members from an AWS JSON 1.1 body, checked for their wire types.

A member of the wrong JSON type is a ``SerializationException`` (what botocore never sends but
hand-made requests may); a missing required member a ``ValidationException`` worded as AWS does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from broker.core.event_errors import ValidationFailed
from broker.protocols.aws.faults import SERIALIZATION, AwsFault


def _wrong(name: str, expected: str) -> AwsFault:
    return AwsFault(SERIALIZATION, f"Member {name} must be {expected}.")


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


class EventParams:
    def __init__(self, body: Mapping[str, Any]) -> None:
        self._body = body

    def raw(self, name: str) -> Any:
        return self._body.get(name)

    def string(self, name: str) -> str | None:
        value = self._body.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise _wrong(name, "a string")
        return value

    def required(self, name: str) -> str:
        value = self.string(name)
        if value is None:
            raise ValidationFailed(
                f"1 validation error detected: Value null at '{_camel(name)}' failed to satisfy "
                "constraint: Member must not be null"
            )
        return value

    def integer(self, name: str) -> int | None:
        value = self._body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong(name, "an integer")
        return value

    def boolean(self, name: str) -> bool:
        value = self._body.get(name, False)
        if not isinstance(value, bool):
            raise _wrong(name, "a boolean")
        return value

    def objects(self, name: str) -> list[dict[str, Any]]:
        value = self._body.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise _wrong(name, "a list of structures")
        return value

    def strings(self, name: str) -> list[str]:
        value = self._body.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _wrong(name, "a list of strings")
        return value

    def structure(self, name: str) -> dict[str, Any] | None:
        value = self._body.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise _wrong(name, "a structure")
        return value

    def tags(self, name: str = "Tags") -> dict[str, str]:
        out: dict[str, str] = {}
        for tag in self.objects(name):
            key, value = tag.get("Key"), tag.get("Value")
            if not isinstance(key, str) or not isinstance(value, str):
                raise _wrong(name, "a list of Key/Value strings")
            out[key] = value
        return out

    def timestamp(self, name: str, required: bool = False) -> datetime | None:
        value = self._body.get(name)
        if value is None:
            if required:
                self.required(name)
            return None
        return timestamp_of(name, value)


def timestamp_of(name: str, value: Any) -> datetime:
    """An AWS JSON timestamp: epoch seconds (what the SDKs send) or an ISO 8601 string."""
    if isinstance(value, bool):
        raise _wrong(name, "a timestamp")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            raise _wrong(name, "a timestamp") from None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _wrong(name, "a timestamp") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise _wrong(name, "a timestamp")


def epoch(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None
