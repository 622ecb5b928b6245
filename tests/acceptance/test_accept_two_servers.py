"""Two broker processes on one database, driven by boto3.

Both run with a 60 s fallback poll interval, so a waiting receive on one process can only learn
of a message sent through the other by the PostgreSQL NOTIFY wake-up path within a 20 s wait.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections import defaultdict
from typing import Any

import pytest
from accept_support import BrokerProcess, StartBroker, make_sqs_client

NO_FALLBACK_POLL = {"BROKER_POLL_INTERVAL_SECONDS": "60"}


@pytest.fixture(scope="module")
def servers(start_broker: StartBroker, database_url: str) -> tuple[BrokerProcess, BrokerProcess]:
    return start_broker(database_url, NO_FALLBACK_POLL), start_broker(
        database_url, NO_FALLBACK_POLL
    )


@pytest.fixture(scope="module")
def sqs_a(servers: tuple[BrokerProcess, BrokerProcess]) -> Any:
    return make_sqs_client(servers[0].url)


@pytest.fixture(scope="module")
def sqs_b(servers: tuple[BrokerProcess, BrokerProcess]) -> Any:
    return make_sqs_client(servers[1].url)


def test_a_long_poll_on_one_server_returns_a_message_sent_through_the_other(
    sqs_a: Any, sqs_b: Any, queue_name: str
):
    url = sqs_a.create_queue(QueueName=queue_name)["QueueUrl"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(sqs_a.receive_message, QueueUrl=url, WaitTimeSeconds=20)
        # The receive on A is observably waiting before B gets the message.
        done, _ = concurrent.futures.wait([pending], timeout=1.0)
        assert not done, f"the long poll returned early: {pending.result()}"
        sent_at = time.monotonic()
        sent = sqs_b.send_message(QueueUrl=url, MessageBody="across processes")
        response = pending.result(timeout=25)
        latency = time.monotonic() - sent_at
    assert [m["MessageId"] for m in response.get("Messages", [])] == [sent["MessageId"]]
    assert latency < 5, f"the wake-up took {latency:.1f} s: the NOTIFY path did not deliver it"


def test_a_receipt_handle_from_one_server_works_on_the_other(
    sqs_a: Any, sqs_b: Any, queue_name: str
):
    url = sqs_a.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs_a.send_message(QueueUrl=url, MessageBody="one")
    sqs_a.send_message(QueueUrl=url, MessageBody="two")
    received = sqs_a.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=600)
    first, second = received["Messages"]
    sqs_b.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    sqs_b.change_message_visibility(
        QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0
    )
    [again] = sqs_b.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert again["MessageId"] == second["MessageId"]
    with pytest.raises(sqs_b.exceptions.ReceiptHandleIsInvalid):
        sqs_b.delete_message(QueueUrl=url, ReceiptHandle="garbage")


def test_a_send_through_another_process_right_after_a_queue_is_recreated_is_not_lost(
    sqs_a: Any, sqs_b: Any, queue_name: str
):
    # These servers run with the re-create cooldown off (as the other acceptance modules do).
    url = sqs_a.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs_b.send_message(QueueUrl=url, MessageBody="old queue")  # B now knows the queue
    sqs_a.delete_queue(QueueUrl=url)
    assert sqs_a.create_queue(QueueName=queue_name)["QueueUrl"] == url
    try:
        sent = sqs_b.send_message(QueueUrl=url, MessageBody="new queue")
    except sqs_b.exceptions.QueueDoesNotExist:
        return  # refusing the send is fine too; acknowledging and dropping it is not
    received = sqs_a.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2)
    assert [m["MessageId"] for m in received.get("Messages", [])] == [sent["MessageId"]], (
        "the send was acknowledged but the message is not in the re-created queue"
    )


GROUPS = 5
PER_GROUP = 40
CONSUMERS_PER_SERVER = 4
DRAIN_DEADLINE_SECONDS = 60


def test_fifo_order_holds_with_concurrent_consumers_on_two_servers(
    servers: tuple[BrokerProcess, BrokerProcess], sqs_a: Any, sqs_b: Any, queue_name: str
):
    url = sqs_a.create_queue(
        QueueName=queue_name + ".fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "120"},
    )["QueueUrl"]
    sent: dict[str, list[str]] = defaultdict(list)
    # Interleave the groups; batches alternate between the servers.
    pending = [(f"g{g}", f"g{g}-{i:03d}") for i in range(PER_GROUP) for g in range(GROUPS)]
    for start in range(0, len(pending), 10):
        client = sqs_a if (start // 10) % 2 == 0 else sqs_b
        chunk = pending[start : start + 10]
        result = client.send_message_batch(
            QueueUrl=url,
            Entries=[
                {
                    "Id": f"e{n}",
                    "MessageBody": body,
                    "MessageGroupId": group,
                    "MessageDeduplicationId": body,
                }
                for n, (group, body) in enumerate(chunk)
            ],
        )
        assert not result.get("Failed"), result["Failed"]
        for group, body in chunk:
            sent[group].append(body)

    total = GROUPS * PER_GROUP
    lock = threading.Lock()
    delivered: list[tuple[str, str, str]] = []  # (group, body, message id) in delivery order
    by_server: dict[str, int] = defaultdict(int)
    deleted = [0]
    errors: list[BaseException] = []
    deadline = time.monotonic() + DRAIN_DEADLINE_SECONDS

    def consume(endpoint: str) -> None:
        client = make_sqs_client(endpoint)
        try:
            while time.monotonic() < deadline:
                with lock:
                    if deleted[0] >= total:
                        return
                messages = client.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                    MessageSystemAttributeNames=["MessageGroupId"],
                ).get("Messages", [])
                if not messages:
                    continue
                # Recorded before the delete: a group's next message cannot be handed out
                # before this one is deleted, so this list is in delivery order per group.
                with lock:
                    delivered.extend(
                        (m["Attributes"]["MessageGroupId"], m["Body"], m["MessageId"])
                        for m in messages
                    )
                    by_server[endpoint] += len(messages)
                result = client.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(messages)
                    ],
                )
                assert not result.get("Failed"), result["Failed"]
                with lock:
                    deleted[0] += len(messages)
        except BaseException as exc:
            errors.append(exc)
            raise

    endpoints = [s.url for s in servers for _ in range(CONSUMERS_PER_SERVER)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
        futures = [pool.submit(consume, endpoint) for endpoint in endpoints]
        concurrent.futures.wait(futures, timeout=DRAIN_DEADLINE_SECONDS + 30)
    assert not errors, errors

    ids = [message_id for _, _, message_id in delivered]
    assert len(ids) == len(set(ids)), "a message was delivered twice"
    assert len(delivered) == total, f"{len(delivered)} of {total} delivered before the deadline"
    received: dict[str, list[str]] = defaultdict(list)
    for group, body, _ in delivered:
        received[group].append(body)
    for group, bodies in sent.items():
        assert received[group] == bodies, f"group {group} out of order"
    assert "Messages" not in sqs_b.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    assert len(by_server) == 2, f"only one server delivered: {dict(by_server)}"


# --- every way a message becomes receivable wakes a waiting receive in another process -------

WAKE_WAIT_SECONDS = 6
WAKE_LATENCY_SECONDS = 4.0


def waiting_receive(client: Any, url: str, **kwargs: Any) -> tuple[Any, Any]:
    """Start a long poll in a thread and return (executor, future) once it is observably waiting."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    pending = pool.submit(
        client.receive_message,
        QueueUrl=url,
        WaitTimeSeconds=WAKE_WAIT_SECONDS,
        MaxNumberOfMessages=10,
        **kwargs,
    )
    done, _ = concurrent.futures.wait([pending], timeout=1.0)
    assert not done, f"the long poll returned early: {pending.result()}"
    return pool, pending


def woken_by(pool: Any, pending: Any, action: Any) -> tuple[list[dict[str, Any]], float]:
    """Run ``action``; the messages the waiting receive got and how long after ``action``."""
    with pool:
        started = time.monotonic()
        action()
        response = pending.result(timeout=WAKE_WAIT_SECONDS + 10)
        return response.get("Messages", []), time.monotonic() - started


def test_a_waiting_receive_wakes_when_another_process_makes_a_message_visible(
    sqs_a: Any, sqs_b: Any, queue_name: str
):
    url = sqs_a.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs_b.send_message(QueueUrl=url, MessageBody="in flight")
    [message] = sqs_b.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]
    pool, pending = waiting_receive(sqs_a, url)
    messages, latency = woken_by(
        pool,
        pending,
        lambda: sqs_b.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        ),
    )
    assert [m["Body"] for m in messages] == ["in flight"]
    assert latency < WAKE_LATENCY_SECONDS


def test_a_waiting_fifo_receive_wakes_when_another_process_deletes_the_blocking_message(
    sqs_a: Any, sqs_b: Any, queue_name: str
):
    url = sqs_a.create_queue(
        QueueName=queue_name + ".fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for body in ("first", "second"):
        sqs_b.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    [first] = sqs_b.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    pool, pending = waiting_receive(sqs_a, url)
    messages, latency = woken_by(
        pool,
        pending,
        lambda: sqs_b.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"]),
    )
    assert [m["Body"] for m in messages] == ["second"]
    assert latency < WAKE_LATENCY_SECONDS


def test_a_waiting_receive_wakes_when_another_process_shortens_a_visibility_timeout(
    sqs_a: Any, sqs_b: Any, queue_name: str
):
    url = sqs_a.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs_b.send_message(QueueUrl=url, MessageBody="soon visible")
    [message] = sqs_b.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]
    pool, pending = waiting_receive(sqs_a, url)
    messages, latency = woken_by(
        pool,
        pending,
        lambda: sqs_b.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=1
        ),
    )
    assert [m["Body"] for m in messages] == ["soon visible"], (
        f"the waiting receive missed a message that became visible {latency:.1f} s earlier"
    )
    assert latency < WAKE_LATENCY_SECONDS


def _dead_letter_pair(client: Any, name: str) -> tuple[str, str]:
    dlq = client.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": 1}}'
    source = client.create_queue(QueueName=name + "-src", Attributes={"RedrivePolicy": policy})[
        "QueueUrl"
    ]
    return source, dlq


def test_a_waiting_receive_on_a_dead_letter_queue_wakes_when_a_message_is_dead_lettered(
    sqs_a: Any, sqs_b: Any, queue_name: str
):
    source, dlq = _dead_letter_pair(sqs_a, queue_name)
    sqs_b.send_message(QueueUrl=source, MessageBody="poison")
    assert sqs_b.receive_message(QueueUrl=source, VisibilityTimeout=0)["Messages"]
    pool, pending = waiting_receive(sqs_a, dlq)
    # This receive finds the message past its maxReceiveCount and moves it to the DLQ.
    messages, latency = woken_by(
        pool, pending, lambda: sqs_b.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
    )
    assert [m["Body"] for m in messages] == ["poison"], (
        f"the DLQ long poll ended after {latency:.1f} s without the dead-lettered message"
    )
    assert latency < WAKE_LATENCY_SECONDS


def test_a_waiting_receive_wakes_when_a_move_task_redrives_messages_into_its_queue(
    sqs_a: Any, sqs_b: Any, queue_name: str
):
    source, dlq = _dead_letter_pair(sqs_a, queue_name)
    sqs_b.send_message(QueueUrl=source, MessageBody="redriven")
    assert sqs_b.receive_message(QueueUrl=source, VisibilityTimeout=0)["Messages"]
    assert "Messages" not in sqs_b.receive_message(QueueUrl=source)  # now in the DLQ
    dlq_arn = sqs_b.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pool, pending = waiting_receive(sqs_a, source)
    messages, latency = woken_by(
        pool, pending, lambda: sqs_b.start_message_move_task(SourceArn=dlq_arn)
    )
    # The mover runs every second (and first claims a task a second after its start).
    assert [m["Body"] for m in messages] == ["redriven"], (
        f"the long poll ended after {latency:.1f} s without the redriven message"
    )
    assert latency < WAKE_LATENCY_SECONDS
