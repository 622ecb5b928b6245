"""FIFO queues: group order, one batch in flight per group, deduplication, attempt ids."""

from __future__ import annotations

import json
import uuid

import pytest

from broker.core.models import Caller, Queue, ReceiveRequest, SendEntry
from broker.core.service import BrokerService
from broker.errors import InvalidParameterValue, MissingParameter


async def fifo_queue(service: BrokerService, caller: Caller, **attributes: str) -> Queue:
    return await service.create_queue(
        caller, f"f-{uuid.uuid4().hex[:12]}.fifo", {"FifoQueue": "true", **attributes}, {}
    )


def receive(max_messages: int = 10, **kwargs: object) -> ReceiveRequest:
    return ReceiveRequest(max_messages=max_messages, system_attribute_names=("All",), **kwargs)  # type: ignore[arg-type]


async def test_group_order_and_in_flight_blocking(service: BrokerService, caller: Caller):
    queue = await fifo_queue(service, caller, ContentBasedDeduplication="true")
    for i in range(4):
        await service.send_message(caller, queue, SendEntry(f"a{i}", group_id="a"))
    await service.send_message(caller, queue, SendEntry("b0", group_id="b"))
    first = await service.receive_messages(caller, queue, receive(max_messages=2))
    assert [m.body for m in first] == ["a0", "a1"]
    # Group a is in flight: only group b can be delivered now.
    second = await service.receive_messages(caller, queue, receive())
    assert [m.body for m in second] == ["b0"]
    assert await service.receive_messages(caller, queue, receive()) == []
    for message in first:
        await service.delete_message(caller, queue, message.receipt_handle)
    third = await service.receive_messages(caller, queue, receive())
    assert [m.body for m in third] == ["a2", "a3"]
    sequences = [int(m.system_attributes["SequenceNumber"]) for m in first + third]
    assert sequences == sorted(sequences)
    assert all(m.system_attributes["MessageGroupId"] == "a" for m in third)


async def test_deduplication_by_id_and_by_content(service: BrokerService, caller: Caller):
    queue = await fifo_queue(service, caller, ContentBasedDeduplication="true")
    one = await service.send_message(caller, queue, SendEntry("same", group_id="g"))
    two = await service.send_message(caller, queue, SendEntry("same", group_id="g"))
    assert one.message_id == two.message_id
    assert one.sequence_number == two.sequence_number
    three = await service.send_message(
        caller, queue, SendEntry("same", group_id="g", deduplication_id="explicit")
    )
    assert three.message_id != one.message_id
    delivered = await service.receive_messages(caller, queue, receive())
    assert [m.message_id for m in delivered] == [one.message_id, three.message_id]
    # Deduplication outlives delivery and deletion (5 minutes).
    for message in delivered:
        await service.delete_message(caller, queue, message.receipt_handle)
    four = await service.send_message(caller, queue, SendEntry("same", group_id="g"))
    assert four.message_id == one.message_id
    assert await service.receive_messages(caller, queue, receive()) == []


async def test_duplicates_inside_one_batch(service: BrokerService, caller: Caller):
    queue = await fifo_queue(service, caller)
    results = await service.send_message_batch(
        caller,
        queue,
        [
            SendEntry("x", id="1", group_id="g", deduplication_id="d"),
            SendEntry("y", id="2", group_id="g", deduplication_id="d"),
            SendEntry("z", id="3", group_id="g", deduplication_id="e"),
        ],
    )
    ids = [r.message_id for r in results]  # type: ignore[union-attr]
    assert ids[0] == ids[1] != ids[2]
    assert [m.body for m in await service.receive_messages(caller, queue, receive())] == ["x", "z"]


async def test_deduplication_scope_message_group(service: BrokerService, caller: Caller):
    queue = await fifo_queue(
        service,
        caller,
        DeduplicationScope="messageGroup",
        FifoThroughputLimit="perMessageGroupId",
    )
    a = await service.send_message(
        caller, queue, SendEntry("x", group_id="a", deduplication_id="d")
    )
    b = await service.send_message(
        caller, queue, SendEntry("x", group_id="b", deduplication_id="d")
    )
    assert a.message_id != b.message_id


async def test_fifo_send_rules(service: BrokerService, caller: Caller):
    queue = await fifo_queue(service, caller)
    with pytest.raises(MissingParameter, match="MessageGroupId"):
        await service.send_message(caller, queue, SendEntry("x", deduplication_id="d"))
    with pytest.raises(InvalidParameterValue, match="ContentBasedDeduplication"):
        await service.send_message(caller, queue, SendEntry("x", group_id="g"))
    with pytest.raises(InvalidParameterValue, match="DelaySeconds"):
        await service.send_message(
            caller, queue, SendEntry("x", group_id="g", deduplication_id="d", delay_seconds=1)
        )


async def test_receive_request_attempt_id_replays_the_same_receive(
    service: BrokerService, caller: Caller
):
    queue = await fifo_queue(service, caller, ContentBasedDeduplication="true")
    for i in range(3):
        await service.send_message(caller, queue, SendEntry(f"m{i}", group_id=f"g{i}"))
    first = await service.receive_messages(
        caller, queue, receive(max_messages=2, receive_request_attempt_id="attempt-1")
    )
    retry = await service.receive_messages(
        caller, queue, receive(max_messages=2, receive_request_attempt_id="attempt-1")
    )
    assert [m.receipt_handle for m in retry] == [m.receipt_handle for m in first]
    await service.delete_message(caller, queue, first[0].receipt_handle)
    # Something changed since: the retry is served as a new receive.
    fresh = await service.receive_messages(
        caller, queue, receive(max_messages=2, receive_request_attempt_id="attempt-1")
    )
    assert [m.body for m in fresh] == ["m2"]


async def test_fifo_dead_letter_queue(service: BrokerService, caller: Caller):
    dlq = await fifo_queue(service, caller)
    policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 1})
    queue = await fifo_queue(service, caller, RedrivePolicy=policy)
    await service.send_message(caller, queue, SendEntry("p", group_id="g", deduplication_id="d"))
    await service.send_message(caller, queue, SendEntry("q", group_id="g", deduplication_id="e"))
    [first] = await service.receive_messages(
        caller, queue, receive(max_messages=1, visibility_timeout=0)
    )
    assert first.body == "p"
    # The second receive moves p to the dead-letter queue and delivers q.
    [second] = await service.receive_messages(caller, queue, receive(max_messages=1))
    assert second.body == "q"
    [dead] = await service.receive_messages(caller, dlq, receive())
    assert dead.body == "p"
    assert dead.system_attributes["MessageDeduplicationId"] == first.message_id
    assert dead.system_attributes["MessageGroupId"] == "g"
