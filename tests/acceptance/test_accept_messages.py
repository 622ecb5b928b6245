"""Messages on standard queues through boto3 against a real broker: send (and the MD5 digests,
checked here because boto3 does not), batches, receive, long polling, visibility, delete, delays,
size and content limits, the queue counters, and concurrent clients."""

from __future__ import annotations

import concurrent.futures
import threading
import time
import uuid
from typing import Any

import pytest
from accept_support import (
    error_code,
    http_status,
    make_sqs_client,
    md5_of_body,
    md5_of_message_attributes,
    wait_until,
)
from botocore.exceptions import ClientError

ATTRIBUTES: dict[str, dict[str, Any]] = {
    "colour": {"DataType": "String", "StringValue": "blue ☂ and ünïcödé"},
    "count": {"DataType": "Number", "StringValue": "42"},
    "ratio": {"DataType": "Number.float", "StringValue": "4563442423554324324264524243.32543234"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary\xff"},
    "picture": {"DataType": "Binary.png", "BinaryValue": b"\x89PNG"},
    "trace.id": {"DataType": "String.custom", "StringValue": "t-1"},
    "trace.span": {"DataType": "String", "StringValue": "s-2"},
}


@pytest.fixture
def queue_url(sqs: Any, queue_name: str) -> str:
    return sqs.create_queue(QueueName=queue_name)["QueueUrl"]


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    """(visible, in flight, delayed)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        int(attributes["ApproximateNumberOfMessagesDelayed"]),
    )


def receive_all(sqs: Any, url: str, expected: int, timeout: float = 10, **kwargs: Any) -> list:
    """Receive until ``expected`` messages arrived (short polls may return fewer)."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(messages) < expected and time.monotonic() < deadline:
        response = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=min(10, expected - len(messages)), **kwargs
        )
        messages.extend(response.get("Messages", []))
    return messages


# --- the MD5 oracle itself --------------------------------------------------------------------


def test_md5_oracle_matches_the_published_vectors():
    # Reference section 3.7: vectors from npm aws-md5-of-message-attributes.
    one = {"attribName1": {"DataType": "String", "StringValue": "attribValue 1"}}
    two = {
        "customNumberTypeAttrib": {
            "DataType": "Number.float",
            "StringValue": "4563442423554324324264524243.32543234",
        }
    }
    three = {"binaryAttribute": {"DataType": "Binary", "BinaryValue": b"Hello binary world!"}}
    assert md5_of_message_attributes(one) == "19e27d4e946b072f3f58da80d94fd778"
    assert md5_of_message_attributes(two) == "9fe1b90bbd9965bdf77bac517c7d2495"
    assert md5_of_message_attributes(three) == "31a92b15d92f8db860eda32aceb656c3"
    assert md5_of_message_attributes({**one, **two, **three}) == "c932db14a896c663f83c260297d594ff"
    assert md5_of_body("hello") == "5d41402abc4b2a76b9719d911017c592"


# --- SendMessage ------------------------------------------------------------------------------


def test_send_message_returns_a_message_id_and_correct_md5s(sqs: Any, queue_url: str):
    body = 'héllo wörld 🎉 <xml> & "quotes"\n\ttabs'
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=ATTRIBUTES)
    assert uuid.UUID(sent["MessageId"])
    assert sent["MD5OfMessageBody"] == md5_of_body(body)
    assert sent["MD5OfMessageAttributes"] == md5_of_message_attributes(ATTRIBUTES)
    assert "SequenceNumber" not in sent


def test_send_message_without_attributes_has_no_attribute_md5(sqs: Any, queue_url: str):
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody="plain")
    assert sent["MD5OfMessageBody"] == md5_of_body("plain")
    assert "MD5OfMessageAttributes" not in sent


def test_send_message_with_aws_trace_header_returns_its_md5_and_delivers_it(
    sqs: Any, queue_url: str
):
    trace = {
        "AWSTraceHeader": {
            "DataType": "String",
            "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
        }
    }
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody="traced", MessageSystemAttributes=trace)
    assert sent["MD5OfMessageSystemAttributes"] == md5_of_message_attributes(trace)
    [message] = sqs.receive_message(QueueUrl=queue_url, MessageSystemAttributeNames=["All"])[
        "Messages"
    ]
    assert message["Attributes"]["AWSTraceHeader"] == trace["AWSTraceHeader"]["StringValue"]


@pytest.mark.parametrize(
    "system_attributes",
    [
        {"Other": {"DataType": "String", "StringValue": "x"}},
        {"AWSTraceHeader": {"DataType": "Binary", "BinaryValue": b"Root=1-5759e988"}},
        {"AWSTraceHeader": {"DataType": "Number", "StringValue": "1"}},
    ],
    ids=["unknown-name", "binary-trace-header", "number-trace-header"],
)
def test_send_message_with_an_unsupported_system_attribute_fails_with_invalid_parameter_value(
    sqs: Any, queue_url: str, system_attributes: dict[str, Any]
):
    # AWS: "the only supported message system attribute is AWSTraceHeader. Its type must be
    # String".
    with pytest.raises(ClientError) as caught:
        sqs.send_message(
            QueueUrl=queue_url, MessageBody="x", MessageSystemAttributes=system_attributes
        )
    assert error_code(caught.value) == "InvalidParameterValue"
    assert counts(sqs, queue_url) == (0, 0, 0)


def test_send_message_to_a_missing_queue_fails_with_queue_does_not_exist(sqs: Any, broker_url: str):
    with pytest.raises(ClientError) as caught:
        sqs.send_message(
            QueueUrl=f"{broker_url}/000000000000/nope-{uuid.uuid4().hex}", MessageBody="x"
        )
    assert error_code(caught.value) == "AWS.SimpleQueueService.NonExistentQueue"
    assert isinstance(caught.value, sqs.exceptions.QueueDoesNotExist)


def test_send_message_accepts_a_queue_url_with_any_host(sqs: Any, queue_url: str):
    account, name = queue_url.split("/")[-2:]
    foreign = f"https://sqs.eu-west-1.amazonaws.com/{account}/{name}"
    sqs.send_message(QueueUrl=foreign, MessageBody="via another host")
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert message["Body"] == "via another host"


@pytest.mark.parametrize(
    "body", ["nul \x00 char", "bell \x07", "non-character \ufffe", "escape \x1b"]
)
def test_send_message_with_invalid_characters_fails_with_invalid_message_contents(
    sqs: Any, queue_url: str, body: str
):
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    assert error_code(caught.value) == "InvalidMessageContents"
    assert isinstance(caught.value, sqs.exceptions.InvalidMessageContents)
    assert http_status(caught.value) == 400


def test_send_message_with_an_empty_body_is_refused(sqs: Any, queue_url: str):
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=queue_url, MessageBody="")
    assert error_code(caught.value) in {"MissingParameter", "InvalidParameterValue"}
    assert http_status(caught.value) == 400


def test_message_size_limit_follows_maximum_message_size(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"MaximumMessageSize": "1024"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="x" * 1024)
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 1025)
    assert error_code(caught.value) == "InvalidParameterValue"
    assert http_status(caught.value) == 400
    # Multi-byte characters count as their UTF-8 bytes.
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="é" * 513)
    # Attributes count toward the size (name + type + value).
    with pytest.raises(ClientError) as caught:
        sqs.send_message(
            QueueUrl=url,
            MessageBody="x" * 1000,
            MessageAttributes={"attr": {"DataType": "String", "StringValue": "y" * 20}},
        )
    assert error_code(caught.value) == "InvalidParameterValue"


def test_a_one_mebibyte_message_round_trips(sqs: Any, queue_url: str):
    body = "€" * (1_048_576 // 3)  # 3 bytes each, just under 1 MiB of UTF-8
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    assert sent["MD5OfMessageBody"] == md5_of_body(body)
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == md5_of_body(body)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AWS.reserved", {"DataType": "String", "StringValue": "x"}),
        (".leading", {"DataType": "String", "StringValue": "x"}),
        ("double..dot", {"DataType": "String", "StringValue": "x"}),
        ("ok", {"DataType": "Integer", "StringValue": "1"}),
        ("ok", {"DataType": "Number", "StringValue": "not a number"}),
        ("ok", {"DataType": "String", "StringValue": ""}),
    ],
)
def test_send_message_with_an_invalid_attribute_fails_with_invalid_parameter_value(
    sqs: Any, queue_url: str, name: str, value: dict[str, Any]
):
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=queue_url, MessageBody="x", MessageAttributes={name: value})
    assert error_code(caught.value) == "InvalidParameterValue"


def test_send_message_with_more_than_ten_attributes_is_refused(sqs: Any, queue_url: str):
    attributes = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=queue_url, MessageBody="x", MessageAttributes=attributes)
    assert error_code(caught.value) == "InvalidParameterValue"


# --- SendMessageBatch -------------------------------------------------------------------------


def test_send_message_batch_reports_partial_failures(sqs: Any, queue_url: str):
    result = sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "ok-1", "MessageBody": "first", "MessageAttributes": ATTRIBUTES},
            {"Id": "bad-chars", "MessageBody": "bad \x00 body"},
            {"Id": "ok-2", "MessageBody": "second"},
            {"Id": "bad-delay", "MessageBody": "late", "DelaySeconds": 901},
        ],
    )
    assert http_status_of(result) == 200
    successful = {e["Id"]: e for e in result["Successful"]}
    failed = {e["Id"]: e for e in result["Failed"]}
    assert set(successful) == {"ok-1", "ok-2"}
    assert set(failed) == {"bad-chars", "bad-delay"}
    assert successful["ok-1"]["MD5OfMessageBody"] == md5_of_body("first")
    assert successful["ok-1"]["MD5OfMessageAttributes"] == md5_of_message_attributes(ATTRIBUTES)
    assert successful["ok-2"]["MD5OfMessageBody"] == md5_of_body("second")
    assert "MD5OfMessageAttributes" not in successful["ok-2"]
    assert uuid.UUID(successful["ok-1"]["MessageId"]) != uuid.UUID(successful["ok-2"]["MessageId"])
    assert failed["bad-chars"]["Code"] == "InvalidMessageContents"
    assert failed["bad-delay"]["Code"] == "InvalidParameterValue"
    for failure in failed.values():
        assert failure["SenderFault"] is True
        assert failure["Message"]
    bodies = sorted(m["Body"] for m in receive_all(sqs, queue_url, 2))
    assert bodies == ["first", "second"]


def http_status_of(response: dict[str, Any]) -> int:
    return int(response["ResponseMetadata"]["HTTPStatusCode"])


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([], "AWS.SimpleQueueService.EmptyBatchRequest"),
        (
            [{"Id": f"e{i}", "MessageBody": "x"} for i in range(11)],
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ),
        (
            [{"Id": "same", "MessageBody": "x"}, {"Id": "same", "MessageBody": "y"}],
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        ),
        ([{"Id": "not valid!", "MessageBody": "x"}], "AWS.SimpleQueueService.InvalidBatchEntryId"),
        ([{"Id": "x" * 81, "MessageBody": "x"}], "AWS.SimpleQueueService.InvalidBatchEntryId"),
        (
            [{"Id": f"big{i}", "MessageBody": "x" * 600_000} for i in range(2)],
            "AWS.SimpleQueueService.BatchRequestTooLong",
        ),
    ],
    ids=["empty", "too-many", "ids-not-distinct", "invalid-id", "id-too-long", "too-long"],
)
def test_send_message_batch_request_errors(
    sqs: Any, queue_url: str, entries: list[dict[str, Any]], code: str
):
    with pytest.raises(ClientError) as caught:
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    assert error_code(caught.value) == code
    assert caught.value.response["Error"]["QueryErrorCode"] == code.rsplit(".", 1)[-1]
    assert http_status(caught.value) == 400
    # A refused batch sends nothing.
    assert counts(sqs, queue_url) == (0, 0, 0)


# --- ReceiveMessage ---------------------------------------------------------------------------


def test_receive_message_returns_body_attributes_and_md5s(sqs: Any, queue_url: str):
    body = "payload ✓ 🎉 \r\n<&>"
    sent = sqs.send_message(QueueUrl=queue_url, MessageBody=body, MessageAttributes=ATTRIBUTES)
    [message] = sqs.receive_message(
        QueueUrl=queue_url, MessageAttributeNames=["All"], MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MD5OfBody"] == md5_of_body(body)
    assert message["MessageAttributes"] == ATTRIBUTES
    assert message["MD5OfMessageAttributes"] == md5_of_message_attributes(ATTRIBUTES)
    assert message["ReceiptHandle"]


def test_receive_message_without_attribute_names_returns_no_attributes(sqs: Any, queue_url: str):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x", MessageAttributes=ATTRIBUTES)
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert "MessageAttributes" not in message
    assert "MD5OfMessageAttributes" not in message
    assert "Attributes" not in message


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["trace.*"], {"trace.id", "trace.span"}),
        ([".*"], set(ATTRIBUTES)),
        (["colour", "count", "missing"], {"colour", "count"}),
        (["blob", "trace.*"], {"blob", "trace.id", "trace.span"}),
    ],
)
def test_receive_message_selects_attributes_by_name_and_prefix(
    sqs: Any, queue_url: str, names: list[str], expected: set[str]
):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x", MessageAttributes=ATTRIBUTES)
    [message] = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=names)["Messages"]
    returned = message["MessageAttributes"]
    assert set(returned) == expected
    assert returned == {k: ATTRIBUTES[k] for k in expected}
    # The digest covers the attributes returned, not all that were sent.
    assert message["MD5OfMessageAttributes"] == md5_of_message_attributes(returned)


def test_receive_message_system_attributes_all(sqs: Any, queue_url: str):
    before_ms = int(time.time() * 1000)
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = sqs.receive_message(QueueUrl=queue_url, MessageSystemAttributeNames=["All"])[
        "Messages"
    ]
    after_ms = int(time.time() * 1000)
    attributes = message["Attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert attributes["SenderId"]
    # Epoch milliseconds.
    assert before_ms - 5000 <= int(attributes["SentTimestamp"]) <= after_ms + 5000
    first = int(attributes["ApproximateFirstReceiveTimestamp"])
    assert int(attributes["SentTimestamp"]) - 5000 <= first <= after_ms + 5000
    assert "SequenceNumber" not in attributes
    assert "MessageGroupId" not in attributes


def test_receive_message_with_legacy_attribute_names(sqs: Any, queue_url: str):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"])["Messages"]
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    [again] = sqs.receive_message(
        QueueUrl=queue_url, AttributeNames=["ApproximateReceiveCount", "SentTimestamp"]
    )["Messages"]
    assert set(again["Attributes"]) == {"ApproximateReceiveCount", "SentTimestamp"}
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"


def test_receive_message_honours_max_number_of_messages(sqs: Any, queue_url: str):
    for i in range(5):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{i}")
    first = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=3)["Messages"]
    assert len(first) == 3
    default = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert len(default) == 1
    rest = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert len(rest) == 1
    bodies = sorted(m["Body"] for m in first + default + rest)
    assert bodies == [f"m{i}" for i in range(5)]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"MaxNumberOfMessages": 0},
        {"MaxNumberOfMessages": 11},
        {"WaitTimeSeconds": 21},
        {"WaitTimeSeconds": -1},
        {"VisibilityTimeout": 43201},
    ],
)
def test_receive_message_with_an_out_of_range_parameter_fails(
    sqs: Any, queue_url: str, kwargs: dict[str, int]
):
    with pytest.raises(ClientError) as caught:
        sqs.receive_message(QueueUrl=queue_url, **kwargs)
    assert error_code(caught.value) == "InvalidParameterValue"
    assert http_status(caught.value) == 400


def test_receive_message_visibility_timeout_hides_then_returns_the_message(
    sqs: Any, queue_url: str
):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [first] = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=1)["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)
    assert counts(sqs, queue_url) == (0, 1, 0)
    # A long poll returns it as soon as its visibility timeout ends.
    started = time.monotonic()
    [again] = sqs.receive_message(
        QueueUrl=queue_url, WaitTimeSeconds=10, AttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert time.monotonic() - started < 5
    assert again["MessageId"] == first["MessageId"]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"
    assert again["ReceiptHandle"] != first["ReceiptHandle"]


def test_queue_visibility_timeout_applies_when_the_receive_gives_none(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.receive_message(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
    assert [m["Body"] for m in messages] == ["x"]


def test_long_poll_on_an_empty_queue_waits_then_returns_nothing(sqs: Any, queue_url: str):
    started = time.monotonic()
    response = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)
    elapsed = time.monotonic() - started
    assert "Messages" not in response
    assert 0.9 <= elapsed < 5


def test_long_poll_returns_when_a_message_is_sent_from_another_thread(
    broker_url: str, sqs: Any, queue_url: str
):
    receiver = make_sqs_client(broker_url)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        pending = pool.submit(receiver.receive_message, QueueUrl=queue_url, WaitTimeSeconds=20)
        # The receive is observably waiting (not answered) before the send.
        done, _ = concurrent.futures.wait([pending], timeout=1.0)
        assert not done, f"the long poll returned early: {pending.result()}"
        sqs.send_message(QueueUrl=queue_url, MessageBody="wake up")
        response = pending.result(timeout=15)
        elapsed = time.monotonic() - started
    assert [m["Body"] for m in response["Messages"]] == ["wake up"]
    assert elapsed < 10, f"the long poll took {elapsed:.1f} s to see the message"


def test_queue_receive_wait_time_makes_receives_long_polls(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"ReceiveMessageWaitTimeSeconds": "1"})[
        "QueueUrl"
    ]
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert time.monotonic() - started >= 0.9
    # An explicit WaitTimeSeconds=0 overrides the queue default.
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert time.monotonic() - started < 0.9


# --- DeleteMessage / DeleteMessageBatch -------------------------------------------------------


def test_delete_message_removes_it(sqs: Any, queue_url: str):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert counts(sqs, queue_url) == (0, 0, 0)
    # Deleting twice with the same handle succeeds (AWS: idempotent).
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_a_stale_receipt_handle_does_not_delete_a_redelivered_message(sqs: Any, queue_url: str):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [first] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    [second] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert second["MessageId"] == first["MessageId"]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=first["ReceiptHandle"])
    assert counts(sqs, queue_url) == (0, 1, 0), "the stale handle deleted the message"
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=second["ReceiptHandle"])
    assert counts(sqs, queue_url) == (0, 0, 0)


@pytest.mark.parametrize("handle", ["garbage", "AQEB" + "x" * 100, "a%20b"])
def test_delete_message_with_a_garbage_handle_fails_with_receipt_handle_is_invalid(
    sqs: Any, queue_url: str, handle: str
):
    with pytest.raises(ClientError) as caught:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)
    assert error_code(caught.value) == "ReceiptHandleIsInvalid"
    assert isinstance(caught.value, sqs.exceptions.ReceiptHandleIsInvalid)
    assert http_status(caught.value) == 404


def test_a_receipt_handle_of_another_queue_is_invalid(sqs: Any, queue_url: str, queue_name: str):
    other = sqs.create_queue(QueueName=queue_name + "-other")["QueueUrl"]
    sqs.send_message(QueueUrl=other, MessageBody="x")
    [message] = sqs.receive_message(QueueUrl=other)["Messages"]
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert counts(sqs, other) == (0, 1, 0)


def test_delete_message_batch_reports_invalid_handles_per_entry(sqs: Any, queue_url: str):
    for i in range(2):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{i}")
    messages = receive_all(sqs, queue_url, 2)
    assert len(messages) == 2
    result = sqs.delete_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "a", "ReceiptHandle": messages[0]["ReceiptHandle"]},
            {"Id": "bad", "ReceiptHandle": "garbage"},
            {"Id": "b", "ReceiptHandle": messages[1]["ReceiptHandle"]},
        ],
    )
    assert {e["Id"] for e in result["Successful"]} == {"a", "b"}
    [failure] = result["Failed"]
    assert failure["Id"] == "bad"
    assert failure["Code"] == "ReceiptHandleIsInvalid"
    assert failure["SenderFault"] is True
    assert counts(sqs, queue_url) == (0, 0, 0)


@pytest.mark.parametrize(
    ("entries", "code"),
    [
        ([], "AWS.SimpleQueueService.EmptyBatchRequest"),
        (
            [{"Id": f"e{i}", "ReceiptHandle": "h"} for i in range(11)],
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ),
        (
            [{"Id": "same", "ReceiptHandle": "h"}, {"Id": "same", "ReceiptHandle": "h"}],
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        ),
        ([{"Id": "bad id", "ReceiptHandle": "h"}], "AWS.SimpleQueueService.InvalidBatchEntryId"),
    ],
    ids=["empty", "too-many", "ids-not-distinct", "invalid-id"],
)
def test_delete_message_batch_request_errors(
    sqs: Any, queue_url: str, entries: list[dict[str, Any]], code: str
):
    with pytest.raises(ClientError) as caught:
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    assert error_code(caught.value) == code


# --- ChangeMessageVisibility / Batch ----------------------------------------------------------


def test_change_message_visibility_to_zero_makes_it_visible_at_once(sqs: Any, queue_url: str):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=600)["Messages"]
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    assert counts(sqs, queue_url) == (1, 0, 0)
    [again] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert again["MessageId"] == message["MessageId"]


def test_change_message_visibility_extends_the_timeout(sqs: Any, queue_url: str):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=1)["Messages"]
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=600
    )
    # Well past the original second, it is still in flight.
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2)
    assert counts(sqs, queue_url) == (0, 1, 0)


def test_change_message_visibility_of_a_message_not_in_flight_fails_with_message_not_inflight(
    sqs: Any, queue_url: str
):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    handle = message["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    with pytest.raises(ClientError) as caught:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=30
        )
    assert error_code(caught.value) == "AWS.SimpleQueueService.MessageNotInflight"
    assert isinstance(caught.value, sqs.exceptions.MessageNotInflight)
    assert http_status(caught.value) == 400


def test_change_message_visibility_of_a_deleted_message_fails_with_invalid_parameter_value(
    sqs: Any, queue_url: str
):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    handle = message["ReceiptHandle"]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=handle)
    with pytest.raises(ClientError) as caught:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=5)
    assert error_code(caught.value) == "InvalidParameterValue"
    assert "does not exist" in caught.value.response["Error"]["Message"]


def test_change_message_visibility_with_a_garbage_handle_fails_with_receipt_handle_is_invalid(
    sqs: Any, queue_url: str
):
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle="garbage", VisibilityTimeout=10
        )


def test_change_message_visibility_out_of_range_fails_with_invalid_parameter_value(
    sqs: Any, queue_url: str
):
    sqs.send_message(QueueUrl=queue_url, MessageBody="x")
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    with pytest.raises(ClientError) as caught:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=43201
        )
    assert error_code(caught.value) == "InvalidParameterValue"


def test_change_message_visibility_batch_reports_per_entry_results(sqs: Any, queue_url: str):
    for i in range(3):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{i}")
    messages = receive_all(sqs, queue_url, 3, VisibilityTimeout=600)
    assert len(messages) == 3
    deleted = messages[2]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=deleted["ReceiptHandle"])
    result = sqs.change_message_visibility_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "zero", "ReceiptHandle": messages[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "keep", "ReceiptHandle": messages[1]["ReceiptHandle"], "VisibilityTimeout": 900},
            {"Id": "gone", "ReceiptHandle": deleted["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "junk", "ReceiptHandle": "garbage", "VisibilityTimeout": 0},
        ],
    )
    assert {e["Id"] for e in result["Successful"]} == {"zero", "keep"}
    failed = {e["Id"]: e for e in result["Failed"]}
    assert set(failed) == {"gone", "junk"}
    assert failed["junk"]["Code"] == "ReceiptHandleIsInvalid"
    # AWS: "Value ... for parameter ReceiptHandle is invalid. Reason: Message does not exist or
    # is not available for visibility timeout change."
    assert failed["gone"]["Code"] == "InvalidParameterValue"
    assert all(f["SenderFault"] is True for f in failed.values())
    assert counts(sqs, queue_url) == (1, 1, 0)
    [again] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert again["MessageId"] == messages[0]["MessageId"]


# --- delays and counters ----------------------------------------------------------------------


def test_message_delay_seconds_defers_delivery(sqs: Any, queue_url: str):
    sqs.send_message(QueueUrl=queue_url, MessageBody="later", DelaySeconds=1)
    assert counts(sqs, queue_url) == (0, 0, 1)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url)
    started = time.monotonic()
    response = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=10)
    assert [m["Body"] for m in response["Messages"]] == ["later"]
    assert time.monotonic() - started < 5


def test_queue_delay_seconds_defers_delivery_and_a_message_delay_overrides_it(
    sqs: Any, queue_name: str
):
    url = sqs.create_queue(QueueName=queue_name, Attributes={"DelaySeconds": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="queue delay")
    sqs.send_message(QueueUrl=url, MessageBody="no delay", DelaySeconds=0)
    assert counts(sqs, url) == (1, 0, 1)
    [now] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert now["Body"] == "no delay"
    response = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
    assert [m["Body"] for m in response["Messages"]] == ["queue delay"]


def test_message_delay_out_of_range_fails_with_invalid_parameter_value(sqs: Any, queue_url: str):
    with pytest.raises(ClientError) as caught:
        sqs.send_message(QueueUrl=queue_url, MessageBody="x", DelaySeconds=901)
    assert error_code(caught.value) == "InvalidParameterValue"


def test_approximate_counts_follow_sends_receives_delays_and_deletes(sqs: Any, queue_url: str):
    assert counts(sqs, queue_url) == (0, 0, 0)
    for i in range(3):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=queue_url, MessageBody="delayed", DelaySeconds=600)
    assert counts(sqs, queue_url) == (3, 0, 1)
    received = receive_all(sqs, queue_url, 2, VisibilityTimeout=600)
    assert len(received) == 2
    assert counts(sqs, queue_url) == (1, 2, 1)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=received[0]["ReceiptHandle"])
    assert counts(sqs, queue_url) == (1, 1, 1)
    sqs.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=received[1]["ReceiptHandle"], VisibilityTimeout=0
    )
    assert counts(sqs, queue_url) == (2, 0, 1)


# --- queue lifecycle with the re-create cooldown off ------------------------------------------


def test_a_deleted_queue_can_be_recreated_at_once_and_is_empty(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    sqs.delete_queue(QueueUrl=url)
    again = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    assert again == url
    assert counts(sqs, again) == (0, 0, 0)
    assert "Messages" not in sqs.receive_message(QueueUrl=again)


def test_receive_from_a_deleted_queue_fails_with_queue_does_not_exist(sqs: Any, queue_name: str):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    wait_until(
        lambda: _missing(sqs, url), timeout=5, what="the deleted queue to be reported missing"
    )


def _missing(sqs: Any, url: str) -> bool:
    try:
        sqs.receive_message(QueueUrl=url)
    except sqs.exceptions.QueueDoesNotExist:
        return True
    return False


# --- concurrent clients -----------------------------------------------------------------------
#
# Sends, receives and deletes of a standard queue that arrive together share statements inside
# the broker: every caller must still get its own, correct answer, and every message must be
# delivered exactly once.

SENDERS = 8
PER_SENDER = 30
RECEIVERS = 8
DEADLINE_SECONDS = 60


def test_concurrent_sends_each_get_their_own_message_id_and_md5(
    broker_url: str, sqs: Any, queue_name: str
):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]

    def send(sender: int) -> list[tuple[str, str]]:
        client = make_sqs_client(broker_url)
        out = []
        for i in range(PER_SENDER):
            body = f"sender {sender} message {i} " + "x" * ((sender * 7 + i) % 50)
            if i % 3 == 0:
                result = client.send_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": "a", "MessageBody": body + " a"},
                        {"Id": "b", "MessageBody": body + " b"},
                    ],
                )
                assert not result.get("Failed"), result["Failed"]
                by_id = {e["Id"]: e for e in result["Successful"]}
                for entry_id in ("a", "b"):
                    entry = by_id[entry_id]
                    assert entry["MD5OfMessageBody"] == md5_of_body(f"{body} {entry_id}")
                    out.append((entry["MessageId"], f"{body} {entry_id}"))
            else:
                sent = client.send_message(QueueUrl=url, MessageBody=body)
                assert sent["MD5OfMessageBody"] == md5_of_body(body), body
                out.append((sent["MessageId"], body))
        return out

    with concurrent.futures.ThreadPoolExecutor(max_workers=SENDERS) as pool:
        results = [f.result() for f in [pool.submit(send, s) for s in range(SENDERS)]]
    sent = {message_id: body for batch in results for message_id, body in batch}
    assert len(sent) == sum(len(batch) for batch in results), "a message id was handed out twice"

    # Every message arrives once, under the id the sender was given, with its own body.
    lock = threading.Lock()
    received: dict[str, str] = {}
    duplicates: list[str] = []
    deadline = time.monotonic() + DEADLINE_SECONDS

    def receive(receiver: int) -> None:
        client = make_sqs_client(broker_url)
        while time.monotonic() < deadline:
            with lock:
                if len(received) >= len(sent):
                    return
            messages = client.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=1 + receiver % 10,
                # Receives with different visibility timeouts cannot share a statement.
                VisibilityTimeout=300 + receiver % 2,
                WaitTimeSeconds=1,
            ).get("Messages", [])
            assert len(messages) <= 1 + receiver % 10
            with lock:
                for message in messages:
                    if message["MessageId"] in received:
                        duplicates.append(message["MessageId"])
                    received[message["MessageId"]] = message["Body"]
            for message in messages:
                assert message["MD5OfBody"] == md5_of_body(message["Body"])
            if messages:
                result = client.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(messages)
                    ],
                )
                assert not result.get("Failed"), result["Failed"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=RECEIVERS) as pool:
        for future in [pool.submit(receive, r) for r in range(RECEIVERS)]:
            future.result()
    assert not duplicates, f"delivered twice: {duplicates[:5]}"
    assert received == sent
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_concurrent_long_polls_share_out_a_burst_without_duplicates(
    broker_url: str, sqs: Any, queue_name: str
):
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    clients = [make_sqs_client(broker_url) for _ in range(RECEIVERS)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=RECEIVERS) as pool:
        waiting = [
            pool.submit(c.receive_message, QueueUrl=url, WaitTimeSeconds=3, MaxNumberOfMessages=10)
            for c in clients
        ]
        done, _ = concurrent.futures.wait(waiting, timeout=1.0)
        assert not done, "a long poll on an empty queue returned early"
        started = time.monotonic()
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": f"e{i}", "MessageBody": f"burst {i}"} for i in range(10)]
        )
        responses = [f.result(timeout=20) for f in waiting]
        elapsed = time.monotonic() - started
    got = [m for r in responses for m in r.get("Messages", [])]
    ids = [m["MessageId"] for m in got]
    assert len(ids) == len(set(ids)), "a message went to two waiting receives"
    # Waiters that got nothing waited out their 3 s.
    assert sorted(m["Body"] for m in got) == sorted(f"burst {i}" for i in range(10))
    assert elapsed < 8
