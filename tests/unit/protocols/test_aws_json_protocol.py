"""AWS JSON request decoding and error encoding (with the SQS query-compatibility header)."""

from __future__ import annotations

import orjson
import pytest

from broker.protocols.aws import faults
from broker.protocols.aws.faults import AwsFault
from broker.protocols.aws.json_protocol import (
    JSON_1_1,
    json_error_response,
    json_response,
    parse_json_object,
)
from broker.protocols.aws.sqs.faults import QUEUE_DOES_NOT_EXIST


def test_object_body_is_decoded_and_empty_body_is_empty_object() -> None:
    assert parse_json_object(b'{"QueueUrl": "u", "MaxNumberOfMessages": 10}') == {
        "QueueUrl": "u",
        "MaxNumberOfMessages": 10,
    }
    assert parse_json_object(b"") == {}


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_invalid_or_non_object_body_is_serialization_exception(body: bytes) -> None:
    with pytest.raises(AwsFault) as raised:
        parse_json_object(body)
    assert raised.value.fault is faults.SERIALIZATION
    assert raised.value.fault.status == 400


def test_sqs_error_carries_type_message_request_id_and_query_error_header() -> None:
    response = json_error_response(
        QUEUE_DOES_NOT_EXIST,
        "The specified queue does not exist.",
        "req-1",
        query_compatible=True,
    )
    assert response.status_code == 400
    assert response.headers["x-amzn-RequestId"] == "req-1"
    assert (
        response.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    )
    assert response.headers["content-type"] == "application/x-amz-json-1.0"
    assert orjson.loads(response.body) == {
        "__type": "com.amazonaws.sqs#QueueDoesNotExist",
        "message": "The specified queue does not exist.",
    }


def test_non_query_compatible_error_has_no_query_error_header() -> None:
    response = json_error_response(faults.UNKNOWN_OPERATION, "nope", "r", JSON_1_1)
    assert "x-amzn-query-error" not in response.headers
    assert response.headers["content-type"] == JSON_1_1


def test_receiver_fault_is_reported_as_receiver() -> None:
    response = json_error_response(faults.INTERNAL_ERROR, "x", "r", query_compatible=True)
    assert response.status_code == 500
    assert response.headers["x-amzn-query-error"] == "InternalError;Receiver"


def test_success_response_has_request_id_and_json_body() -> None:
    response = json_response({"QueueUrl": "u"}, "req-2")
    assert response.headers["x-amzn-RequestId"] == "req-2"
    assert orjson.loads(response.body) == {"QueueUrl": "u"}
    assert orjson.loads(json_response(None, "r").body) == {}
