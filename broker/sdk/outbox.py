"""Transactional outbox: enqueue inside your own database transaction.

``send_in_transaction(conn, "orders", body)`` calls the ``broker.send_message`` SQL function the
broker's migrations install, on *your* psycopg connection: the message exists if and only if your
transaction commits, and waiting receivers are woken when it does. Works with a psycopg 3
``Connection`` (``send_in_transaction``) or ``AsyncConnection`` (``send_in_transaction_async``), or
anything with the same ``execute``. This module never imports psycopg: install it yourself
(``pip install 'pgbroker[outbox]'`` or ``psycopg[binary]``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, Protocol

from broker.sdk import tracing
from broker.sdk.models import MessageAttribute

DEFAULT_ACCOUNT_ID = "000000000000"
SEND_SQL = "SELECT broker.send_message(%s, %s, %s::jsonb, %s, %s, %s, %s)"


class _Cursor(Protocol):
    def fetchone(self) -> Any: ...


class _Connection(Protocol):
    def execute(self, query: Any, params: Any = ...) -> Any: ...


def attributes_document(attributes: Mapping[str, Any] | None) -> str | None:
    """The ``message_attributes`` jsonb of the SQL function (AWS-shaped, binary as base64)."""
    out: dict[str, dict[str, str]] = {}
    for name, raw in (attributes or {}).items():
        value = MessageAttribute.of(raw)
        if value.binary_value is not None:
            encoded = base64.b64encode(value.binary_value).decode("ascii")
            out[name] = {"DataType": value.data_type, "BinaryValue": encoded}
        else:
            out[name] = {"DataType": value.data_type, "StringValue": value.string_value or ""}
    current = tracing.current_traceparent()
    if current is not None and tracing.ATTRIBUTE not in out:
        out[tracing.ATTRIBUTE] = {"DataType": "String", "StringValue": current}
    return json.dumps(out) if out else None


def _params(
    queue: str,
    body: str,
    attributes: Mapping[str, Any] | None,
    delay: int | None,
    group_id: str | None,
    deduplication_id: str | None,
    account_id: str,
) -> tuple[Any, ...]:
    return (
        queue,
        body,
        attributes_document(attributes),
        delay,
        group_id,
        deduplication_id,
        account_id,
    )


def send_in_transaction(
    connection: _Connection,
    queue: str,
    body: str,
    attributes: Mapping[str, Any] | None = None,
    delay: int | None = None,
    *,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> str:
    """Enqueue in ``connection``'s current transaction; the message id."""
    cursor = connection.execute(
        SEND_SQL, _params(queue, body, attributes, delay, group_id, deduplication_id, account_id)
    )
    row = cursor.fetchone()
    return str(row[0])


async def send_in_transaction_async(
    connection: Any,
    queue: str,
    body: str,
    attributes: Mapping[str, Any] | None = None,
    delay: int | None = None,
    *,
    group_id: str | None = None,
    deduplication_id: str | None = None,
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> str:
    """``send_in_transaction`` for a psycopg ``AsyncConnection``."""
    cursor = await connection.execute(
        SEND_SQL, _params(queue, body, attributes, delay, group_id, deduplication_id, account_id)
    )
    row = await cursor.fetchone()
    return str(row[0])
