"""SNS filter policies on message attributes and on message bodies, from AWS's documentation.

Every case runs through the single-pattern matcher and through a one-pattern index.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker.matching import PatternIndex, compile_pattern


def attr(data_type: str, value: Any) -> dict[str, str]:
    text = value if isinstance(value, str) else json.dumps(value)
    return {"Type": data_type, "Value": text}


# The example message of AWS's filter-policy documentation.
ATTRIBUTES: dict[str, Any] = {
    "store": attr("String", "example_corp"),
    "event": attr("String", "order_placed"),
    "customer_interests": attr("String.Array", ["soccer", "rugby", "hockey"]),
    "price_usd": attr("Number", "210.75"),
    "encrypted": {"Type": "Binary", "Value": "AAE="},
    "source_ip": attr("String", "192.168.1.20"),
}

BODY: dict[str, Any] = {
    "store": "example_corp",
    "event": "order_placed",
    "customer_interests": ["soccer", "rugby", "hockey"],
    "price_usd": 210.75,
    "delivery": {"address": {"city": "Seattle", "zip": "98101"}, "express": True},
    "lines": [{"sku": "A-1", "qty": 1}, {"sku": "B-2", "qty": 3}],
    "coupon": None,
}


def case(name: str, policy: Any, document: Any, expected: bool) -> Any:
    return pytest.param(policy, document, expected, id=name)


ATTRIBUTE_CASES = [
    case("string-exact", {"store": ["example_corp"]}, ATTRIBUTES, True),
    case("string-exact-case-sensitive", {"store": ["Example_Corp"]}, ATTRIBUTES, False),
    case("string-or-values", {"event": ["order_canceled", "order_placed"]}, ATTRIBUTES, True),
    case(
        "keys-are-and", {"store": ["example_corp"], "event": ["order_canceled"]}, ATTRIBUTES, False
    ),
    case("keys-all-hold", {"store": ["example_corp"], "event": ["order_placed"]}, ATTRIBUTES, True),
    case("missing-attribute", {"color": ["red"]}, ATTRIBUTES, False),
    case("string-array-any-element", {"customer_interests": ["rugby"]}, ATTRIBUTES, True),
    case("string-array-no-element", {"customer_interests": ["tennis"]}, ATTRIBUTES, False),
    case("string-array-prefix", {"customer_interests": [{"prefix": "hock"}]}, ATTRIBUTES, True),
    case("number-exact", {"price_usd": [210.75]}, ATTRIBUTES, True),
    case("number-exact-exponent", {"price_usd": [2.1075e2]}, ATTRIBUTES, True),
    case("number-vs-string-pattern", {"price_usd": ["210.75"]}, ATTRIBUTES, False),
    case("number-range", {"price_usd": [{"numeric": [">", 100, "<=", 300]}]}, ATTRIBUTES, True),
    case("number-range-miss", {"price_usd": [{"numeric": ["<", 100]}]}, ATTRIBUTES, False),
    case("number-equals", {"price_usd": [{"numeric": ["=", 210.75]}]}, ATTRIBUTES, True),
    case(
        "numeric-on-string-attribute",
        {"store": [{"numeric": [">", 0]}]},
        {"store": attr("String", "5")},
        False,
    ),
    case(
        "number-integer-text", {"n": [{"numeric": ["=", 1000]}]}, {"n": attr("Number", "1e3")}, True
    ),
    case(
        "number-five-decimals",
        {"n": [{"numeric": ["=", 0]}]},
        {"n": attr("Number", "0.000001")},
        True,
    ),
    case(
        "number-custom-type",
        {"n": [{"numeric": [">", 1]}]},
        {"n": attr("Number.float", "1.5")},
        True,
    ),
    case("string-custom-type", {"s": ["x"]}, {"s": attr("String.custom", "x")}, True),
    case(
        "string-array-of-numbers",
        {"n": [{"numeric": [">", 1]}]},
        {"n": attr("String.Array", [0, 2])},
        True,
    ),
    case("string-array-with-null", {"n": [None]}, {"n": attr("String.Array", [None])}, True),
    case(
        "string-array-not-json-is-string",
        {"s": ["[oops"]},
        {"s": attr("String.Array", "[oops")},
        True,
    ),
    case("prefix", {"event": [{"prefix": "order_"}]}, ATTRIBUTES, True),
    case("prefix-miss", {"event": [{"prefix": "Order_"}]}, ATTRIBUTES, False),
    case("suffix", {"event": [{"suffix": "_placed"}]}, ATTRIBUTES, True),
    case(
        "equals-ignore-case", {"store": [{"equals-ignore-case": "EXAMPLE_CORP"}]}, ATTRIBUTES, True
    ),
    case("anything-but", {"store": [{"anything-but": "other_corp"}]}, ATTRIBUTES, True),
    case(
        "anything-but-excluded", {"store": [{"anything-but": ["example_corp"]}]}, ATTRIBUTES, False
    ),
    case(
        "anything-but-array-attribute-matches",
        {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]},
        ATTRIBUTES,
        True,
    ),
    case(
        "anything-but-array-all-excluded",
        {"customer_interests": [{"anything-but": ["soccer", "rugby", "hockey"]}]},
        ATTRIBUTES,
        False,
    ),
    case("anything-but-number", {"price_usd": [{"anything-but": [100, 500]}]}, ATTRIBUTES, True),
    case(
        "anything-but-number-excluded", {"price_usd": [{"anything-but": 210.75}]}, ATTRIBUTES, False
    ),
    case(
        "anything-but-prefix", {"event": [{"anything-but": {"prefix": "order-"}}]}, ATTRIBUTES, True
    ),
    case(
        "anything-but-prefix-excluded",
        {"event": [{"anything-but": {"prefix": "order"}}]},
        ATTRIBUTES,
        False,
    ),
    case("anything-but-missing-attribute", {"color": [{"anything-but": "red"}]}, ATTRIBUTES, False),
    case("exists-true", {"store": [{"exists": True}]}, ATTRIBUTES, True),
    case("exists-true-missing", {"color": [{"exists": True}]}, ATTRIBUTES, False),
    case("exists-false-missing", {"color": [{"exists": False}]}, ATTRIBUTES, True),
    case("exists-false-present", {"store": [{"exists": False}]}, ATTRIBUTES, False),
    case("binary-exists", {"encrypted": [{"exists": True}]}, ATTRIBUTES, True),
    case("binary-not-absent", {"encrypted": [{"exists": False}]}, ATTRIBUTES, False),
    case("binary-no-value-match", {"encrypted": ["AAE="]}, ATTRIBUTES, False),
    case("binary-no-anything-but", {"encrypted": [{"anything-but": "x"}]}, ATTRIBUTES, False),
    case("binary-no-prefix", {"encrypted": [{"prefix": ""}]}, ATTRIBUTES, False),
    case("cidr", {"source_ip": [{"cidr": "192.168.1.0/24"}]}, ATTRIBUTES, True),
    case("cidr-miss", {"source_ip": [{"cidr": "192.168.2.0/24"}]}, ATTRIBUTES, False),
    case(
        "or-across-attributes",
        {"$or": [{"store": ["other_corp"]}, {"event": ["order_placed"]}]},
        ATTRIBUTES,
        True,
    ),
    case(
        "or-with-sibling-key",
        {"store": ["other_corp"], "$or": [{"event": ["order_placed"]}, {"color": ["red"]}]},
        ATTRIBUTES,
        False,
    ),
    case("empty-policy-matches-everything", {}, ATTRIBUTES, True),
    case("empty-policy-matches-no-attributes", {}, {}, True),
    case("no-attributes-exists-false", {"store": [{"exists": False}]}, {}, True),
    case("data-type-alias", {"s": ["x"]}, {"s": {"DataType": "String", "StringValue": "x"}}, True),
    case("malformed-attribute-is-missing", {"s": [{"exists": True}]}, {"s": {"Value": "x"}}, False),
    case("non-mapping-document", {"s": [{"exists": False}]}, ["s"], False),
]

BODY_CASES = [
    case("top-level-exact", {"store": ["example_corp"]}, BODY, True),
    case("nested-exact", {"delivery": {"address": {"city": ["Seattle"]}}}, BODY, True),
    case("nested-miss", {"delivery": {"address": {"city": ["Portland"]}}}, BODY, False),
    case("nested-and", {"store": ["example_corp"], "delivery": {"express": [True]}}, BODY, True),
    case("nested-missing-parent", {"billing": {"city": ["Seattle"]}}, BODY, False),
    case("array-any-element", {"customer_interests": ["rugby"]}, BODY, True),
    case("number-exact", {"price_usd": [210.75]}, BODY, True),
    case("number-range", {"price_usd": [{"numeric": [">=", 200, "<", 211]}]}, BODY, True),
    case("number-string-pattern", {"price_usd": ["210.75"]}, BODY, False),
    case("null-value", {"coupon": [None]}, BODY, True),
    case("null-exists", {"coupon": [{"exists": True}]}, BODY, True),
    case("exists-false-missing", {"gift": [{"exists": False}]}, BODY, True),
    case("exists-false-nested-missing", {"delivery": {"notes": [{"exists": False}]}}, BODY, True),
    case("exists-false-object-value", {"delivery": [{"exists": False}]}, BODY, True),
    case("anything-but-prefix", {"event": [{"anything-but": {"prefix": "refund"}}]}, BODY, True),
    case("suffix", {"delivery": {"address": {"zip": [{"suffix": "101"}]}}}, BODY, True),
    case(
        "equals-ignore-case",
        {"delivery": {"address": {"city": [{"equals-ignore-case": "SEATTLE"}]}}},
        BODY,
        True,
    ),
    case("array-of-objects-same-element", {"lines": {"sku": ["B-2"], "qty": [3]}}, BODY, True),
    case("array-of-objects-across-elements", {"lines": {"sku": ["A-1"], "qty": [3]}}, BODY, False),
    case(
        "or-nested",
        {"delivery": {"$or": [{"express": [False]}, {"address": {"zip": [{"prefix": "981"}]}}]}},
        BODY,
        True,
    ),
    case(
        "or-top-level-none",
        {"$or": [{"store": ["x"]}, {"event": ["y"]}]},
        BODY,
        False,
    ),
    case("list-body-matches-nothing", {"a": [{"exists": False}]}, [1, 2], False),
    case("string-body-matches-nothing", {"a": [{"exists": False}]}, "plain text", False),
    case("empty-policy", {}, BODY, True),
]


@pytest.mark.parametrize(("policy", "document", "expected"), ATTRIBUTE_CASES)
def test_attribute_policy(policy: Any, document: Any, expected: bool) -> None:
    assert compile_pattern(policy, "sns-attributes").matches(document) is expected


@pytest.mark.parametrize(("policy", "document", "expected"), ATTRIBUTE_CASES)
def test_attribute_index_agrees(policy: Any, document: Any, expected: bool) -> None:
    index: PatternIndex[int] = PatternIndex("sns-attributes")
    index.add(1, policy)
    assert index.matching_ids(document) == ({1} if expected else set())


@pytest.mark.parametrize(("policy", "document", "expected"), BODY_CASES)
def test_body_policy(policy: Any, document: Any, expected: bool) -> None:
    assert compile_pattern(policy, "sns-body").matches(document) is expected


@pytest.mark.parametrize(("policy", "document", "expected"), BODY_CASES)
def test_body_index_agrees(policy: Any, document: Any, expected: bool) -> None:
    index: PatternIndex[int] = PatternIndex("sns-body")
    index.add(1, policy)
    assert index.matching_ids(document) == ({1} if expected else set())
