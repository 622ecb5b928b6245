"""Topics against a real PostgreSQL: the publish transaction, and broker.publish_message fanned
out exactly once by the deliverer."""

from __future__ import annotations

import asyncio
import json

import psycopg
import pytest

from broker.app import Broker
from broker.core.models import Caller, ReceiveRequest
from broker.core.topic_models import PendingPublication, Publication, PublishEntry, TopicMessage
from broker.errors import Conflict
from tests.integration.conftest import BrokerFactory

BASE_URL = "http://broker.test"


@pytest.fixture
async def quiet_broker(running_broker: BrokerFactory, database_url: str):  # type: ignore[no-untyped-def]
    # The deliverer's background loop runs once at start, then the test drives it by hand.
    async with running_broker(database_url, delivery_poll_seconds=3600.0) as started:
        yield started


async def _queue_with_subscription(
    broker: Broker, caller: Caller, topic_arn: str, name: str, policy: str = ""
) -> str:
    queue = await broker.service.create_queue(caller, name, {}, {})
    assert broker.topics is not None
    attributes = {"RawMessageDelivery": "true"}
    if policy:
        attributes["FilterPolicy"] = policy
    await broker.topics.service.subscribe(
        caller, topic_arn, "sqs", queue.arn, attributes, False, BASE_URL
    )
    return name


async def _bodies(broker: Broker, caller: Caller, name: str) -> list[str]:
    queue = await broker.service.get_queue(caller, name)
    received = await broker.service.receive_messages(
        caller, queue, ReceiveRequest(max_messages=10, wait_seconds=0)
    )
    return [m.body for m in received]


async def test_publish_message_in_sql_is_fanned_out_once(
    quiet_broker: Broker, caller: Caller, database_url: str
) -> None:
    broker = quiet_broker
    assert broker.topics is not None
    topic = await broker.topics.service.create_topic(caller, "sql-topic", {}, {})
    await _queue_with_subscription(broker, caller, topic.arn, "sql-a")
    await _queue_with_subscription(broker, caller, topic.arn, "sql-b", '{"k": ["v"]}')
    attributes = json.dumps({"k": {"DataType": "String", "StringValue": "v"}})
    with psycopg.connect(database_url) as conn:
        with conn.transaction():
            conn.execute(
                "SELECT broker.publish_message('sql-topic', 'kept', NULL, %s)", [attributes]
            )
        with pytest.raises(psycopg.errors.NoDataFound), conn.transaction():
            conn.execute("SELECT broker.publish_message('missing', 'x')")
        with conn.transaction():
            conn.execute("SELECT broker.publish_message('sql-topic', 'rolled back')")
            raise psycopg.Rollback()
    deliverer = broker.topics.deliverer
    await deliverer.run_once()
    await deliverer.run_once()
    assert await _bodies(broker, caller, "sql-a") == ["kept"]
    assert await _bodies(broker, caller, "sql-b") == ["kept"]


async def test_a_consumed_publication_is_never_fanned_out_twice(
    quiet_broker: Broker, caller: Caller
) -> None:
    broker = quiet_broker
    assert broker.topics is not None
    topic = await broker.topics.service.create_topic(caller, "twice", {}, {})
    await _queue_with_subscription(broker, caller, topic.arn, "twice-q")
    pending = PendingPublication(
        id=987654,
        topic_id=topic.id,
        message_id="00000000-0000-4000-8000-000000000001",
        message="m",
        subject=None,
        attributes={},
        group_id=None,
        deduplication_id=None,
        sender_id=None,
    )
    with pytest.raises(Conflict):  # no such row: as if another process had consumed it
        await broker.topics.service.publish_pending(pending, BASE_URL)
    assert await _bodies(broker, caller, "twice-q") == []
    with pytest.raises(Conflict):
        await broker.topics.store.publish(
            Publication(topic.id, False, "s", [TopicMessage("m")], [], [], inbox_id=987654)
        )


async def test_one_publish_is_one_transaction_across_queues(
    quiet_broker: Broker, caller: Caller
) -> None:
    broker = quiet_broker
    assert broker.topics is not None
    topic = await broker.topics.service.create_topic(
        caller, "atomic.fifo", {"FifoTopic": "true", "ContentBasedDeduplication": "true"}, {}
    )
    names = []
    for i in range(3):
        queue = await broker.service.create_queue(
            caller, f"atomic-{i}.fifo", {"FifoQueue": "true"}, {}
        )
        await broker.topics.service.subscribe(
            caller, topic.arn, "sqs", queue.arn, {"RawMessageDelivery": "true"}, False, BASE_URL
        )
        names.append(queue.name)
    service = broker.topics.service
    first = await service.publish(caller, topic.arn, PublishEntry("x", group_id="g"), BASE_URL)
    again = await service.publish(caller, topic.arn, PublishEntry("x", group_id="g"), BASE_URL)
    assert again.message_id == first.message_id  # content-based deduplication on the topic
    for name in names:
        assert await _bodies(broker, caller, name) == ["x"]


async def test_concurrent_add_permissions_keep_every_statement(
    quiet_broker: Broker, caller: Caller
) -> None:
    assert quiet_broker.topics is not None
    topics = quiet_broker.topics.service
    topic = await topics.create_topic(caller, "shared-policy", {}, {})
    labels = [f"l{i}" for i in range(8)]
    await asyncio.gather(
        *(
            topics.add_permission(caller, topic.arn, label, [str(100000000000 + i)], ["Publish"])
            for i, label in enumerate(labels)
        )
    )
    policy = json.loads((await topics.get_topic_attributes(caller, topic.arn))["Policy"])
    sids = [s.get("Sid") for s in policy["Statement"]]
    assert sorted(sid for sid in sids if sid in labels) == labels
    await asyncio.gather(*(topics.remove_permission(caller, topic.arn, label) for label in labels))
    policy = json.loads((await topics.get_topic_attributes(caller, topic.arn))["Policy"])
    assert not [s for s in policy["Statement"] if s.get("Sid") in labels]
