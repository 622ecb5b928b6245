"""broker.sdk topics against a real ``broker serve``: create, subscribe a queue with a filter
policy, publish matching and non-matching messages, receive exactly the matching one.

Fan-out happens in the publish's transaction, so a message is in its queue when ``publish``
returns: the tests receive right after, with no waiting for delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from accept_support import ACCESS_KEY, SECRET_KEY
from sns_clients import make_sns_client

from broker.sdk import AsyncClient, Client, PublishRequest, RetryPolicy, errors


@pytest.fixture(scope="module")
def client(broker_url: str) -> Iterator[Client]:
    with Client(broker_url, ACCESS_KEY, SECRET_KEY, retry=RetryPolicy(max_attempts=1)) as c:
        yield c


def test_sync_fan_out_with_a_filter_policy(client: Client, queue_name: str) -> None:
    topic = client.create_topic(queue_name, tags={"team": "a"})
    assert topic.info().tags == {"team": "a"}
    matching = client.create_queue(queue_name + "-a")
    everything = client.create_queue(queue_name + "-all")
    filtered = topic.subscribe_queue(matching.name, filter_policy={"kind": ["order"]}, raw=True)
    assert filtered.raw and filtered.filter_policy == {"kind": ["order"]}
    # By ARN, with the envelope: the same call boto3 users make.
    unfiltered = topic.subscribe_queue(everything.info().arn)
    assert not unfiltered.raw and unfiltered.protocol == "sqs"

    topic.publish("ignored", attributes={"kind": "refund"})
    sent = topic.publish("wanted", subject="s", attributes={"kind": "order", "n": 3})

    [got] = matching.receive(wait_seconds=1)
    assert got.body == "wanted"
    assert got.attributes["kind"].value == "order" and got.attributes["n"].value == "3"
    got.delete()
    assert matching.receive(wait_seconds=0) == []
    envelopes = [json.loads(m.body) for m in everything.receive(wait_seconds=1)]
    assert sorted(e["Message"] for e in envelopes) == ["ignored", "wanted"]
    [wanted] = [e for e in envelopes if e["Message"] == "wanted"]
    assert wanted["MessageId"] == sent.message_id and wanted["Subject"] == "s"
    assert wanted["TopicArn"] == topic.info().arn

    assert {s.arn for s in topic.subscriptions()} == {filtered.arn, unfiltered.arn}
    client.set_subscription_attributes(filtered.arn, {"FilterPolicy": ""})
    assert client.subscription(filtered.arn).filter_policy is None
    topic.unsubscribe(unfiltered)
    assert [s.arn for s in topic.subscriptions()] == [filtered.arn]
    topic.delete()
    with pytest.raises(errors.NotFound):
        topic.info()


def test_sync_batch_fifo_and_errors(client: Client, queue_name: str, broker_url: str) -> None:
    topic = client.topic(queue_name + ".fifo")
    info = topic.create(attributes={"ContentBasedDeduplication": "true"})
    assert info.fifo and topic.attributes()["FifoTopic"] == "true"
    queue = client.create_queue(queue_name + ".fifo")
    topic.subscribe_queue(queue.name, raw=True)
    first = topic.publish("one", group_id="g")
    assert first.sequence_number is not None
    result = topic.publish_batch(
        [PublishRequest("two", group_id="g"), PublishRequest("three", id="x")]
    )
    assert [p.message_id != "" for p in result.successful] == [True]
    [failure] = result.failed
    assert failure.id == "x" and failure.code == "InvalidParameter" and failure.status == 400
    assert [m.body for m in queue.receive(wait_seconds=1)] == ["one", "two"]

    with pytest.raises(errors.InvalidParameter) as caught:
        topic.publish("no group")
    assert isinstance(caught.value, errors.InvalidParameterValue)
    with pytest.raises(errors.NotFound):
        client.topic("missing-" + queue_name).publish("x")
    with pytest.raises(errors.InvalidParameter):
        topic.subscribe_queue(queue.name, filter_policy="{not json")
    # What boto3 sees through SNS Query is the topic the SDK made.
    sns = make_sns_client(broker_url)
    arns = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert info.arn in arns
    assert info.arn in [t.arn for t in client.list_topics()]
    topic.delete()


async def test_async_fan_out_with_a_filter_policy(broker_url: str, queue_name: str) -> None:
    async with AsyncClient(
        broker_url, ACCESS_KEY, SECRET_KEY, retry=RetryPolicy(max_attempts=1)
    ) as client:
        topic = await client.create_topic(queue_name)
        queue = await client.create_queue(queue_name + "-q")
        subscription = await topic.subscribe_queue(
            queue.name, filter_policy={"price": [{"numeric": [">", 100]}]}, raw=True
        )
        assert subscription.filter_policy == {"price": [{"numeric": [">", 100]}]}
        await topic.publish("cheap", attributes={"price": 5})
        await topic.publish("dear", attributes={"price": 500})
        batch = await topic.publish_batch(["no attributes", "also none"])
        assert batch.ok and len(batch.successful) == 2
        [got] = await queue.receive(wait_seconds=1)
        assert got.body == "dear"
        await got.delete()
        assert await queue.receive(wait_seconds=0) == []

        assert (await topic.attributes())["SubscriptionsConfirmed"] == "1"
        await topic.set_attributes({"DisplayName": "Prices"})
        assert (await topic.info()).attributes["DisplayName"] == "Prices"
        assert [s.arn for s in await topic.subscriptions()] == [subscription.arn]
        assert (await client.subscription(subscription.arn)).raw is True
        await topic.unsubscribe(subscription.arn)
        with pytest.raises(errors.NotFound):
            await client.subscription(subscription.arn)
        await topic.delete()
        await queue.delete()
