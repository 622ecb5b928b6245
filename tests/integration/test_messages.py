"""Send, receive, delete and visibility semantics through the service, against PostgreSQL."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from broker.core.models import (
    Caller,
    EntryFailure,
    HandleEntry,
    MessageAttributeValue,
    Queue,
    ReceiveRequest,
    SendEntry,
    SentMessage,
)
from broker.core.service import BrokerService
from broker.errors import (
    BatchEntryIdsNotDistinct,
    EmptyBatchRequest,
    InvalidMessageContents,
    InvalidParameterValue,
    MessageNotInflight,
    MessageTooLarge,
    MissingParameter,
    PurgeQueueInProgress,
    ReceiptHandleIsInvalid,
    TooManyEntriesInBatchRequest,
)

ALL = ReceiveRequest(max_messages=10, attribute_names=("All",), system_attribute_names=("All",))


async def new_queue(
    service: BrokerService,
    caller: Caller,
    attributes: dict[str, str] | None = None,
    fifo: bool = False,
) -> Queue:
    name = f"m-{uuid.uuid4().hex[:12]}" + (".fifo" if fifo else "")
    attrs = dict(attributes or {})
    if fifo:
        attrs["FifoQueue"] = "true"
    return await service.create_queue(caller, name, attrs, {})


def receive(**kwargs: object) -> ReceiveRequest:
    base: dict[str, object] = {"max_messages": 10, "system_attribute_names": ("All",)}
    base.update(kwargs)
    return ReceiveRequest(**base)  # type: ignore[arg-type]


async def test_send_receive_delete(service: BrokerService, caller: Caller):
    queue = await new_queue(service, caller)
    attributes = {
        "s": MessageAttributeValue("String", string_value="v"),
        "n": MessageAttributeValue("Number.int", string_value="42"),
        "b": MessageAttributeValue("Binary", binary_value=b"\x00\x01"),
    }
    sent = await service.send_message(caller, queue, SendEntry("hello", attributes=attributes))
    [message] = await service.receive_messages(caller, queue, ALL)
    assert message.message_id == sent.message_id
    assert message.body == "hello"
    assert dict(message.attributes) == attributes
    assert message.system_attributes["ApproximateReceiveCount"] == "1"
    assert message.system_attributes["SenderId"] == caller.access_key_id
    assert int(message.system_attributes["SentTimestamp"]) > 0
    assert await service.receive_messages(caller, queue, ALL) == []  # in flight
    await service.delete_message(caller, queue, message.receipt_handle)
    counts = await service.get_queue_attributes(
        caller, queue, ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    assert counts == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


async def test_attribute_selection_by_name_and_prefix(service: BrokerService, caller: Caller):
    queue = await new_queue(service, caller)
    attributes = {
        name: MessageAttributeValue("String", string_value=name)
        for name in ("order.id", "order.total", "trace")
    }
    await service.send_message(caller, queue, SendEntry("x", attributes=attributes))
    [message] = await service.receive_messages(
        caller, queue, receive(attribute_names=("order.*",), system_attribute_names=())
    )
    assert set(message.attributes) == {"order.id", "order.total"}
    assert message.system_attributes == {}


async def test_visibility_timeout_zero_redelivers_and_stale_handle_does_not_delete(
    service: BrokerService, caller: Caller
):
    queue = await new_queue(service, caller)
    await service.send_message(caller, queue, SendEntry("again"))
    [first] = await service.receive_messages(caller, queue, receive(visibility_timeout=0))
    [second] = await service.receive_messages(caller, queue, receive(visibility_timeout=30))
    assert second.message_id == first.message_id
    assert second.receipt_handle != first.receipt_handle
    assert second.system_attributes["ApproximateReceiveCount"] == "2"
    await service.delete_message(caller, queue, first.receipt_handle)  # stale: succeeds, no-op
    counts = await service.get_queue_attributes(
        caller, queue, ["ApproximateNumberOfMessagesNotVisible"]
    )
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"
    await service.delete_message(caller, queue, second.receipt_handle)
    counts = await service.get_queue_attributes(
        caller, queue, ["ApproximateNumberOfMessagesNotVisible"]
    )
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"


async def test_forged_and_foreign_handles_are_invalid(service: BrokerService, caller: Caller):
    queue = await new_queue(service, caller)
    other = await new_queue(service, caller)
    await service.send_message(caller, other, SendEntry("x"))
    [message] = await service.receive_messages(caller, other, receive())
    with pytest.raises(ReceiptHandleIsInvalid):
        await service.delete_message(caller, queue, message.receipt_handle)
    tampered = message.receipt_handle[:-2] + ("AA" if message.receipt_handle[-2:] != "AA" else "BB")
    with pytest.raises(ReceiptHandleIsInvalid):
        await service.delete_message(caller, other, tampered)
    with pytest.raises(ReceiptHandleIsInvalid):
        await service.delete_message(caller, other, "not-a-handle")


async def test_change_visibility_rules(service: BrokerService, caller: Caller):
    queue = await new_queue(service, caller)
    await service.send_message(caller, queue, SendEntry("x"))
    [message] = await service.receive_messages(caller, queue, receive())
    with pytest.raises(InvalidParameterValue, match="beyond the limit"):
        await service.change_message_visibility(caller, queue, message.receipt_handle, 43_200)
    await service.change_message_visibility(caller, queue, message.receipt_handle, 0)
    with pytest.raises(MessageNotInflight):
        await service.change_message_visibility(caller, queue, message.receipt_handle, 10)
    [again] = await service.receive_messages(caller, queue, receive())
    with pytest.raises(InvalidParameterValue, match="expired"):
        await service.change_message_visibility(caller, queue, message.receipt_handle, 10)
    await service.delete_message(caller, queue, again.receipt_handle)
    with pytest.raises(InvalidParameterValue, match="does not exist"):
        await service.change_message_visibility(caller, queue, again.receipt_handle, 10)


async def test_batches_report_each_entry(service: BrokerService, caller: Caller):
    queue = await new_queue(service, caller)
    results = await service.send_message_batch(
        caller,
        queue,
        [
            SendEntry("ok", id="a"),
            SendEntry("\x00bad", id="b"),
            SendEntry("ok2", id="c", delay_seconds=901),
        ],
    )
    assert isinstance(results[0], SentMessage) and results[0].id == "a"
    assert isinstance(results[1], EntryFailure)
    assert isinstance(results[1].error, InvalidMessageContents)
    assert isinstance(results[2], EntryFailure)
    received = await service.receive_messages(caller, queue, receive())
    assert [m.body for m in received] == ["ok"]
    deleted = await service.delete_message_batch(
        caller, queue, [HandleEntry(received[0].receipt_handle, "x"), HandleEntry("junk", "y")]
    )
    assert deleted[0] == "x"
    assert isinstance(deleted[1], EntryFailure)
    assert isinstance(deleted[1].error, ReceiptHandleIsInvalid)


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        ([], EmptyBatchRequest),
        ([SendEntry("x", id=str(i)) for i in range(11)], TooManyEntriesInBatchRequest),
        ([SendEntry("x", id="a"), SendEntry("y", id="a")], BatchEntryIdsNotDistinct),
    ],
    ids=["empty", "eleven-entries", "repeated-id"],
)
async def test_batch_level_errors(service: BrokerService, caller: Caller, entries, error):
    queue = await new_queue(service, caller)
    with pytest.raises(error):
        await service.send_message_batch(caller, queue, entries)


async def test_message_size_limit_counts_attributes(service: BrokerService, caller: Caller):
    queue = await new_queue(service, caller, {"MaximumMessageSize": "1024"})
    await service.send_message(caller, queue, SendEntry("x" * 1024))
    attribute = {"a": MessageAttributeValue("String", string_value="v")}
    with pytest.raises(MessageTooLarge):
        await service.send_message(caller, queue, SendEntry("x" * 1020, attributes=attribute))


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        (SendEntry(""), MissingParameter),
        (SendEntry("a\x08b"), InvalidMessageContents),
        (
            SendEntry("x", attributes={"AWS.x": MessageAttributeValue("String", string_value="v")}),
            InvalidParameterValue,
        ),
        (
            SendEntry("x", attributes={"n": MessageAttributeValue("Number", string_value="abc")}),
            InvalidParameterValue,
        ),
        (
            SendEntry("x", attributes={"n": MessageAttributeValue("Text", string_value="abc")}),
            InvalidParameterValue,
        ),
        (
            SendEntry(
                "x",
                attributes={
                    f"a{i}": MessageAttributeValue("String", string_value="v") for i in range(11)
                },
            ),
            InvalidParameterValue,
        ),
        (SendEntry("x", deduplication_id="d"), InvalidParameterValue),
    ],
    ids=[
        "empty-body",
        "control-character",
        "reserved-attribute-prefix",
        "bad-number",
        "unknown-type",
        "eleven-attributes",
        "dedup-id-on-standard-queue",
    ],
)
async def test_message_rules(service: BrokerService, caller: Caller, entry, error):
    queue = await new_queue(service, caller)
    with pytest.raises(error):
        await service.send_message(caller, queue, entry)


async def test_delayed_message_arrives_for_a_long_poll(service: BrokerService, caller: Caller):
    queue = await new_queue(service, caller)
    await service.send_message(caller, queue, SendEntry("later", delay_seconds=1))
    assert await service.receive_messages(caller, queue, receive()) == []
    counts = await service.get_queue_attributes(
        caller, queue, ["ApproximateNumberOfMessagesDelayed"]
    )
    assert counts["ApproximateNumberOfMessagesDelayed"] == "1"
    # The waiter sleeps until the known visible time, with no send to wake it.
    [message] = await service.receive_messages(caller, queue, receive(wait_seconds=10))
    assert message.body == "later"


async def test_queue_delay_applies_by_default(service: BrokerService, caller: Caller):
    queue = await new_queue(service, caller, {"DelaySeconds": "900"})
    await service.send_message(caller, queue, SendEntry("queued"))
    await service.send_message(caller, queue, SendEntry("now", delay_seconds=0))
    assert [m.body for m in await service.receive_messages(caller, queue, receive())] == ["now"]


async def test_dead_letter_after_max_receives(service: BrokerService, caller: Caller):
    dlq = await new_queue(service, caller)
    policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 2})
    queue = await new_queue(service, caller, {"RedrivePolicy": policy})
    await service.send_message(caller, queue, SendEntry("poison"))
    for _ in range(2):
        [message] = await service.receive_messages(caller, queue, receive(visibility_timeout=0))
    assert await service.receive_messages(caller, queue, receive()) == []
    [dead] = await service.receive_messages(caller, dlq, receive())
    assert dead.body == "poison"
    assert dead.message_id == message.message_id
    assert dead.system_attributes["DeadLetterQueueSourceArn"] == queue.arn
    assert dead.system_attributes["SentTimestamp"] == message.system_attributes["SentTimestamp"]


async def test_purge_removes_everything_once_per_cooldown(service: BrokerService, caller: Caller):
    queue = await new_queue(service, caller)
    await service.send_message_batch(
        caller, queue, [SendEntry(str(i), id=str(i)) for i in range(5)]
    )
    [in_flight] = await service.receive_messages(caller, queue, receive(max_messages=1))
    await service.purge_queue(caller, queue)
    assert await service.receive_messages(caller, queue, receive()) == []
    counts = await service.get_queue_attributes(caller, queue, ["All"])
    assert counts["ApproximateNumberOfMessages"] == "0"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"
    with pytest.raises(PurgeQueueInProgress):
        await service.purge_queue(caller, queue)
    await service.send_message(caller, queue, SendEntry("after"))
    assert [m.body for m in await service.receive_messages(caller, queue, receive())] == ["after"]
    assert in_flight.body in {str(i) for i in range(5)}


async def test_expired_messages_are_not_delivered(
    service: BrokerService, caller: Caller, database_url: str
):
    queue = await new_queue(service, caller, {"MessageRetentionPeriod": "60"})
    await service.send_message(caller, queue, SendEntry("old"))
    await service.send_message(caller, queue, SendEntry("new"))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE broker.messages SET sent_at = now() - interval '61 seconds' "
            "WHERE queue_id = %s AND body = 'old'",
            (queue.id,),
        )
    assert [m.body for m in await service.receive_messages(caller, queue, receive())] == ["new"]


async def test_sent_batch_keeps_order_on_standard_queue(service: BrokerService, caller: Caller):
    queue = await new_queue(service, caller)
    await service.send_message_batch(
        caller, queue, [SendEntry(str(i), id=f"e{i}") for i in range(10)]
    )
    bodies = [m.body for m in await service.receive_messages(caller, queue, receive())]
    assert bodies == [str(i) for i in range(10)]
