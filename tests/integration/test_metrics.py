"""/metrics of a whole app (``create_app``) against a real database, driven over SQS JSON."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import orjson
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from request_signing import Resigner

from broker.app import Broker, create_app
from broker.config import Settings
from broker.core.models import Caller, ReceiveRequest
from broker.metrics.instruments import FAMILIES
from broker.workers.janitor import Janitor

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette 1.x: its test client will move to httpx2
    from starlette.testclient import TestClient

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/sqs/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=abcdef0123"
)
ACCOUNT = "000000000000"
CALLER = Caller(access_key_id="AKIDEXAMPLE")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def app_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "pool_min_size": 1,
        "pool_max_size": 4,
        "janitor_interval_seconds": 3600.0,  # the tests drive the janitor
        "metrics_interval_seconds": 3600.0,  # and the gauge collection
        "delete_recreate_cooldown_seconds": 0,
        "root_access_key_id": "AKIDEXAMPLE",
        "root_secret_access_key": "secret",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def client(fresh_database_url: str) -> Iterator[TestClient]:
    app = create_app(app_settings(fresh_database_url), configure_logging=False)
    with TestClient(app) as client:
        client.auth = Resigner()
        yield client


def broker_of(client: TestClient) -> Broker:
    broker: Broker = client.app.state.broker  # type: ignore[attr-defined]
    return broker


def sqs(client: TestClient, action: str, status: int = 200, **params: Any) -> dict[str, Any]:
    response = client.post(
        "/",
        content=orjson.dumps(params),
        headers={
            "X-Amz-Target": f"AmazonSQS.{action}",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": AUTH,
        },
        auth=Resigner(),
    )
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json() if response.content else {}
    return result


def queue_url(client: TestClient, name: str, **attributes: str) -> str:
    url: str = sqs(client, "CreateQueue", QueueName=name, Attributes=attributes)["QueueUrl"]
    return url


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[key(name, **labels)]


def test_a_scrape_shows_every_metric_with_its_exact_value(
    client: TestClient, fresh_database_url: str
) -> None:
    orders = queue_url(client, "orders")
    idle = queue_url(client, "idle")
    queue_url(client, "jobs-dlq")
    redrive = {
        "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs-dlq",
        "maxReceiveCount": 1,
    }
    jobs = queue_url(client, "jobs", RedrivePolicy=orjson.dumps(redrive).decode())

    # orders: 5 sent and 1 delayed; 3 leased for 10 minutes, 2 of those deleted.
    entries = [{"Id": str(i), "MessageBody": f"m{i}"} for i in range(5)]
    sqs(client, "SendMessageBatch", QueueUrl=orders, Entries=entries)
    sqs(client, "SendMessage", QueueUrl=orders, MessageBody="later", DelaySeconds=900)
    leased = sqs(
        client, "ReceiveMessage", QueueUrl=orders, MaxNumberOfMessages=3, VisibilityTimeout=600
    )["Messages"]
    assert len(leased) == 3
    handles = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(leased)]
    sqs(client, "DeleteMessageBatch", QueueUrl=orders, Entries=handles[:2])
    # jobs: received once and back in view, so the next receive dead-letters it and finds none.
    sqs(client, "SendMessage", QueueUrl=jobs, MessageBody="doomed")
    assert len(sqs(client, "ReceiveMessage", QueueUrl=jobs, VisibilityTimeout=0)["Messages"]) == 1
    assert sqs(client, "ReceiveMessage", QueueUrl=jobs) == {}
    # idle: one empty receive, and one message that expires.
    assert sqs(client, "ReceiveMessage", QueueUrl=idle) == {}
    sqs(client, "SendMessage", QueueUrl=idle, MessageBody="short-lived")
    # Errors: a missing queue, an unknown action.
    sqs(client, "ReceiveMessage", status=400, QueueUrl=orders + "-missing")
    sqs(client, "Frobnicate", status=400)

    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE broker.messages SET sent_at = now() - interval '100 seconds' WHERE body = 'm4'"
        )
        conn.execute("UPDATE broker.messages SET expires_at = now() WHERE body = 'short-lived'")
    broker = broker_of(client)
    [janitor] = [w for w in broker.workers if isinstance(w, Janitor)]
    assert client.portal is not None
    client.portal.call(janitor.run_once)
    client.portal.call(broker.queue_gauges.refresh)  # one gauge collection

    samples = scrape(client)

    def of_queue(name: str, queue: str, **labels: str) -> float:
        return value(samples, name, account=ACCOUNT, queue=queue, **labels)

    assert of_queue("broker_messages_sent_total", "orders") == 6
    assert of_queue("broker_messages_received_total", "orders") == 3
    assert of_queue("broker_messages_deleted_total", "orders") == 2
    assert of_queue("broker_messages_sent_total", "jobs") == 1
    assert of_queue("broker_messages_received_total", "jobs") == 1
    assert of_queue("broker_messages_dead_lettered_total", "jobs") == 1
    assert of_queue("broker_receives_empty_total", "jobs") == 1
    assert of_queue("broker_receives_empty_total", "idle") == 1
    assert of_queue("broker_messages_sent_total", "idle") == 1
    assert of_queue("broker_messages_expired_total", "idle") == 1
    assert of_queue("broker_messages_deleted_total", "idle") == 0  # present from the first event

    assert of_queue("broker_queue_messages", "orders", state="visible") == 2
    assert of_queue("broker_queue_messages", "orders", state="in_flight") == 1
    assert of_queue("broker_queue_messages", "orders", state="delayed") == 1
    assert of_queue("broker_queue_messages", "jobs-dlq", state="visible") == 1
    for queue in ("idle", "jobs"):
        for state in ("visible", "in_flight", "delayed"):
            assert of_queue("broker_queue_messages", queue, state=state) == 0
        assert of_queue("broker_queue_oldest_message_age_seconds", queue) == 0
    assert 100 <= of_queue("broker_queue_oldest_message_age_seconds", "orders") < 160

    def requests(action: str, status: str) -> float:
        return value(
            samples,
            "broker_http_request_duration_seconds_count",
            protocol="sqs",
            action=action,
            status=status,
        )

    assert requests("CreateQueue", "200") == 4
    assert requests("SendMessageBatch", "200") == 1
    assert requests("SendMessage", "200") == 3
    assert requests("ReceiveMessage", "200") == 4
    assert requests("ReceiveMessage", "400") == 1
    assert requests("DeleteMessageBatch", "200") == 1
    assert requests("unknown", "400") == 1

    assert value(samples, "broker_long_poll_waiters") == 0
    assert value(samples, "broker_ready") == 1
    assert value(samples, "broker_db_pool_max_connections") == 4
    assert value(samples, "broker_db_pool_connections", state="waiting") == 0
    pooled = value(samples, "broker_db_pool_connections", state="idle") + value(
        samples, "broker_db_pool_connections", state="busy"
    )
    assert 1 <= pooled <= 4
    assert value(samples, "broker_queue_gauges_refreshed_timestamp_seconds") > 0
    assert value(samples, "broker_queue_gauges_refresh_failures_total") == 0

    exported = {name for name, _ in samples}
    for family in FAMILIES:
        if family.labels[:2] in (("account", "topic"), ("account", "bus")):
            # no topic nor bus here: test_topic_metrics.py and test_event_metrics.py check those
            continue
        assert set(family.series) & exported, f"{family.name} is not exported"


def test_a_single_delete_message_counts(client: TestClient) -> None:
    url = queue_url(client, "single")
    sqs(client, "SendMessage", QueueUrl=url, MessageBody="x")
    [message] = sqs(client, "ReceiveMessage", QueueUrl=url)["Messages"]
    sqs(client, "DeleteMessage", QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    samples = scrape(client)
    deleted = value(samples, "broker_messages_deleted_total", account=ACCOUNT, queue="single")
    assert deleted == 1


def test_long_poll_waiters_are_counted_while_they_wait(client: TestClient) -> None:
    url = queue_url(client, "waiting")
    assert client.portal is not None
    service = broker_of(client).service
    queue = client.portal.call(service.get_queue, CALLER, "waiting")
    waiting = client.portal.start_task_soon(
        service.receive_messages, CALLER, queue, ReceiveRequest(wait_seconds=20)
    )
    for _ in range(500):  # each scrape is a round trip through the app's event loop
        if value(scrape(client), "broker_long_poll_waiters") == 1:
            break
    assert value(scrape(client), "broker_long_poll_waiters") == 1
    sqs(client, "SendMessage", QueueUrl=url, MessageBody="wake up")
    assert len(waiting.result(timeout=10)) == 1
    assert value(scrape(client), "broker_long_poll_waiters") == 0


def test_the_scrape_negotiates_openmetrics_and_gzip(client: TestClient) -> None:
    response = client.get(
        "/metrics",
        headers={
            "Accept": "application/openmetrics-text; version=1.0.0",
            "Accept-Encoding": "gzip",
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.headers["content-encoding"] == "gzip"
    assert response.text.rstrip().endswith("# EOF")  # the client decoded the gzip body


def test_apps_in_one_process_have_their_own_registries(fresh_database_url: str) -> None:
    first = create_app(app_settings(fresh_database_url), configure_logging=False)
    second = create_app(app_settings(fresh_database_url), configure_logging=False)
    created = key(
        "broker_http_request_duration_seconds_count",
        protocol="sqs",
        action="CreateQueue",
        status="200",
    )
    with TestClient(first) as one, TestClient(second) as two:
        sqs(one, "CreateQueue", QueueName="mine")
        assert scrape(one)[created] == 1
        assert created not in scrape(two)
