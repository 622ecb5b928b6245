"""Turning what a caller matches against into a document of plain JSON values.

EventBridge events and SNS bodies already are documents. SNS message attributes are typed strings;
they become a flat object whose values carry their type: ``Number`` a JSON number, ``String.Array``
the parsed array, ``Binary`` the opaque marker.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from broker.matching.dialects import Dialect, Scope
from broker.matching.values import OPAQUE, Opaque


def prepare(document: object, dialect: Dialect) -> dict[str, Any] | None:
    """The document to match, or ``None`` when nothing can match it (not a JSON object)."""
    if dialect.scope is Scope.MESSAGE_ATTRIBUTES:
        return attributes_document(document) if isinstance(document, Mapping) else None
    return document if isinstance(document, dict) else None


def attributes_document(attributes: Mapping[Any, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name, attribute in attributes.items():
        if not isinstance(attribute, Mapping):
            continue
        data_type = attribute.get("Type", attribute.get("DataType"))
        if not isinstance(data_type, str):
            continue
        value = attribute.get("Value", attribute.get("StringValue"))
        # SNS allows custom type labels after a dot ("Number.float"); the base type decides.
        base = data_type if data_type == "String.Array" else data_type.partition(".")[0]
        if base == "Binary":
            document[name] = OPAQUE
        elif not isinstance(value, str):
            continue
        elif base == "String":
            document[name] = value
        elif base == "Number":
            document[name] = _number(value)
        elif base == "String.Array":
            document[name] = _array(value)
    return document


_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _number(text: str) -> int | float | Opaque:
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return OPAQUE  # SNS refuses such a Number at publish; nothing to compare
    if text.lstrip("-").isdigit():
        return int(text)
    number = float(text)
    return number if math.isfinite(number) else OPAQUE


def _array(text: str) -> Any:
    try:
        parsed = json.loads(text)
    except ValueError:
        return text  # not an array after all: SNS would have refused it; match it as a string
    return parsed if isinstance(parsed, list) else text
