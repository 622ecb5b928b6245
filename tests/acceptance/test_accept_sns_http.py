"""HTTP/S subscriptions against real ``broker serve`` processes: the confirmation handshake,
signed notifications a subscriber verifies, retries by delivery policy, the dead-letter queue,
and a delivery that survives the death of the process that was retrying it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from accept_support import BrokerProcess, StartBroker
from sns_clients import drain, make_sns_client, queue_arn
from sns_subscriber import Subscriber, verify_signature

# A short POST timeout makes the lease of a claimed delivery short (2 x timeout + 1 s), so a
# delivery claimed by a process that died is retried by another within seconds.
FAST = {"BROKER_DELIVERY_POLL_SECONDS": "0.1", "BROKER_DELIVERY_TIMEOUT_SECONDS": "1"}
QUICK_RETRIES = json.dumps(
    {"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 3}}
)


@pytest.fixture(scope="module")
def broker_env() -> dict[str, str]:
    return dict(FAST)


@pytest.fixture(scope="module")
def sns(broker_url: str) -> Any:
    return make_sns_client(broker_url)


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    server = Subscriber()
    yield server
    server.close()


@pytest.fixture
def topic(sns: Any) -> Iterator[str]:
    arn = sns.create_topic(Name=f"http-{uuid.uuid4().hex[:10]}")["TopicArn"]
    yield arn
    sns.delete_topic(TopicArn=arn)


def confirm_by_link(subscriber: Subscriber, topic: str) -> dict[str, Any]:
    headers, confirmation = subscriber.next_json()
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert headers["x-amz-sns-topic-arn"] == topic
    assert headers["user-agent"] == "Amazon Simple Notification Service Agent"
    assert "x-amz-sns-subscription-arn" not in headers
    assert confirmation["Type"] == "SubscriptionConfirmation"
    verify_signature(confirmation)
    response = httpx.get(confirmation["SubscribeURL"], timeout=10)  # unsigned, as subscribers do
    assert response.status_code == 200
    assert "<SubscriptionArn>" in response.text
    return confirmation


def test_confirmation_notification_and_unsubscribe(
    sns: Any, topic: str, subscriber: Subscriber
) -> None:
    pending = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url)
    assert pending["SubscriptionArn"] == "pending confirmation"
    [listed] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert listed["SubscriptionArn"] == "PendingConfirmation"
    confirm_by_link(subscriber, topic)
    [listed] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    sub = listed["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    published = sns.publish(
        TopicArn=topic,
        Message="to the web",
        Subject="s",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )
    headers, notification = subscriber.next_json()
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-message-id"] == published["MessageId"]
    assert headers["x-amz-sns-subscription-arn"] == sub
    assert headers["content-type"].startswith("text/plain")
    assert notification["Message"] == "to the web"
    assert notification["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    verify_signature(notification)
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true"
    )
    sns.publish(TopicArn=topic, Message="raw")
    headers, body = subscriber.next()
    assert body == "raw" and headers["x-amz-sns-rawdelivery"] == "true"
    sns.unsubscribe(SubscriptionArn=sub)
    headers, goodbye = subscriber.next_json()
    assert headers["x-amz-sns-message-type"] == "UnsubscribeConfirmation"
    verify_signature(goodbye)


def test_confirm_subscription_api_and_signature_v2(
    sns: Any, topic: str, subscriber: Subscriber
) -> None:
    sns.set_topic_attributes(TopicArn=topic, AttributeName="SignatureVersion", AttributeValue="2")
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url)
    _, confirmation = subscriber.next_json()
    assert confirmation["SignatureVersion"] == "2"
    verify_signature(confirmation)
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.confirm_subscription(TopicArn=topic, Token="wrong")
    arn = sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])["SubscriptionArn"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert attributes["PendingConfirmation"] == "false"
    assert "EffectiveDeliveryPolicy" in attributes
    sns.publish(TopicArn=topic, Message="signed v2")
    _, notification = subscriber.next_json()
    assert notification["SignatureVersion"] == "2"
    verify_signature(notification)


def test_an_expired_confirmation_token_is_refused(
    sns: Any, topic: str, subscriber: Subscriber, database_url: str
) -> None:
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=subscriber.url)
    _, confirmation = subscriber.next_json()
    [pending] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert pending["SubscriptionArn"] == "PendingConfirmation"
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE broker.subscriptions SET created_at = now() - interval '49 hours' "
            "WHERE topic_arn = %s",
            (topic,),
        )
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])
    response = httpx.get(confirmation["SubscribeURL"], timeout=10)
    assert response.status_code == 400 and "<Code>InvalidParameter</Code>" in response.text
    [still] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert still["SubscriptionArn"] == "PendingConfirmation"


def test_failed_posts_are_retried_by_the_delivery_policy(
    sns: Any, topic: str, subscriber: Subscriber
) -> None:
    sns.subscribe(
        TopicArn=topic,
        Protocol="http",
        Endpoint=subscriber.url,
        Attributes={"DeliveryPolicy": QUICK_RETRIES},
    )
    confirm_by_link(subscriber, topic)
    subscriber.failures = 2
    published = sns.publish(TopicArn=topic, Message="eventually")
    ids = [subscriber.next_json()[0]["x-amz-sns-message-id"] for _ in range(3)]
    assert ids == [published["MessageId"]] * 3  # the same MessageId on every retry
    assert subscriber.received.empty()


def test_exhausted_retries_go_to_the_dead_letter_queue(
    sns: Any, sqs: Any, topic: str, subscriber: Subscriber
) -> None:
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    policy = json.dumps(
        {"healthyRetryPolicy": {"minDelayTarget": 1, "maxDelayTarget": 1, "numRetries": 1}}
    )
    sns.subscribe(
        TopicArn=topic,
        Protocol="http",
        Endpoint=subscriber.url,
        Attributes={
            "DeliveryPolicy": policy,
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": queue_arn(sqs, dlq)}),
        },
    )
    confirm_by_link(subscriber, topic)
    subscriber.failures = 1000
    sns.publish(TopicArn=topic, Message="undeliverable")
    [dead] = drain(sqs, dlq, 1, wait=10)
    assert json.loads(dead["Body"])["Message"] == "undeliverable"
    assert subscriber.received.qsize() == 2  # the first try and one retry


def test_delivery_survives_the_death_of_the_retrying_process(
    sns: Any,
    topic: str,
    subscriber: Subscriber,
    database_url: str,
    start_broker: StartBroker,
    broker_log_dir: Path,
) -> None:
    sns.subscribe(
        TopicArn=topic,
        Protocol="http",
        Endpoint=subscriber.url,
        Attributes={"DeliveryPolicy": QUICK_RETRIES},
    )
    confirm_by_link(subscriber, topic)
    doomed = BrokerProcess(database_url, FAST, broker_log_dir)
    try:
        doomed.wait_ready()
        subscriber.failures = 1000
        published = make_sns_client(doomed.url).publish(TopicArn=topic, Message="durable")
        headers, _ = subscriber.next()  # the doomed process tried once and failed
        assert headers["x-amz-sns-message-id"] == published["MessageId"]
    finally:
        doomed.kill()  # SIGKILL: no shutdown, the outbox row is mid-retry
        doomed.stop()
    subscriber.failures = 0
    start_broker(database_url, FAST)  # a fresh process shares the outbox and finishes the job
    while True:
        headers, body = subscriber.next(timeout=30)
        if subscriber.received.empty() and json.loads(body)["Message"] == "durable":
            break
    assert headers["x-amz-sns-message-id"] == published["MessageId"]
