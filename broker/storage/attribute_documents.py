"""Message attributes as stored: the JSONB document of ``broker.messages.attributes``.

``{"name": {"DataType": "...", "StringValue": "..."}}``, or ``BinaryValue`` in base64 — the AWS
shape, so the SQL functions and any SQL reader see what an SQS client would.
"""

from __future__ import annotations

import base64

import orjson

from broker.core.models import MessageAttributes, MessageAttributeValue


def attributes_document(attributes: MessageAttributes) -> dict[str, dict[str, str]] | None:
    if not attributes:
        return None
    document: dict[str, dict[str, str]] = {}
    for name, value in attributes.items():
        if value.binary_value is not None:
            encoded = base64.b64encode(value.binary_value).decode("ascii")
            document[name] = {"DataType": value.data_type, "BinaryValue": encoded}
        else:
            document[name] = {"DataType": value.data_type, "StringValue": value.string_value or ""}
    return document


def attributes_json(attributes: MessageAttributes) -> str | None:
    document = attributes_document(attributes)
    return None if document is None else orjson.dumps(document).decode()


def attributes_of(document: dict[str, dict[str, str]] | None) -> MessageAttributes:
    if not document:
        return {}
    out: dict[str, MessageAttributeValue] = {}
    for name, value in document.items():
        if "BinaryValue" in value:
            out[name] = MessageAttributeValue(
                value["DataType"], binary_value=base64.b64decode(value["BinaryValue"])
            )
        else:
            out[name] = MessageAttributeValue(value["DataType"], string_value=value["StringValue"])
    return out
