"""Both wire decoders produce the same typed values, and refuse wrong wire types."""

from __future__ import annotations

import pytest

from broker.core.models import MessageAttributeValue
from broker.errors import InvalidParameterValue, MissingParameter
from broker.protocols.aws.sqs.params import JsonParams, QueryParams


def test_query_flattened_queue_attributes_and_tags() -> None:
    p = QueryParams(
        {
            "Attribute.1.Name": "VisibilityTimeout",
            "Attribute.1.Value": "40",
            "Attribute.2.Name": "DelaySeconds",
            "Attribute.2.Value": "5",
            "Tag.1.Key": "team",
            "Tag.1.Value": "core",
        }
    )
    assert p.string_map("Attributes") == {"VisibilityTimeout": "40", "DelaySeconds": "5"}
    assert p.string_map("tags") == {"team": "core"}
    assert p.string_map("Tags") == {"team": "core"}


def test_query_flattened_lists_follow_numeric_index_order() -> None:
    fields = {f"AttributeName.{i}": f"n{i}" for i in (10, 2, 1)}
    fields["TagKey.1"] = "a"
    p = QueryParams(fields)
    assert p.string_list("AttributeNames") == ["n1", "n2", "n10"]
    assert p.string_list("TagKeys") == ["a"]
    assert p.string_list("MessageAttributeNames") == []


def test_query_message_attributes_decode_string_and_base64_binary() -> None:
    p = QueryParams(
        {
            "MessageAttribute.1.Name": "s",
            "MessageAttribute.1.Value.DataType": "String",
            "MessageAttribute.1.Value.StringValue": "v",
            "MessageAttribute.2.Name": "b",
            "MessageAttribute.2.Value.DataType": "Binary.png",
            "MessageAttribute.2.Value.BinaryValue": "AAE=",
        }
    )
    assert p.attribute_map("MessageAttributes") == {
        "s": MessageAttributeValue("String", string_value="v"),
        "b": MessageAttributeValue("Binary.png", binary_value=b"\x00\x01"),
    }


def test_query_batch_entries_carry_their_own_nested_parameters() -> None:
    p = QueryParams(
        {
            "SendMessageBatchRequestEntry.2.Id": "b",
            "SendMessageBatchRequestEntry.2.MessageBody": "two",
            "SendMessageBatchRequestEntry.1.Id": "a",
            "SendMessageBatchRequestEntry.1.MessageBody": "one",
            "SendMessageBatchRequestEntry.1.DelaySeconds": "3",
            "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name": "k",
            "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType": "Number",
            "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue": "7",
        }
    )
    entries = p.entries("Entries", "SendMessageBatchRequestEntry")
    assert [e.string("Id") for e in entries] == ["a", "b"]
    assert entries[0].integer("DelaySeconds") == 3
    assert entries[1].integer("DelaySeconds") is None
    assert entries[0].attribute_map("MessageAttributes") == {
        "k": MessageAttributeValue("Number", string_value="7")
    }
    assert entries[1].attribute_map("MessageAttributes") == {}


def test_query_integer_garbage_is_invalid_parameter_value() -> None:
    with pytest.raises(InvalidParameterValue, match="MaxNumberOfMessages"):
        QueryParams({"MaxNumberOfMessages": "ten"}).integer("MaxNumberOfMessages")


def test_query_map_entry_without_value_is_missing_parameter() -> None:
    with pytest.raises(MissingParameter, match=r"Attribute\.1\.Value"):
        QueryParams({"Attribute.1.Name": "DelaySeconds"}).string_map("Attributes")


def test_missing_required_member_is_missing_parameter_in_both_formats() -> None:
    for p in (JsonParams({}), QueryParams({})):
        with pytest.raises(MissingParameter, match="The request must contain the parameter Queue"):
            p.required_string("QueueUrl")


def test_json_members_decode_to_the_same_values_as_query() -> None:
    p = JsonParams(
        {
            "Attributes": {"VisibilityTimeout": "40"},
            "AttributeNames": ["All"],
            "MaxNumberOfMessages": 10,
            "MessageAttributes": {
                "s": {"DataType": "String", "StringValue": "v"},
                "b": {"DataType": "Binary", "BinaryValue": "AAE="},
            },
        }
    )
    assert p.string_map("Attributes") == {"VisibilityTimeout": "40"}
    assert p.string_list("AttributeNames") == ["All"]
    assert p.integer("MaxNumberOfMessages") == 10
    assert p.attribute_map("MessageAttributes") == {
        "s": MessageAttributeValue("String", string_value="v"),
        "b": MessageAttributeValue("Binary", binary_value=b"\x00\x01"),
    }


@pytest.mark.parametrize("value", ["10", True, 1.5, [1], {"a": 1}])
def test_json_integer_rejects_non_integers(value: object) -> None:
    with pytest.raises(InvalidParameterValue, match="WaitTimeSeconds"):
        JsonParams({"WaitTimeSeconds": value}).integer("WaitTimeSeconds")


def test_json_integral_float_is_an_integer() -> None:
    assert JsonParams({"DelaySeconds": 5.0}).integer("DelaySeconds") == 5


@pytest.mark.parametrize(
    ("method", "value"),
    [
        ("string", 5),
        ("string_list", "All"),
        ("string_list", [1]),
        ("string_map", ["x"]),
        ("string_map", {"VisibilityTimeout": 40}),
        ("attribute_map", "x"),
        ("attribute_map", {"a": "x"}),
    ],
)
def test_json_wrong_types_are_invalid_parameter_value(method: str, value: object) -> None:
    with pytest.raises(InvalidParameterValue):
        getattr(JsonParams({"X": value}), method)("X")


def test_json_invalid_base64_binary_is_invalid_parameter_value() -> None:
    p = JsonParams({"MessageAttributes": {"b": {"DataType": "Binary", "BinaryValue": "**"}}})
    with pytest.raises(InvalidParameterValue, match="base64"):
        p.attribute_map("MessageAttributes")


def test_message_attribute_without_data_type_is_invalid_parameter_value() -> None:
    with pytest.raises(InvalidParameterValue, match="attribute type"):
        JsonParams({"MessageAttributes": {"a": {"StringValue": "v"}}}).attribute_map(
            "MessageAttributes"
        )


def test_json_entries_must_be_a_list_of_structures() -> None:
    with pytest.raises(InvalidParameterValue, match=r"Entries\.1"):
        JsonParams({"Entries": ["x"]}).entries("Entries", "SendMessageBatchRequestEntry")
    entries = JsonParams({"Entries": [{"Id": "a"}]}).entries("Entries", "X")
    assert entries[0].required_string("Id") == "a"
    with pytest.raises(MissingParameter, match=r"Entries\.1\.ReceiptHandle"):
        entries[0].required_string("ReceiptHandle")
