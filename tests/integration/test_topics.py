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
from broker.errors import Conflict, InvalidParameterValue
from broker.workers.janitor import Janitor
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


async def _pending_http(broker: Broker, caller: Caller, topic_arn: str, endpoint: str) -> str:
    """An unconfirmed HTTP subscription's token (its confirmation waits in the outbox)."""
    assert broker.topics is not None
    arn = await broker.topics.service.subscribe(
        caller, topic_arn, "http", endpoint, {}, True, BASE_URL
    )
    subscriptions, _ = await broker.topics.service.list_subscriptions(caller, topic_arn, None)
    [found] = [s for s in subscriptions if s.arn == arn]
    assert found.token is not None and not found.confirmed
    return found.token


def _age(database_url: str, endpoint: str, hours: int) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE broker.subscriptions SET created_at = now() - make_interval(hours => %s) "
            "WHERE endpoint = %s",
            (hours, endpoint),
        )


async def test_a_confirmation_token_expires_after_48_hours(
    quiet_broker: Broker, caller: Caller, database_url: str
) -> None:
    assert quiet_broker.topics is not None
    topics = quiet_broker.topics.service
    topic = await topics.create_topic(caller, "tokens", {}, {})
    fresh = await _pending_http(quiet_broker, caller, topic.arn, "http://fresh.test/")
    stale = await _pending_http(quiet_broker, caller, topic.arn, "http://stale.test/")
    _age(database_url, "http://fresh.test/", 47)
    _age(database_url, "http://stale.test/", 49)
    with pytest.raises(InvalidParameterValue, match="Token"):
        await topics.confirm_subscription(topic.arn, stale)
    arn = await topics.confirm_subscription(topic.arn, fresh)
    attributes = await topics.get_subscription_attributes(caller, arn)
    assert attributes["PendingConfirmation"] == "false"


async def test_the_janitor_deletes_unconfirmed_subscriptions_past_48_hours_in_batches(
    running_broker: BrokerFactory, caller: Caller, database_url: str
) -> None:
    async with running_broker(
        database_url, delivery_poll_seconds=3600.0, janitor_batch_size=2
    ) as broker:
        await _janitor_deletes_unconfirmed_subscriptions(broker, caller, database_url)


async def _janitor_deletes_unconfirmed_subscriptions(
    quiet_broker: Broker, caller: Caller, database_url: str
) -> None:
    assert quiet_broker.topics is not None
    topics = quiet_broker.topics.service
    topic = await topics.create_topic(caller, "pending", {}, {})
    old = [f"http://old-{i}.test/" for i in range(3)]
    for endpoint in [*old, "http://recent.test/"]:
        await _pending_http(quiet_broker, caller, topic.arn, endpoint)
    token = await _pending_http(quiet_broker, caller, topic.arn, "http://confirmed.test/")
    await topics.confirm_subscription(topic.arn, token)
    for endpoint in [*old, "http://confirmed.test/"]:
        _age(database_url, endpoint, 49)
    _age(database_url, "http://recent.test/", 47)

    orphans = (
        "SELECT count(*) FROM broker.deliveries WHERE subscription_arn LIKE %s "
        "AND NOT subscription_id = ANY(SELECT id FROM broker.subscriptions)"
    )
    with psycopg.connect(database_url) as conn:
        waiting = conn.execute(
            "SELECT count(*) FROM broker.deliveries d JOIN broker.subscriptions s "
            "ON s.id = d.subscription_id WHERE s.endpoint LIKE 'http://old-%'"
        ).fetchone()
    assert waiting == (3,)  # each old subscription's confirmation, still in the outbox

    [janitor] = [w for w in quiet_broker.workers if isinstance(w, Janitor)]
    assert await janitor.run_once()  # a full batch: more may wait
    assert not await janitor.run_once()
    subscriptions, _ = await topics.list_subscriptions(caller, topic.arn, None)
    assert sorted(s.endpoint for s in subscriptions) == [
        "http://confirmed.test/",
        "http://recent.test/",
    ]
    with psycopg.connect(database_url) as conn:
        left = conn.execute(orphans, (topic.arn + ":%",)).fetchone()
    assert left == (0,)  # their confirmations went with them
