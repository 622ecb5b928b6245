"""Topic names, attributes and published messages: what SNS refuses and how it says so."""

from __future__ import annotations

import pytest

from broker.core import topic_attributes as rules
from broker.core.models import MessageAttributeValue
from broker.core.topic_errors import ParameterValueInvalid
from broker.errors import InvalidParameterValue


@pytest.mark.parametrize(
    ("name", "fifo", "ok"),
    [
        ("orders", False, True),
        ("a" * 256, False, True),
        ("a" * 257, False, False),
        ("with.dot", False, False),
        ("orders.fifo", True, True),
        ("orders", True, False),
    ],
)
def test_topic_names(name: str, fifo: bool, ok: bool) -> None:
    if ok:
        rules.check_topic_name(name, fifo)
    else:
        with pytest.raises(InvalidParameterValue, match=r"^Invalid parameter: "):
            rules.check_topic_name(name, fifo)


def test_fifo_only_attributes_are_refused_on_standard_topics() -> None:
    with pytest.raises(InvalidParameterValue):
        rules.check_topic_attributes({"ContentBasedDeduplication": "true"}, False, True)
    rules.check_topic_attributes({"ContentBasedDeduplication": "true"}, True, True)
    rules.check_topic_attributes({"HTTPSuccessFeedbackRoleArn": "arn:x"}, False, False)
    with pytest.raises(InvalidParameterValue):
        rules.check_topic_attributes({"SignatureVersion": "3"}, False, False)


@pytest.mark.parametrize(
    "value",
    [
        MessageAttributeValue("Number", string_value="abc"),
        MessageAttributeValue("Number", string_value="1e10"),
        MessageAttributeValue("String.Array", string_value="not an array"),
        MessageAttributeValue("String.Array", string_value='[["nested"]]'),
        MessageAttributeValue("Float", string_value="1"),
        MessageAttributeValue("String", string_value=""),
    ],
)
def test_bad_message_attributes(value: MessageAttributeValue) -> None:
    with pytest.raises(ParameterValueInvalid):
        rules.check_message_attributes({"a": value})


def test_message_structure_picks_the_protocol_or_default() -> None:
    text = '{"default": "d", "sqs": "q", "http": 5}'
    assert rules.message_for(text, "json", "sqs") == "q"
    assert rules.message_for(text, "json", "http") == "d"  # non-string values are ignored
    assert rules.message_for(text, None, "sqs") == text
    with pytest.raises(InvalidParameterValue, match="No default entry"):
        rules.parse_structure('{"sqs": "q"}')


def test_publish_size_and_subject_limits() -> None:
    rules.check_publish("x" * 262_144, None, {}, 262_144)
    with pytest.raises(InvalidParameterValue, match="too long"):
        rules.check_publish("x" * 262_145, None, {}, 262_144)
    with pytest.raises(InvalidParameterValue, match="Subject"):
        rules.check_publish("x", "line\nbreak", {}, 262_144)
