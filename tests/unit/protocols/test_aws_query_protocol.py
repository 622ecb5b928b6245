"""Query request decoding and the XML the Query SDKs parse, read back with ElementTree."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from broker.protocols.aws import faults
from broker.protocols.aws.faults import AwsFault
from broker.protocols.aws.json_protocol import JsonObject
from broker.protocols.aws.query_protocol import (
    escape_text,
    parse_query_params,
    xml_error_response,
    xml_response,
)
from broker.protocols.aws.sqs.endpoint import SQS_NAMESPACE, SQS_XML_NAMES, xml_names_for
from broker.protocols.aws.sqs.faults import QUEUE_DOES_NOT_EXIST

NS = {"q": SQS_NAMESPACE}
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def _root(body: bytes | memoryview) -> ET.Element:
    return ET.fromstring(bytes(body))


def test_form_body_is_decoded_with_percent_and_plus_escapes() -> None:
    params = parse_query_params("", b"Action=SendMessage&MessageBody=a%20b+c%26d&Empty=", FORM)
    assert params == {"Action": "SendMessage", "MessageBody": "a b c&d", "Empty": ""}


def test_get_query_string_and_form_body_merge_with_body_winning() -> None:
    params = parse_query_params("Action=ListQueues&Version=x", b"Version=2012-11-05", FORM)
    assert params == {"Action": "ListQueues", "Version": "2012-11-05"}


def test_non_form_body_is_ignored() -> None:
    assert parse_query_params("Action=A", b'{"x": 1}', "application/json") == {"Action": "A"}


def test_undecodable_form_is_malformed_query_string() -> None:
    with pytest.raises(AwsFault) as raised:
        parse_query_params("", b"MessageBody=%ff", FORM)
    assert raised.value.fault is faults.MALFORMED_QUERY_STRING


def test_receive_message_result_flattens_messages_and_attribute_maps() -> None:
    result: JsonObject = {
        "Messages": [
            {
                "MessageId": "m1",
                "ReceiptHandle": "rh",
                "MD5OfBody": "5d41402abc4b2a76b9719d911017c592",
                "Body": "<hello & bye>\r\n",
                "Attributes": {"SentTimestamp": "1700000000000", "ApproximateReceiveCount": "1"},
                "MD5OfMessageAttributes": "abc",
                "MessageAttributes": {
                    "s": {"StringValue": "v", "DataType": "String"},
                    "b": {"BinaryValue": "AAE=", "DataType": "Binary"},
                },
            }
        ]
    }
    response = xml_response("ReceiveMessage", result, "req-1", SQS_NAMESPACE, SQS_XML_NAMES)
    assert response.headers["content-type"].startswith("text/xml")
    root = _root(response.body)
    assert root.tag == f"{{{SQS_NAMESPACE}}}ReceiveMessageResponse"
    messages = root.findall("q:ReceiveMessageResult/q:Message", NS)
    assert len(messages) == 1
    message = messages[0]
    assert message.findtext("q:MessageId", namespaces=NS) == "m1"
    # The carriage return survives only because it is escaped as &#xD;.
    assert message.findtext("q:Body", namespaces=NS) == "<hello & bye>\r\n"
    attributes = {
        a.findtext("q:Name", namespaces=NS): a.findtext("q:Value", namespaces=NS)
        for a in message.findall("q:Attribute", NS)
    }
    assert attributes == {"SentTimestamp": "1700000000000", "ApproximateReceiveCount": "1"}
    values = {
        a.findtext("q:Name", namespaces=NS): (
            a.findtext("q:Value/q:DataType", namespaces=NS),
            a.findtext("q:Value/q:StringValue", namespaces=NS),
            a.findtext("q:Value/q:BinaryValue", namespaces=NS),
        )
        for a in message.findall("q:MessageAttribute", NS)
    }
    assert values == {"s": ("String", "v", None), "b": ("Binary", None, "AAE=")}
    assert root.findtext("q:ResponseMetadata/q:RequestId", namespaces=NS) == "req-1"


def test_list_queues_result_repeats_queue_url() -> None:
    result: JsonObject = {"QueueUrls": ["http://h/1/a", "http://h/1/b"], "NextToken": "t"}
    root = _root(xml_response("ListQueues", result, "r", SQS_NAMESPACE, SQS_XML_NAMES).body)
    assert [e.text for e in root.findall("q:ListQueuesResult/q:QueueUrl", NS)] == [
        "http://h/1/a",
        "http://h/1/b",
    ]
    assert root.findtext("q:ListQueuesResult/q:NextToken", namespaces=NS) == "t"


def test_batch_result_names_entries_and_renders_booleans() -> None:
    result: JsonObject = {
        "Successful": [{"Id": "a", "MessageId": "m", "MD5OfMessageBody": "x"}],
        "Failed": [
            {"Id": "b", "SenderFault": True, "Code": "InvalidParameterValue", "Message": "no"}
        ],
    }
    body = xml_response(
        "SendMessageBatch", result, "r", SQS_NAMESPACE, xml_names_for("SendMessageBatch")
    ).body
    batch = _root(body).find("q:SendMessageBatchResult", NS)
    assert batch is not None
    assert batch.findtext("q:SendMessageBatchResultEntry/q:Id", namespaces=NS) == "a"
    assert batch.findtext("q:BatchResultErrorEntry/q:SenderFault", namespaces=NS) == "true"
    assert batch.findtext("q:BatchResultErrorEntry/q:Code", namespaces=NS) == (
        "InvalidParameterValue"
    )


def test_queue_tags_are_key_value_entries() -> None:
    body = xml_response(
        "ListQueueTags", {"Tags": {"team": "core"}}, "r", SQS_NAMESPACE, SQS_XML_NAMES
    ).body
    tag = _root(body).find("q:ListQueueTagsResult/q:Tag", NS)
    assert tag is not None
    assert (tag.findtext("q:Key", namespaces=NS), tag.findtext("q:Value", namespaces=NS)) == (
        "team",
        "core",
    )


def test_action_without_output_has_no_result_element() -> None:
    root = _root(xml_response("DeleteMessage", None, "r", SQS_NAMESPACE, SQS_XML_NAMES).body)
    assert root.find("q:DeleteMessageResult", NS) is None
    assert root.findtext("q:ResponseMetadata/q:RequestId", namespaces=NS) == "r"


def test_error_response_has_type_legacy_code_message_and_request_id() -> None:
    response = xml_error_response(QUEUE_DOES_NOT_EXIST, "gone <now>", "req-9", SQS_NAMESPACE)
    assert response.status_code == 400
    root = _root(response.body)
    assert root.tag == f"{{{SQS_NAMESPACE}}}ErrorResponse"
    assert root.findtext("q:Error/q:Type", namespaces=NS) == "Sender"
    assert root.findtext("q:Error/q:Code", namespaces=NS) == (
        "AWS.SimpleQueueService.NonExistentQueue"
    )
    assert root.findtext("q:Error/q:Message", namespaces=NS) == "gone <now>"
    assert root.find("q:Error/q:Detail", NS) is not None
    assert root.findtext("q:RequestId", namespaces=NS) == "req-9"


def test_characters_xml_cannot_carry_are_replaced_not_emitted() -> None:
    escaped = escape_text("a\x00b\x1fc")
    assert escaped == "a\ufffdb\ufffdc"
    ET.fromstring(f"<x>{escaped}</x>")
