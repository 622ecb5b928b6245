"""FIFO queues through boto3 against a real broker: order within a group, group blocking,
deduplication by id and by content, sequence numbers and the FIFO-only parameter rules."""

from __future__ import annotations

from typing import Any

import pytest
from accept_support import error_code, md5_of_body
from botocore.exceptions import ClientError


@pytest.fixture
def fifo_url(sqs: Any, queue_name: str) -> str:
    return sqs.create_queue(
        QueueName=queue_name + ".fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "600"},
    )["QueueUrl"]


@pytest.fixture
def content_fifo_url(sqs: Any, queue_name: str) -> str:
    return sqs.create_queue(
        QueueName=queue_name + "-cbd.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]


def send(sqs: Any, url: str, body: str, group: str, dedup: str | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"QueueUrl": url, "MessageBody": body, "MessageGroupId": group}
    kwargs["MessageDeduplicationId"] = dedup if dedup is not None else body
    return sqs.send_message(**kwargs)


def receive(sqs: Any, url: str, count: int = 10, **kwargs: Any) -> list[dict[str, Any]]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=count, **kwargs).get(
        "Messages", []
    )


def delete(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_messages_of_a_group_are_delivered_in_send_order(sqs: Any, fifo_url: str):
    bodies = [f"m{i:02d}" for i in range(25)]
    for body in bodies:
        send(sqs, fifo_url, body, "g")
    received: list[str] = []
    while len(received) < len(bodies):
        batch = receive(sqs, fifo_url)
        assert batch, f"nothing more after {received}"
        received.extend(m["Body"] for m in batch)
        delete(sqs, fifo_url, batch)
    assert received == bodies


def test_send_returns_increasing_sequence_numbers(sqs: Any, fifo_url: str):
    numbers = [int(send(sqs, fifo_url, f"m{i}", "g")["SequenceNumber"]) for i in range(5)]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 5
    sent = send(sqs, fifo_url, "other group", "h", dedup="other")
    assert int(sent["SequenceNumber"]) > numbers[-1]
    assert sent["MD5OfMessageBody"] == md5_of_body("other group")


def test_received_fifo_messages_carry_group_dedup_and_sequence_attributes(sqs: Any, fifo_url: str):
    sent = send(sqs, fifo_url, "body", "group-1", dedup="dedup-1")
    [message] = receive(sqs, fifo_url, MessageSystemAttributeNames=["All"])
    attributes = message["Attributes"]
    assert attributes["MessageGroupId"] == "group-1"
    assert attributes["MessageDeduplicationId"] == "dedup-1"
    assert attributes["SequenceNumber"] == sent["SequenceNumber"]
    assert attributes["ApproximateReceiveCount"] == "1"


def test_a_group_with_a_message_in_flight_is_blocked(sqs: Any, fifo_url: str):
    for body in ("a1", "a2", "a3"):
        send(sqs, fifo_url, body, "A")
    send(sqs, fifo_url, "b1", "B")
    [first] = receive(sqs, fifo_url, count=1)
    assert first["Body"] == "a1"
    # a2 waits for a1; group B is free.
    assert [m["Body"] for m in receive(sqs, fifo_url)] == ["b1"]
    assert receive(sqs, fifo_url) == []
    delete(sqs, fifo_url, [first])
    assert [m["Body"] for m in receive(sqs, fifo_url)] == ["a2", "a3"]


def test_a_group_is_unblocked_when_its_message_becomes_visible_again(sqs: Any, fifo_url: str):
    send(sqs, fifo_url, "a1", "A")
    send(sqs, fifo_url, "a2", "A")
    [first] = receive(sqs, fifo_url, count=1)
    sqs.change_message_visibility(
        QueueUrl=fifo_url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    # Redelivered first, still in order.
    assert [m["Body"] for m in receive(sqs, fifo_url)] == ["a1", "a2"]


def test_a_duplicate_deduplication_id_is_accepted_but_not_delivered(sqs: Any, fifo_url: str):
    first = send(sqs, fifo_url, "original", "g", dedup="same-id")
    again = send(sqs, fifo_url, "a different body", "g", dedup="same-id")
    assert again["MessageId"] == first["MessageId"]
    messages = receive(sqs, fifo_url)
    assert [m["Body"] for m in messages] == ["original"]
    delete(sqs, fifo_url, messages)
    # Still deduplicated after the original was deleted.
    send(sqs, fifo_url, "third try", "g", dedup="same-id")
    assert receive(sqs, fifo_url) == []


def test_content_based_deduplication_drops_an_identical_body(sqs: Any, content_fifo_url: str):
    url = content_fifo_url
    first = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    again = sqs.send_message(QueueUrl=url, MessageBody="same body", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="other body", MessageGroupId="g")
    # An explicit id overrides the content hash.
    sqs.send_message(
        QueueUrl=url, MessageBody="same body", MessageGroupId="g", MessageDeduplicationId="x"
    )
    assert again["MessageId"] == first["MessageId"]
    assert [m["Body"] for m in receive(sqs, url)] == ["same body", "other body", "same body"]


def test_send_without_message_group_id_fails_with_missing_parameter(sqs: Any, fifo_url: str):
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=fifo_url, MessageBody="x", MessageDeduplicationId="d")
    assert error_code(caught.value) == "MissingParameter"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_send_without_deduplication_id_or_content_deduplication_is_refused(sqs: Any, fifo_url: str):
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=fifo_url, MessageBody="x", MessageGroupId="g")
    assert error_code(caught.value) == "InvalidParameterValue"


def test_per_message_delay_on_a_fifo_queue_is_refused(sqs: Any, fifo_url: str):
    with pytest.raises(ClientError) as caught:
        sqs.send_message(
            QueueUrl=fifo_url,
            MessageBody="x",
            MessageGroupId="g",
            MessageDeduplicationId="d",
            DelaySeconds=5,
        )
    assert error_code(caught.value) == "InvalidParameterValue"


def test_a_batch_keeps_its_order_and_reports_missing_group_ids(sqs: Any, fifo_url: str):
    result = sqs.send_message_batch(
        QueueUrl=fifo_url,
        Entries=[
            {"Id": "e0", "MessageBody": "b0", "MessageGroupId": "g", "MessageDeduplicationId": "0"},
            {"Id": "e1", "MessageBody": "b1", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
            {"Id": "nogroup", "MessageBody": "b?", "MessageDeduplicationId": "2"},
            {"Id": "e3", "MessageBody": "b3", "MessageGroupId": "g", "MessageDeduplicationId": "3"},
        ],
    )
    successful = {e["Id"]: e for e in result["Successful"]}
    assert set(successful) == {"e0", "e1", "e3"}
    sequence = [int(successful[i]["SequenceNumber"]) for i in ("e0", "e1", "e3")]
    assert sequence == sorted(sequence)
    [failure] = result["Failed"]
    assert failure["Id"] == "nogroup"
    assert failure["Code"] == "MissingParameter"
    assert failure["SenderFault"] is True
    assert [m["Body"] for m in receive(sqs, fifo_url)] == ["b0", "b1", "b3"]


def test_a_receive_request_attempt_id_retry_returns_the_same_messages(sqs: Any, fifo_url: str):
    for body in ("r1", "r2"):
        send(sqs, fifo_url, body, "g")
    first = receive(sqs, fifo_url, ReceiveRequestAttemptId="attempt-1")
    retry = receive(sqs, fifo_url, ReceiveRequestAttemptId="attempt-1")
    assert [m["Body"] for m in first] == ["r1", "r2"]
    assert [m["MessageId"] for m in retry] == [m["MessageId"] for m in first]
    assert [m["ReceiptHandle"] for m in retry] == [m["ReceiptHandle"] for m in first]
    delete(sqs, fifo_url, retry)
    assert receive(sqs, fifo_url) == []


def test_fifo_attributes_on_a_standard_queue_are_refused(sqs: Any, queue_name: str):
    with pytest.raises(ClientError) as caught:
        sqs.create_queue(QueueName=queue_name, Attributes={"ContentBasedDeduplication": "true"})
    assert error_code(caught.value) == "InvalidAttributeName"
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d")
    assert error_code(caught.value) == "InvalidParameterValue"
