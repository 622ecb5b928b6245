"""The wire formats themselves, with raw HTTP against a real broker: the AWS Query/XML protocol of
older SDKs (form POSTs signed with botocore's SigV4Auth, XML answers parsed with ElementTree), and
how the JSON 1.0 endpoint answers unknown actions and malformed requests (4xx, never 5xx)."""

from __future__ import annotations

import base64
import json
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest
from accept_support import json_post, md5_of_body, md5_of_message_attributes, query_post

MAX_REQUEST_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def broker_env() -> dict[str, str]:
    return {"BROKER_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES)}


NS = {"sqs": "http://queue.amazonaws.com/doc/2012-11-05/"}
VERSION = "2012-11-05"


def xml(response: httpx.Response) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml"), response.headers
    return ET.fromstring(response.content)


def text(element: ET.Element, path: str) -> str:
    found = element.find(path, NS)
    assert found is not None, f"no {path} in {ET.tostring(element).decode()}"
    return found.text or ""


def query(broker_url: str, action: str, path: str = "/", **params: str) -> httpx.Response:
    return query_post(broker_url + path, {"Action": action, "Version": VERSION, **params})


def query_ok(broker_url: str, action: str, path: str = "/", **params: str) -> ET.Element:
    response = query(broker_url, action, path, **params)
    assert response.status_code == 200, response.text
    root = xml(response)
    assert root.tag == f"{{{NS['sqs']}}}{action}Response"
    assert text(root, "sqs:ResponseMetadata/sqs:RequestId")
    return root


def create_queue(broker_url: str, name: str, **params: str) -> str:
    root = query_ok(broker_url, "CreateQueue", QueueName=name, **params)
    return text(root, "sqs:CreateQueueResult/sqs:QueueUrl")


# --- Query protocol ---------------------------------------------------------------------------


def test_query_create_queue_and_get_queue_attributes(broker_url: str, queue_name: str):
    url = create_queue(
        broker_url,
        queue_name,
        **{"Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "40"},
        **{"Attribute.2.Name": "DelaySeconds", "Attribute.2.Value": "0"},
    )
    assert url.endswith("/" + queue_name)
    # Idempotent.
    assert create_queue(broker_url, queue_name) == url

    root = query_ok(broker_url, "GetQueueAttributes", QueueUrl=url, **{"AttributeName.1": "All"})
    attributes = {
        text(a, "sqs:Name"): text(a, "sqs:Value")
        for a in root.findall("sqs:GetQueueAttributesResult/sqs:Attribute", NS)
    }
    assert attributes["VisibilityTimeout"] == "40"
    assert attributes["QueueArn"].endswith(":" + queue_name)
    assert attributes["ApproximateNumberOfMessages"] == "0"

    root = query_ok(broker_url, "GetQueueUrl", QueueName=queue_name)
    assert text(root, "sqs:GetQueueUrlResult/sqs:QueueUrl") == url
    root = query_ok(broker_url, "ListQueues", QueueNamePrefix=queue_name)
    assert [e.text for e in root.findall("sqs:ListQueuesResult/sqs:QueueUrl", NS)] == [url]


def test_query_send_receive_and_delete_with_message_attributes(broker_url: str, queue_name: str):
    url = create_queue(broker_url, queue_name)
    blob = b"\x00\x01\x02binary"
    attributes: dict[str, dict[str, Any]] = {
        "colour": {"DataType": "String", "StringValue": "vert & <rouge>"},
        "count": {"DataType": "Number", "StringValue": "7"},
        "blob": {"DataType": "Binary", "BinaryValue": blob},
    }
    body = "query body — ünïcode & <tags>"
    root = query_ok(
        broker_url,
        "SendMessage",
        QueueUrl=url,
        MessageBody=body,
        **{
            "MessageAttribute.1.Name": "colour",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "vert & <rouge>",
            "MessageAttribute.2.Name": "count",
            "MessageAttribute.2.Value.DataType": "Number",
            "MessageAttribute.2.Value.StringValue": "7",
            "MessageAttribute.3.Name": "blob",
            "MessageAttribute.3.Value.DataType": "Binary",
            "MessageAttribute.3.Value.BinaryValue": base64.b64encode(blob).decode(),
        },
    )
    result = root.find("sqs:SendMessageResult", NS)
    assert result is not None
    message_id = text(result, "sqs:MessageId")
    assert text(result, "sqs:MD5OfMessageBody") == md5_of_body(body)
    assert text(result, "sqs:MD5OfMessageAttributes") == md5_of_message_attributes(attributes)

    root = query_ok(
        broker_url,
        "ReceiveMessage",
        QueueUrl=url,
        **{"AttributeName.1": "All", "MessageAttributeName.1": "All"},
    )
    [message] = root.findall("sqs:ReceiveMessageResult/sqs:Message", NS)
    assert text(message, "sqs:MessageId") == message_id
    assert text(message, "sqs:Body") == body
    assert text(message, "sqs:MD5OfBody") == md5_of_body(body)
    assert text(message, "sqs:MD5OfMessageAttributes") == md5_of_message_attributes(attributes)
    system = {
        text(a, "sqs:Name"): text(a, "sqs:Value") for a in message.findall("sqs:Attribute", NS)
    }
    assert system["ApproximateReceiveCount"] == "1"
    assert int(system["SentTimestamp"]) > 1_600_000_000_000
    received: dict[str, dict[str, Any]] = {}
    for item in message.findall("sqs:MessageAttribute", NS):
        value = item.find("sqs:Value", NS)
        assert value is not None
        data_type = text(value, "sqs:DataType")
        if data_type == "Binary":
            received[text(item, "sqs:Name")] = {
                "DataType": data_type,
                "BinaryValue": base64.b64decode(text(value, "sqs:BinaryValue")),
            }
        else:
            received[text(item, "sqs:Name")] = {
                "DataType": data_type,
                "StringValue": text(value, "sqs:StringValue"),
            }
    assert received == attributes

    handle = text(message, "sqs:ReceiptHandle")
    root = query_ok(broker_url, "DeleteMessage", QueueUrl=url, ReceiptHandle=handle)
    assert root.find("sqs:DeleteMessageResult", NS) is None
    root = query_ok(
        broker_url,
        "GetQueueAttributes",
        QueueUrl=url,
        **{
            "AttributeName.1": "ApproximateNumberOfMessages",
            "AttributeName.2": "ApproximateNumberOfMessagesNotVisible",
        },
    )
    counts = {
        text(a, "sqs:Name"): text(a, "sqs:Value")
        for a in root.findall("sqs:GetQueueAttributesResult/sqs:Attribute", NS)
    }
    assert counts == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


def test_query_receive_on_an_empty_queue_has_an_empty_result(broker_url: str, queue_name: str):
    url = create_queue(broker_url, queue_name)
    root = query_ok(broker_url, "ReceiveMessage", QueueUrl=url)
    result = root.find("sqs:ReceiveMessageResult", NS)
    assert result is not None
    assert result.findall("sqs:Message", NS) == []


def test_query_send_message_batch_reports_the_failed_entry(broker_url: str, queue_name: str):
    url = create_queue(broker_url, queue_name)
    root = query_ok(
        broker_url,
        "SendMessageBatch",
        QueueUrl=url,
        **{
            "SendMessageBatchRequestEntry.1.Id": "good",
            "SendMessageBatchRequestEntry.1.MessageBody": "fine",
            "SendMessageBatchRequestEntry.2.Id": "bad",
            "SendMessageBatchRequestEntry.2.MessageBody": "nul \x00 inside",
            "SendMessageBatchRequestEntry.3.Id": "late",
            "SendMessageBatchRequestEntry.3.MessageBody": "later",
            "SendMessageBatchRequestEntry.3.DelaySeconds": "1",
        },
    )
    result = root.find("sqs:SendMessageBatchResult", NS)
    assert result is not None
    successes = {
        text(e, "sqs:Id"): e for e in result.findall("sqs:SendMessageBatchResultEntry", NS)
    }
    assert set(successes) == {"good", "late"}
    assert text(successes["good"], "sqs:MD5OfMessageBody") == md5_of_body("fine")
    assert text(successes["good"], "sqs:MessageId")
    [failure] = result.findall("sqs:BatchResultErrorEntry", NS)
    assert text(failure, "sqs:Id") == "bad"
    assert text(failure, "sqs:Code") == "InvalidMessageContents"
    assert text(failure, "sqs:SenderFault") == "true"
    assert text(failure, "sqs:Message")


def test_query_error_is_an_xml_error_response_with_the_legacy_code(
    broker_url: str, queue_name: str
):
    response = query(broker_url, "GetQueueUrl", QueueName=queue_name)
    assert response.status_code == 400
    root = xml(response)
    assert root.tag == f"{{{NS['sqs']}}}ErrorResponse"
    assert text(root, "sqs:Error/sqs:Type") == "Sender"
    assert text(root, "sqs:Error/sqs:Code") == "AWS.SimpleQueueService.NonExistentQueue"
    assert text(root, "sqs:Error/sqs:Message")
    assert text(root, "sqs:RequestId")


@pytest.mark.parametrize(
    ("action", "params", "status", "code"),
    [
        ("NoSuchAction", {}, 400, "InvalidAction"),
        ("SendMessage", {"QueueUrl": "URL"}, 400, "MissingParameter"),
        (
            "DeleteMessage",
            {"QueueUrl": "URL", "ReceiptHandle": "junk"},
            404,
            "ReceiptHandleIsInvalid",
        ),
        (
            "ReceiveMessage",
            {"QueueUrl": "URL", "MaxNumberOfMessages": "ten"},
            400,
            "InvalidParameterValue",
        ),
        ("PurgeQueue", {"QueueUrl": "URL"}, 200, None),
        ("PurgeQueue", {"QueueUrl": "URL"}, 403, "AWS.SimpleQueueService.PurgeQueueInProgress"),
    ],
    ids=["unknown-action", "missing-body", "bad-handle", "bad-integer", "purge", "purge-again"],
)
def test_query_errors_carry_code_and_http_status(
    broker_url: str, action: str, params: dict[str, str], status: int, code: str | None
):
    # One queue for the whole table, so the second purge meets the first's cooldown.
    url = create_queue(broker_url, "query-errors-" + RUN_ID)
    filled = {k: (url if v == "URL" else v) for k, v in params.items()}
    response = query(broker_url, action, **filled)
    assert response.status_code == status, response.text
    if code is not None:
        assert text(xml(response), "sqs:Error/sqs:Code") == code


RUN_ID = uuid.uuid4().hex[:8]


def test_query_post_to_the_queue_url_path_needs_no_queue_url(broker_url: str, queue_name: str):
    url = create_queue(broker_url, queue_name)
    path = "/" + "/".join(url.split("/")[-2:])
    root = query_ok(broker_url, "SendMessage", path=path, MessageBody="to the path")
    assert text(root, "sqs:SendMessageResult/sqs:MD5OfMessageBody") == md5_of_body("to the path")
    root = query_ok(broker_url, "ReceiveMessage", path=path)
    [message] = root.findall("sqs:ReceiveMessageResult/sqs:Message", NS)
    assert text(message, "sqs:Body") == "to the path"
    root = query_ok(broker_url, "GetQueueAttributes", path=path, **{"AttributeName.1": "QueueArn"})
    [attribute] = root.findall("sqs:GetQueueAttributesResult/sqs:Attribute", NS)
    assert text(attribute, "sqs:Value").endswith(":" + queue_name)


# --- JSON 1.0 protocol edge cases -------------------------------------------------------------


def json_error(response: httpx.Response) -> tuple[str, str]:
    """(``__type`` without namespace, legacy code from ``x-amzn-query-error``)."""
    body = response.json()
    legacy = response.headers.get("x-amzn-query-error", "").split(";")[0]
    return body["__type"].split("#")[-1], legacy


def test_an_unknown_json_action_is_a_client_error(broker_url: str):
    response = json_post(broker_url + "/", "AmazonSQS.NoSuchAction", b"{}")
    assert response.status_code == 400, response.text
    shape, legacy = json_error(response)
    assert shape.startswith("UnknownOperation") or shape == "InvalidAction"
    assert legacy == "InvalidAction"
    assert response.headers["x-amzn-query-error"].endswith(";Sender")
    assert response.headers["x-amzn-RequestId"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"QueueName": "x"', b"[1, 2]", b'"just a string"', b"\xff\xfe"],
    ids=["garbage", "truncated", "array", "string", "not-utf8"],
)
def test_a_malformed_json_body_is_a_400_not_a_500(broker_url: str, body: bytes):
    response = json_post(broker_url + "/", "AmazonSQS.CreateQueue", body)
    assert response.status_code == 400, response.text
    shape, _ = json_error(response)
    assert "Serialization" in shape or "InvalidParameter" in shape, shape


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({}, "MissingParameter"),
        ({"QueueName": 42}, "InvalidParameterValue"),
        ({"QueueName": "ok-name", "Attributes": {"DelaySeconds": 5}}, "InvalidParameterValue"),
        ({"QueueName": "ok-name", "Attributes": ["DelaySeconds"]}, "InvalidParameterValue"),
    ],
    ids=["missing-name", "name-not-string", "attribute-not-string", "attributes-not-map"],
)
def test_json_parameters_of_the_wrong_shape_are_client_errors(
    broker_url: str, payload: dict[str, Any], code: str
):
    response = json_post(broker_url + "/", "AmazonSQS.CreateQueue", json.dumps(payload).encode())
    assert response.status_code == 400, response.text
    assert json_error(response)[1] == code


def test_a_json_receive_with_a_non_integer_count_is_a_client_error(
    broker_url: str, queue_name: str
):
    created = json_post(
        broker_url + "/", "AmazonSQS.CreateQueue", json.dumps({"QueueName": queue_name}).encode()
    )
    url = created.json()["QueueUrl"]
    response = json_post(
        broker_url + "/",
        "AmazonSQS.ReceiveMessage",
        json.dumps({"QueueUrl": url, "MaxNumberOfMessages": "ten"}).encode(),
    )
    assert response.status_code == 400, response.text
    assert json_error(response)[1] == "InvalidParameterValue"


def test_an_empty_json_body_means_no_parameters(broker_url: str):
    response = json_post(broker_url + "/", "AmazonSQS.ListQueues", b"")
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), dict)


def test_an_unsigned_request_is_refused(broker_url: str):
    response = httpx.post(
        broker_url + "/",
        content=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "AmazonSQS.ListQueues",
        },
    )
    assert response.status_code in {400, 403}, response.text
    assert json_error(response)[1] == "MissingAuthenticationToken"


def test_a_request_body_over_the_limit_is_refused_with_413(broker_url: str):
    body = json.dumps({"QueueUrl": "x", "MessageBody": "x" * (MAX_REQUEST_BYTES + 1)}).encode()
    response = json_post(broker_url + "/", "AmazonSQS.SendMessage", body)
    assert response.status_code == 413, response.text
    assert json_error(response)[1] == "RequestEntityTooLarge"
    # The same through the Query protocol.
    response = query_post(
        broker_url + "/", {"Action": "ListQueues", "Pad": "x" * MAX_REQUEST_BYTES}
    )
    assert response.status_code == 413, response.text
