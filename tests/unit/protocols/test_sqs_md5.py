"""MD5OfMessageBody / MD5OfMessageAttributes against the published vectors (reference §3.7)."""

from __future__ import annotations

from broker.core.models import MessageAttributeValue
from broker.protocols.aws.sqs.md5 import md5_of_attributes, md5_of_body

STRING = {"attribName1": MessageAttributeValue("String", string_value="attribValue 1")}
NUMBER = {
    "customNumberTypeAttrib": MessageAttributeValue(
        "Number.float", string_value="4563442423554324324264524243.32543234"
    )
}
BINARY = {"binaryAttribute": MessageAttributeValue("Binary", binary_value=b"Hello binary world!")}


def test_body_digest_is_md5_of_utf8() -> None:
    assert md5_of_body("hello") == "5d41402abc4b2a76b9719d911017c592"


def test_string_attribute_vector() -> None:
    assert md5_of_attributes(STRING) == "19e27d4e946b072f3f58da80d94fd778"


def test_custom_number_type_attribute_vector() -> None:
    assert md5_of_attributes(NUMBER) == "9fe1b90bbd9965bdf77bac517c7d2495"


def test_binary_attribute_vector() -> None:
    assert md5_of_attributes(BINARY) == "31a92b15d92f8db860eda32aceb656c3"


def test_all_three_attributes_vector_is_order_independent() -> None:
    expected = "c932db14a896c663f83c260297d594ff"
    assert md5_of_attributes({**STRING, **NUMBER, **BINARY}) == expected
    assert md5_of_attributes({**BINARY, **NUMBER, **STRING}) == expected


def test_no_attributes_has_no_digest() -> None:
    assert md5_of_attributes({}) is None
