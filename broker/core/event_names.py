"""Names, ARNs, page tokens and timestamps of EventBridge resources, checked as the model does."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from broker.core.event_errors import ValidationFailed
from broker.core.event_models import DEFAULT_BUS

BUS_NAME = re.compile(r"[/\.\-_A-Za-z0-9]{1,256}")
RESOURCE_NAME = re.compile(r"[\.\-_A-Za-z0-9]{1,64}")
PAGE_LIMIT = 100


def check_name(parameter: str, value: str, pattern: re.Pattern[str] = RESOURCE_NAME) -> str:
    if not pattern.fullmatch(value):
        raise ValidationFailed(
            f"1 validation error detected: Value '{value}' at '{parameter}' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {pattern.pattern}"
        )
    return value


def check_length(parameter: str, value: str | None, maximum: int) -> None:
    if value is not None and len(value) > maximum:
        raise ValidationFailed(
            f"1 validation error detected: Value at '{parameter}' failed to satisfy constraint: "
            f"Member must have length less than or equal to {maximum}"
        )


def bus_name_of(value: str | None) -> str:
    """An ``EventBusName`` parameter (a name or a bus ARN) as a bus name."""
    if not value:
        return DEFAULT_BUS
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        if len(parts) != 6 or parts[2] != "events" or not parts[5].startswith("event-bus/"):
            raise ValidationFailed(f"Parameter EventBusName is not valid: {value}")
        return check_name("eventBusName", parts[5].removeprefix("event-bus/"), BUS_NAME)
    return check_name("eventBusName", value, BUS_NAME)


def account_of(value: str | None) -> str | None:
    """The account of an ARN (``arn:aws:events:<region>:<account>:...``); None for a name."""
    if not value or not value.startswith("arn:"):
        return None
    parts = value.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[4] else None


def resource_name_of(arn: str, kind: str) -> str:
    """The name in ``arn:aws:events:<region>:<account>:<kind>/<name>``."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "events" or not parts[5].startswith(kind + "/"):
        raise ValidationFailed(f"Parameter {arn} is not a valid {kind} ARN.")
    return parts[5].removeprefix(kind + "/")


def check_limit(limit: int | None) -> int:
    if limit is None:
        return PAGE_LIMIT
    if not 1 <= limit <= PAGE_LIMIT:
        raise ValidationFailed(
            "1 validation error detected: Value at 'limit' failed to satisfy constraint: "
            f"Member must have value between 1 and {PAGE_LIMIT}"
        )
    return limit


def encode_token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode("ascii")


def decode_token(token: str | None) -> str:
    if not token:
        return ""
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, ValueError, UnicodeError):
        raise ValidationFailed("The provided NextToken is not valid.") from None


def event_time(moment: datetime) -> str:
    """RFC 3339 to the second, UTC, as EventBridge writes ``time``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


T = TypeVar("T")


def page(found: list[T], size: int, key: Callable[[T], str]) -> tuple[list[T], str | None]:
    """The first ``size`` of ``found`` (read with one extra) and the token of the next page."""
    if len(found) > size:
        found = found[:size]
        return found, encode_token(key(found[-1]))
    return found, None
