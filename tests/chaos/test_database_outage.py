"""PostgreSQL stopped and started, against two broker processes on a private server.

The brokers must notice by themselves (``/readyz`` fails while the database is down), answer every
request in the meantime with a retriable error of the right protocol, reconnect their pools and
listeners (LISTEN re-armed) when it is back, and lose nothing that was acknowledged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from bench import chaos
from bench.chaos import Cluster
from bench.chaos_checker import Checker
from bench.sqs_client import ACCESS_KEY_ID, SECRET_ACCESS_KEY, SqsClient, signed_headers

OUTAGE_SECONDS = 4.0
WAKE_BOUND_SECONDS = 5.0  # the brokers' poll fallback is 60 s here: only a wake-up is this fast


def _client(service: str, endpoint: str) -> Any:
    # No retries (a 503 must reach the test) and a read timeout far below the pool's own 30 s
    # wait, so a request that waits for the pool instead of failing fast fails the test.
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(
            retries={"max_attempts": 1, "mode": "standard"}, read_timeout=10, connect_timeout=5
        ),
    )


async def test_workload_through_a_database_outage(private_cluster: Cluster) -> None:
    cluster = private_cluster
    checker = Checker()
    workload = chaos.Workload(producers=2, consumers=2, fifo_groups=3, drain_timeout=30)

    async def faults(cluster: Cluster) -> None:
        await asyncio.sleep(1.5)  # load before the fault
        await chaos.database_outage(cluster, OUTAGE_SECONDS)

    stats = await asyncio.wait_for(
        chaos.run(cluster, checker, duration=4.0, faults=faults, workload=workload),
        chaos.CI_RUN_LIMIT_SECONDS,
    )
    findings = checker.check()
    assert [f["fault"] for f in cluster.faults] == ["database stopped", "database started"]
    # While the database was down the brokers answered, and only with retriable errors.
    assert workload.failures["ServiceUnavailableException"] > 0, dict(workload.failures)
    assert workload.wrong_answers == [], workload.wrong_answers[:5]
    assert stats["drained"] == 1, (stats, findings.summary())
    assert findings.acknowledged > 100, stats
    assert findings.lost == [], findings.summary()
    assert findings.in_window_duplicates == [], findings.summary()
    assert findings.deleted_redelivered == [], findings.summary()
    assert findings.fifo_violations == [], findings.summary()


def _readyz(broker: chaos.Broker) -> dict[str, Any]:
    reply = httpx.get(broker.url + "/readyz", timeout=10)
    body: dict[str, Any] = reply.json()
    body["status"] = reply.status_code
    return body


def test_every_protocol_answers_retriably_while_the_database_is_down(
    private_cluster: Cluster,
) -> None:
    cluster = private_cluster
    broker = cluster.brokers[0]
    sqs = _client("sqs", broker.url)
    sns = _client("sns", broker.url)
    url = sqs.create_queue(QueueName="outage")["QueueUrl"]
    topic = sns.create_topic(Name="outage")["TopicArn"]
    sqs.send_message(QueueUrl=url, MessageBody="before")

    cluster.stop_database()
    cluster.wait_readiness(503, chaos.READINESS_TIMEOUT_SECONDS)
    readyz = _readyz(broker)
    assert readyz["status"] == 503
    assert readyz["checks"]["database"] is False, readyz

    # SQS over JSON (the query-compatible code boto3 reports) and over Query, SNS: the 503
    # ServiceUnavailable every AWS SDK retries, never a 4xx, a 500 or a hang.
    for call in (
        lambda: sqs.send_message(QueueUrl=url, MessageBody="during"),
        lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0),
        lambda: sns.publish(TopicArn=topic, Message="during"),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    form = b"Action=GetQueueUrl&QueueName=outage&Version=2012-11-05"
    form_type = "application/x-www-form-urlencoded"
    query = httpx.post(
        broker.url,
        content=form,
        headers=signed_headers(httpx.URL(broker.url).netloc.decode(), "sqs", form_type, form),
        timeout=10,
    )
    assert query.status_code == 503
    assert "<Code>ServiceUnavailable</Code>" in query.text
    rest = httpx.get(
        broker.url + "/v1/queues/outage",
        headers={"Authorization": f"Bearer {ACCESS_KEY_ID}:{SECRET_ACCESS_KEY}"},
        timeout=10,
    )
    assert rest.status_code == 503
    assert rest.headers["content-type"].startswith("application/problem+json")

    # Back by itself: no restart of the broker, the same clients.
    cluster.start_database()
    cluster.wait_readiness(200, chaos.READINESS_TIMEOUT_SECONDS)
    readyz = _readyz(broker)
    assert readyz["checks"] == {
        "listener": True,
        "schema": True,
        "accepting": True,
        "database": True,
    }
    sqs.send_message(QueueUrl=url, MessageBody="after")
    sns.publish(TopicArn=topic, Message="after")
    bodies = set()
    for _ in range(10):
        reply = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        bodies.update(m["Body"] for m in reply.get("Messages", []))
        if bodies == {"before", "after"}:
            break
    assert bodies == {"before", "after"}


async def _parked(port: int) -> None:
    """Poll the receiving process's waiter gauge until a long poll is parked."""
    deadline = time.monotonic() + 10
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            waiting = [
                float(line.split()[-1])
                for line in text.splitlines()
                if line.startswith("broker_long_poll_waiters")
            ]
            if waiting and waiting[0] >= 1:
                return
            assert time.monotonic() < deadline, "the long poll never parked"
            await asyncio.sleep(0.02)  # polling an observable condition


async def test_listen_is_re_armed_after_the_database_restarts(private_cluster: Cluster) -> None:
    cluster = private_cluster
    sender_port, receiver_port = cluster.ports
    sender = SqsClient("127.0.0.1", sender_port)
    url = (await sender.call("CreateQueue", {"QueueName": "rearm"}))["QueueUrl"]
    await sender.close()

    await asyncio.to_thread(cluster.stop_database)
    await asyncio.to_thread(cluster.wait_readiness, 503, chaos.READINESS_TIMEOUT_SECONDS)
    await asyncio.to_thread(cluster.start_database)
    await asyncio.to_thread(cluster.wait_readiness, 200, chaos.READINESS_TIMEOUT_SECONDS)

    # A long poll parked on one process is woken by a send through the other one: the new
    # listener connection is LISTENing again (the fallback poll is 60 s away).
    receiver = SqsClient("127.0.0.1", receiver_port)
    poll = asyncio.create_task(
        receiver.call("ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 20})
    )
    await _parked(receiver_port)
    sender = SqsClient("127.0.0.1", sender_port)
    await sender.call("SendMessage", {"QueueUrl": url, "MessageBody": "after restart"})
    sent = time.monotonic()
    reply = await asyncio.wait_for(poll, 25)
    assert [m["Body"] for m in reply["Messages"]] == ["after restart"]
    assert time.monotonic() - sent < WAKE_BOUND_SECONDS
    await sender.close()
    await receiver.close()
