"""broker.send_message(): enqueue from SQL, inside the application's own transaction."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from broker.core.models import Caller, ReceiveRequest
from broker.core.service import BrokerService

RECEIVE = ReceiveRequest(max_messages=10, attribute_names=("All",), system_attribute_names=("All",))


async def test_committed_send_is_delivered_and_rolled_back_is_not(
    service: BrokerService, caller: Caller, database_url: str
):
    queue = await service.create_queue(caller, f"s-{uuid.uuid4().hex[:8]}", {}, {})
    with psycopg.connect(database_url) as conn:
        with conn.transaction():
            conn.execute(
                "SELECT broker.send_message(%s, 'kept', "
                '\'{"k": {"DataType": "String", "StringValue": "v"}}\')',
                (queue.name,),
            )
        conn.execute("SELECT broker.send_message(%s, 'discarded')", (queue.name,))
        conn.rollback()  # the application's transaction fails
    messages = await service.receive_messages(caller, queue, RECEIVE)
    assert [m.body for m in messages] == ["kept"]
    assert messages[0].attributes["k"].string_value == "v"


async def test_sql_send_applies_queue_rules(
    service: BrokerService, caller: Caller, database_url: str
):
    queue = await service.create_queue(
        caller,
        f"s-{uuid.uuid4().hex[:8]}.fifo",
        {"FifoQueue": "true", "ContentBasedDeduplication": "true"},
        {},
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        first = conn.execute(
            "SELECT broker.send_message(%s, 'x', message_group_id => 'g')", (queue.name,)
        ).fetchone()
        again = conn.execute(
            "SELECT broker.send_message(%s, 'x', message_group_id => 'g')", (queue.name,)
        ).fetchone()
        assert first == again  # deduplicated by content
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute("SELECT broker.send_message(%s, 'x')", (queue.name,))
        with pytest.raises(psycopg.errors.NoDataFound):
            conn.execute("SELECT broker.send_message('no-such-queue', 'x')")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            conn.execute(
                "SELECT broker.send_message(%s, 'x', '{\"k\": 1}', message_group_id => 'g')",
                (queue.name,),
            )
    messages = await service.receive_messages(caller, queue, RECEIVE)
    assert [m.body for m in messages] == ["x"]
    assert messages[0].system_attributes["MessageGroupId"] == "g"
