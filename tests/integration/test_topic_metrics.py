"""Topic, subscription and outbox metrics of a whole app (``create_app``) against a real database:
publishes over SNS Query (and through the TopicService), deliveries to queues and to HTTP
endpoints on loopback, one gauge refresh, then exact values in /metrics."""

from __future__ import annotations

import json
import queue
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from request_signing import Resigner

from broker.app import create_app
from broker.core.models import Caller, MessageAttributeValue
from broker.core.topic_models import PublishEntry
from broker.metrics.instruments import FAMILIES
from tests.integration.test_metrics import ACCOUNT, Samples, app_settings, broker_of, scrape, value

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette 1.x: its test client will move to httpx2
    from starlette.testclient import TestClient

SNS_AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/sns/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=abcdef0123"
)
CALLER = Caller(access_key_id="AKIDEXAMPLE")
BASE_URL = "http://testserver"
TOPIC_FAMILIES = {
    "broker_topic_messages_published_total",
    "broker_subscription_messages_delivered_total",
    "broker_subscription_messages_filtered_out_total",
    "broker_subscription_delivery_failures_total",
    "broker_subscription_delivery_retries_total",
    "broker_subscription_messages_dead_lettered_total",
    "broker_outbox_messages",
    "broker_outbox_oldest_message_age_seconds",
}
WAIT_SECONDS = 30.0


class Endpoints:
    """A loopback HTTP server: answers every SubscriptionConfirmation with 200 (and hands it to
    the test), notifications to ``/ok`` with 200 and to any other path with 500."""

    def __init__(self) -> None:
        self.confirmations: queue.Queue[dict[str, Any]] = queue.Queue()
        self.notifications: dict[str, int] = {}
        self._lock = threading.Lock()
        endpoints = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                kind = self.headers.get("x-amz-sns-message-type")
                if kind == "SubscriptionConfirmation":
                    endpoints.confirmations.put(json.loads(body))
                    status = 200
                else:
                    with endpoints._lock:
                        count = endpoints.notifications.get(self.path, 0)
                        endpoints.notifications[self.path] = count + 1
                    status = 200 if self.path == "/ok" else 500
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def endpoints() -> Iterator[Endpoints]:
    server = Endpoints()
    yield server
    server.close()


@pytest.fixture
def client(fresh_database_url: str) -> Iterator[TestClient]:
    app = create_app(app_settings(fresh_database_url), configure_logging=False)
    with TestClient(app) as client:
        client.auth = Resigner()
        yield client


def sns(client: TestClient, action: str, **params: str) -> str:
    response = client.post(
        "/",
        data={"Action": action, "Version": "2010-03-31", **params},
        headers={"Authorization": SNS_AUTH},
    )
    assert response.status_code == 200, response.text
    return response.text


def kind(number: int, value_: str) -> dict[str, str]:
    """The Query parameters of a ``kind`` message attribute at ``MessageAttributes.entry.N``."""
    prefix = f"MessageAttributes.entry.{number}."
    return {
        prefix + "Name": "kind",
        prefix + "Value.DataType": "String",
        prefix + "Value.StringValue": value_,
    }


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll an observable condition (each check is a round trip) until a deadline."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)  # pacing between polls, not synchronisation


def of_topic(samples: Samples, name: str, topic: str, **labels: str) -> float:
    return value(samples, name, account=ACCOUNT, topic=topic, **labels)


def test_topic_subscription_and_outbox_metrics(
    client: TestClient, endpoints: Endpoints, fresh_database_url: str
) -> None:
    broker = broker_of(client)
    assert broker.topics is not None and client.portal is not None
    topics, portal = broker.topics.service, client.portal

    def create_queue(name: str) -> str:
        return portal.call(broker.service.create_queue, CALLER, name, {}, {}).arn

    def subscribe(topic_arn: str, protocol: str, endpoint: str, **attributes: str) -> None:
        portal.call(
            topics.subscribe, CALLER, topic_arn, protocol, endpoint, attributes, False, BASE_URL
        )

    def confirm(count: int) -> None:
        for _ in range(count):  # bounded: a missing confirmation raises queue.Empty
            confirmation = endpoints.confirmations.get(timeout=WAIT_SECONDS)
            arn, token = confirmation["TopicArn"], confirmation["Token"]
            portal.call(topics.confirm_subscription, arn, token)

    big_only = json.dumps({"kind": ["big"]})
    dlq = create_queue("orders-dlq")
    orders = portal.call(topics.create_topic, CALLER, "orders", {}, {}).arn
    slow = portal.call(topics.create_topic, CALLER, "slow", {}, {}).arn
    subscribe(orders, "sqs", create_queue("orders-all"), RawMessageDelivery="true")
    subscribe(orders, "sqs", create_queue("orders-big"), FilterPolicy=big_only)
    # Three quick attempts (two retries without delay), then the subscription's DLQ.
    quick = {"healthyRetryPolicy": {"numRetries": 2, "numNoDelayRetries": 2}}
    subscribe(
        orders,
        "http",
        endpoints.base + "/fail",
        FilterPolicy=big_only,
        DeliveryPolicy=json.dumps(quick),
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq}),
    )
    subscribe(orders, "http", endpoints.base + "/ok")
    # One attempt, then a retry ten minutes later: the delivery stays in the outbox.
    later = {"healthyRetryPolicy": {"numRetries": 1, "minDelayTarget": 600, "maxDelayTarget": 600}}
    subscribe(slow, "http", endpoints.base + "/fail", DeliveryPolicy=json.dumps(later))
    confirm(3)

    sns(client, "Publish", TopicArn=orders, Message="one big", **kind(1, "big"))
    batch = {"TopicArn": orders}
    for number in (1, 2):
        member = f"PublishBatchRequestEntries.member.{number}."
        batch[member + "Id"] = f"e{number}"
        batch[member + "Message"] = f"small {number}"
        batch.update({member + k: v for k, v in kind(1, "small").items()})
    assert sns(client, "PublishBatch", **batch).count("<MessageId>") == 2
    sns(client, "Publish", TopicArn=slow, Message="to a failing endpoint")

    def settled() -> bool:
        samples = scrape(client)
        figures = (
            (samples, "broker_subscription_messages_delivered_total", "orders", "http", 3),
            (samples, "broker_subscription_messages_dead_lettered_total", "orders", None, 1),
            (samples, "broker_subscription_delivery_retries_total", "slow", "http", 1),
        )
        for found, name, topic, protocol, expected in figures:
            labels = {"account": ACCOUNT, "topic": topic}
            if protocol:
                labels["protocol"] = protocol
            key = (name, frozenset(labels.items()))
            if found.get(key) != expected:
                return False
        return True

    wait_until(settled, "the deliveries to settle")
    # Freeze the outbox: no deliverer runs from here on.
    portal.call(broker.topics.deliverer.stop)
    # A confirmation nobody delivers: due. The slow topic's notification: scheduled.
    subscribe(slow, "http", endpoints.base + "/pending")
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE broker.deliveries SET created_at = now() - interval '100 seconds' "
            "WHERE message_type = 'Notification'"
        )
    portal.call(broker.queue_gauges.refresh)  # one gauge collection

    samples = scrape(client)

    def published(topic: str) -> float:
        return of_topic(samples, "broker_topic_messages_published_total", topic)

    def delivered(topic: str, protocol: str) -> float:
        name = "broker_subscription_messages_delivered_total"
        return of_topic(samples, name, topic, protocol=protocol)

    def failures(topic: str, protocol: str) -> float:
        name = "broker_subscription_delivery_failures_total"
        return of_topic(samples, name, topic, protocol=protocol)

    def retries(topic: str, protocol: str) -> float:
        name = "broker_subscription_delivery_retries_total"
        return of_topic(samples, name, topic, protocol=protocol)

    def filtered_out(topic: str) -> float:
        return of_topic(samples, "broker_subscription_messages_filtered_out_total", topic)

    def dead_lettered(topic: str) -> float:
        return of_topic(samples, "broker_subscription_messages_dead_lettered_total", topic)

    assert published("orders") == 3
    assert delivered("orders", "sqs") == 4  # orders-all 3, orders-big 1
    assert delivered("orders", "http") == 3  # /ok; the confirmations are not counted
    assert delivered("orders", "https") == 0
    assert filtered_out("orders") == 4  # the two small ones, by orders-big and by /fail
    assert failures("orders", "http") == 3  # the big one, three times
    assert retries("orders", "http") == 2
    assert dead_lettered("orders") == 1
    assert failures("orders", "sqs") == retries("orders", "sqs") == 0

    assert published("slow") == 1
    assert failures("slow", "http") == 1
    assert retries("slow", "http") == 1
    assert dead_lettered("slow") == 0
    assert delivered("slow", "http") == filtered_out("slow") == 0

    assert endpoints.notifications == {"/ok": 3, "/fail": 4}
    assert value(samples, "broker_outbox_messages", state="due") == 1
    assert value(samples, "broker_outbox_messages", state="scheduled") == 1
    assert 100 <= value(samples, "broker_outbox_oldest_message_age_seconds") < 160
    dlq_depth = value(
        samples, "broker_queue_messages", account=ACCOUNT, queue="orders-dlq", state="visible"
    )
    assert dlq_depth == 1
    assert value(samples, "broker_queue_gauges_refresh_failures_total") == 0

    exported = {name for name, _ in samples}
    assert {family.name for family in FAMILIES} >= TOPIC_FAMILIES
    for family in FAMILIES:
        if family.name in TOPIC_FAMILIES:
            assert set(family.series) & exported, f"{family.name} is not exported"
    # Labelled by topic, never by subscription: three subscriptions of orders, one series each.
    assert not any("subscription" in dict(labels) for _, labels in samples)


def test_fifo_duplicates_count_as_published_but_are_not_delivered_again(
    client: TestClient,
) -> None:
    broker = broker_of(client)
    assert broker.topics is not None and client.portal is not None
    topics, portal = broker.topics.service, client.portal
    topic = portal.call(
        topics.create_topic,
        CALLER,
        "events.fifo",
        {"FifoTopic": "true", "ContentBasedDeduplication": "true"},
        {},
    )
    for name, policy in (("events-all.fifo", ""), ("events-big.fifo", '{"kind": ["big"]}')):
        fifo = {"FifoQueue": "true"}
        target = portal.call(broker.service.create_queue, CALLER, name, fifo, {})
        attributes = {"FilterPolicy": policy} if policy else {}
        portal.call(
            topics.subscribe, CALLER, topic.arn, "sqs", target.arn, attributes, False, BASE_URL
        )
    small = {"kind": MessageAttributeValue("String", string_value="small")}
    entry = PublishEntry(message="same", attributes=small, group_id="g")
    first = portal.call(topics.publish, CALLER, topic.arn, entry, BASE_URL)
    again = portal.call(topics.publish, CALLER, topic.arn, entry, BASE_URL)
    assert again.message_id == first.message_id

    samples = scrape(client)
    assert of_topic(samples, "broker_topic_messages_published_total", "events.fifo") == 2
    name = "broker_subscription_messages_delivered_total"
    assert of_topic(samples, name, "events.fifo", protocol="sqs") == 1
    name = "broker_subscription_messages_filtered_out_total"
    assert of_topic(samples, name, "events.fifo") == 1
