"""Invalid patterns: each is refused with a message naming the fault and its JSON path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker.errors import InvalidParameterValue, InvalidPattern
from broker.matching import EVENTBRIDGE, compile_pattern

EB = "eventbridge"
ATTRS = "sns-attributes"
BODY = "sns-body"


def case(name: str, dialect: str, pattern: Any, message: str, path: str) -> Any:
    return pytest.param(dialect, pattern, message, path, id=name)


def numeric(*operands: Any) -> dict[str, Any]:
    return {"n": [{"numeric": list(operands)}]}


def nested_or(branches: int, levels: int) -> dict[str, Any]:
    """``levels`` sibling objects, each with a ``$or`` of ``branches`` branches."""
    return {
        f"k{level}": {"$or": [{f"f{i}": [i]} for i in range(branches)]} for level in range(levels)
    }


INVALID = [
    # Shape of the document
    case("not-json", EB, "{", "Event pattern is not valid JSON", ""),
    case("not-json-sns", ATTRS, "{'a': 1}", "Filter policy is not valid JSON", ""),
    case("nan-is-not-json", EB, '{"n": [NaN]}', "is not valid JSON", ""),
    case("not-an-object", EB, "[1, 2]", "Event pattern must be a JSON object", ""),
    case("not-an-object-string", BODY, '"text"', "Filter policy must be a JSON object", ""),
    case("not-a-pattern-type", EB, 42, "must be a JSON object", ""),
    case("not-serialisable", EB, {"a": [{1, 2}]}, "is not valid JSON", ""),
    case("empty-event-pattern", EB, {}, "Event pattern must not be empty", ""),
    case("too-long-event-pattern", EB, {"a": ["x" * 2100]}, "Event pattern is too long", ""),
    case("too-long-filter-policy", ATTRS, {"a": ["x" * 262_200]}, "Filter policy is too long", ""),
    # Structure
    case(
        "leaf-not-in-array",
        EB,
        {"source": "aws.ec2"},
        '"source" must be an object or an array',
        "source",
    ),
    case(
        "leaf-number-not-in-array",
        EB,
        {"detail": {"n": 5}},
        '"n" must be an object or an array',
        "detail.n",
    ),
    case("leaf-null-not-in-array", BODY, {"a": None}, '"a" must be an object or an array', "a"),
    case(
        "leaf-not-in-array-sns",
        ATTRS,
        {"store": "x"},
        '"store" must be an object or an array',
        "store",
    ),
    case("empty-array", EB, {"source": []}, "Empty arrays are not allowed", "source"),
    case(
        "empty-array-nested",
        EB,
        {"detail": {"state": []}},
        "Empty arrays are not allowed",
        "detail.state",
    ),
    case("empty-array-sns", ATTRS, {"store": []}, "Empty arrays are not allowed", "store"),
    case("empty-object", EB, {"detail": {}}, "Empty objects are not allowed", "detail"),
    case("empty-object-body", BODY, {"a": {"b": {}}}, "Empty objects are not allowed", "a.b"),
    case("nested-array-value", EB, {"a": [["x"]]}, "Match value must be", "a[0]"),
    case("nested-array-second-value", EB, {"a": ["x", ["y"]]}, "Match value must be", "a[1]"),
    case(
        "attributes-not-nested",
        ATTRS,
        {"store": {"name": ["x"]}},
        "for message attributes can not be nested",
        "store",
    ),
    # Operators
    case(
        "unknown-operator",
        EB,
        {"a": [{"regex": "x"}]},
        "Unrecognized match type regex",
        "a[0].regex",
    ),
    case(
        "two-operators", EB, {"a": [{"prefix": "x", "suffix": "y"}]}, "exactly one operator", "a[0]"
    ),
    case("empty-operator-object", EB, {"a": [{}]}, "exactly one operator", "a[0]"),
    case(
        "prefix-not-string",
        EB,
        {"a": [{"prefix": 5}]},
        "prefix match pattern must be a string",
        "a[0].prefix",
    ),
    case(
        "prefix-null",
        EB,
        {"a": [{"prefix": None}]},
        "prefix match pattern must be a string",
        "a[0].prefix",
    ),
    case(
        "prefix-unknown-modifier",
        EB,
        {"a": [{"prefix": {"wildcard": "x"}}]},
        "Unsupported prefix pattern",
        "a[0].prefix",
    ),
    case(
        "prefix-ignore-case-not-string",
        EB,
        {"a": [{"prefix": {"equals-ignore-case": 1}}]},
        "prefix match pattern must be a string",
        "a[0].prefix.equals-ignore-case",
    ),
    case(
        "suffix-not-string",
        EB,
        {"a": [{"suffix": ["x"]}]},
        "suffix match pattern must be a string",
        "a[0].suffix",
    ),
    case(
        "equals-ignore-case-not-string",
        EB,
        {"a": [{"equals-ignore-case": 1}]},
        "equals-ignore-case match pattern must be a string",
        "a[0].equals-ignore-case",
    ),
    case(
        "wildcard-not-string",
        EB,
        {"a": [{"wildcard": 1}]},
        "wildcard match pattern must be a string",
        "a[0].wildcard",
    ),
    case(
        "wildcard-consecutive-stars",
        EB,
        {"a": [{"wildcard": "a**b"}]},
        "Consecutive wildcard",
        "a[0].wildcard",
    ),
    case(
        "wildcard-bad-escape",
        EB,
        {"a": [{"wildcard": "a\\b"}]},
        "Invalid escape in wildcard",
        "a[0].wildcard",
    ),
    case(
        "wildcard-trailing-backslash",
        EB,
        {"a": [{"wildcard": "a\\"}]},
        "Invalid escape in wildcard",
        "a[0].wildcard",
    ),
    case(
        "exists-not-boolean", EB, {"a": [{"exists": "true"}]}, "either true or false", "a[0].exists"
    ),
    case("exists-null", BODY, {"a": [{"exists": None}]}, "either true or false", "a[0].exists"),
    case(
        "cidr-bad-prefix-length",
        EB,
        {"ip": [{"cidr": "10.0.0.0/33"}]},
        "Malformed CIDR",
        "ip[0].cidr",
    ),
    case("cidr-garbage", ATTRS, {"ip": [{"cidr": "ten.zero"}]}, "Malformed CIDR", "ip[0].cidr"),
    case(
        "cidr-not-string",
        EB,
        {"ip": [{"cidr": 10}]},
        "cidr match pattern must be a string",
        "ip[0].cidr",
    ),
    # anything-but
    case(
        "anything-but-boolean",
        EB,
        {"a": [{"anything-but": True}]},
        "anything-but must be",
        "a[0].anything-but",
    ),
    case(
        "anything-but-null",
        EB,
        {"a": [{"anything-but": None}]},
        "anything-but must be",
        "a[0].anything-but",
    ),
    case(
        "anything-but-mixed-list",
        EB,
        {"a": [{"anything-but": ["a", 1]}]},
        "all strings or all numbers",
        "a[0].anything-but",
    ),
    case(
        "anything-but-boolean-list",
        EB,
        {"a": [{"anything-but": [True]}]},
        "all strings or all numbers",
        "a[0].anything-but",
    ),
    case(
        "anything-but-nested-list",
        EB,
        {"a": [{"anything-but": [["a"]]}]},
        "all strings or all numbers",
        "a[0].anything-but",
    ),
    case(
        "anything-but-empty-list",
        EB,
        {"a": [{"anything-but": []}]},
        "Empty arrays are not allowed",
        "a[0].anything-but",
    ),
    case(
        "anything-but-numeric",
        EB,
        {"a": [{"anything-but": {"numeric": [">", 1]}}]},
        "Unsupported anything-but pattern: numeric",
        "a[0].anything-but.numeric",
    ),
    case(
        "anything-but-two-operators",
        EB,
        {"a": [{"anything-but": {"prefix": "a", "suffix": "b"}}]},
        "exactly one operator",
        "a[0].anything-but",
    ),
    case(
        "anything-but-empty-prefix",
        EB,
        {"a": [{"anything-but": {"prefix": ""}}]},
        "Empty prefix is not allowed",
        "a[0].anything-but.prefix",
    ),
    case(
        "anything-but-prefix-not-string",
        EB,
        {"a": [{"anything-but": {"prefix": 1}}]},
        "prefix match pattern must be a string",
        "a[0].anything-but.prefix",
    ),
    case(
        "anything-but-prefix-list-item",
        EB,
        {"a": [{"anything-but": {"prefix": ["a", 1]}}]},
        "prefix match pattern must be a string",
        "a[0].anything-but.prefix[1]",
    ),
    case(
        "anything-but-prefix-empty-list",
        EB,
        {"a": [{"anything-but": {"prefix": []}}]},
        "Empty arrays are not allowed",
        "a[0].anything-but.prefix",
    ),
    case(
        "anything-but-bad-wildcard",
        EB,
        {"a": [{"anything-but": {"wildcard": ["ok*", "a**"]}}]},
        "Consecutive wildcard",
        "a[0].anything-but.wildcard[1]",
    ),
    # numeric
    case(
        "numeric-not-array",
        EB,
        {"n": [{"numeric": 5}]},
        "must be a non-empty array",
        "n[0].numeric",
    ),
    case("numeric-empty", EB, numeric(), "must be a non-empty array", "n[0].numeric"),
    case(
        "numeric-unknown-operator",
        EB,
        numeric("!=", 5),
        "Unrecognized numeric range operator: !=",
        "n[0].numeric[0]",
    ),
    case(
        "numeric-operator-not-string",
        EB,
        numeric(5, 5),
        "Unrecognized numeric range operator",
        "n[0].numeric[0]",
    ),
    case(
        "numeric-missing-value", EB, numeric(">"), "Value of > must be numeric", "n[0].numeric[0]"
    ),
    case("numeric-string-value", EB, numeric(">", "5"), "must be a number", "n[0].numeric[1]"),
    case("numeric-boolean-value", EB, numeric("<", True), "must be a number", "n[0].numeric[1]"),
    case(
        "numeric-upper-then-lower",
        EB,
        numeric("<", 5, ">", 1),
        "lower bound must come first",
        "n[0].numeric[2]",
    ),
    case(
        "numeric-two-lower-bounds",
        EB,
        numeric(">", 1, ">=", 2),
        "lower bound must come first",
        "n[0].numeric[2]",
    ),
    case(
        "numeric-two-upper-bounds",
        EB,
        numeric("<", 1, "<", 2),
        "only one upper bound",
        "n[0].numeric[2]",
    ),
    case(
        "numeric-too-many-elements",
        EB,
        numeric(">", 0, "<", 5, "<", 6),
        "Too many elements",
        "n[0].numeric",
    ),
    case(
        "numeric-empty-range",
        EB,
        numeric(">", 5, "<", 5),
        "bottom must be less than top",
        "n[0].numeric",
    ),
    case(
        "numeric-inverted-range",
        EB,
        numeric(">=", 6, "<=", 5),
        "bottom must be less than top",
        "n[0].numeric",
    ),
    case(
        "numeric-equals-extra",
        EB,
        numeric("=", 5, ">", 1),
        '"=" takes exactly one number',
        "n[0].numeric",
    ),
    case("numeric-equals-string", EB, numeric("=", "5"), "must be a number", "n[0].numeric[1]"),
    case(
        "numeric-above-eventbridge-range",
        EB,
        numeric(">", 5_000_000_001),
        "between -5000000000 and 5000000000",
        "n[0].numeric[1]",
    ),
    case(
        "numeric-below-eventbridge-range",
        EB,
        numeric("<", -5.1e9),
        "between -5000000000 and 5000000000",
        "n[0].numeric[1]",
    ),
    case(
        "numeric-path-in-nested-pattern",
        EB,
        {"detail": {"state": [{"numeric": [">", 0, "<", "x"]}]}},
        "must be a number",
        "detail.state[0].numeric[3]",
    ),
    case(
        "numeric-above-sns-range",
        ATTRS,
        numeric("<", 1_000_000_001),
        "between -1000000000 and 1000000000",
        "n[0].numeric[1]",
    ),
    case(
        "numeric-below-sns-range",
        BODY,
        numeric(">", -1.5e9),
        "between -1000000000 and 1000000000",
        "n[0].numeric[1]",
    ),
    case(
        "numeric-sns-six-decimals",
        ATTRS,
        numeric("=", 0.123456),
        "at most 5 digits after the decimal point",
        "n[0].numeric[1]",
    ),
    case(
        "numeric-sns-tiny-exponent",
        BODY,
        numeric(">", 1e-6),
        "at most 5 digits after the decimal point",
        "n[0].numeric[1]",
    ),
    # $or
    case(
        "or-single-branch-is-a-field",
        EB,
        {"$or": [{"a": ["x"]}]},
        "Unrecognized match type a",
        "$or[0].a",
    ),
    case(
        "or-empty-branch",
        EB,
        {"$or": [{}, {"a": ["x"]}]},
        "Empty objects are not allowed",
        "$or[0]",
    ),
    case(
        "or-branch-leaf-not-array",
        EB,
        {"$or": [{"a": "x"}, {"b": ["y"]}]},
        '"a" must be an object or an array',
        "$or[0].a",
    ),
    case(
        "or-nested-branch-error",
        EB,
        {"detail": {"$or": [{"a": ["x"]}, {"$or": [{"b": []}, {"c": ["z"]}]}]}},
        "Empty arrays are not allowed",
        "detail.$or[1].$or[0].b",
    ),
    case(
        "or-reserved-word-inside-is-not-or",
        EB,
        {"$or": [{"numeric": 123}, {"prefix": "abc"}]},
        "numeric match pattern must be a non-empty array",
        "$or[0].numeric",
    ),
    case(
        "or-attributes-branch-not-nested",
        ATTRS,
        {"$or": [{"a": {"b": ["x"]}}, {"c": ["y"]}]},
        "can not be nested",
        "$or[0].a",
    ),
    case(
        "or-too-many-combinations", EB, nested_or(11, 3), "1331 combinations, the limit is 1000", ""
    ),
    # SNS dialect differences
    case(
        "sns-no-wildcard",
        ATTRS,
        {"a": [{"wildcard": "x*"}]},
        "Unrecognized match type wildcard",
        "a[0].wildcard",
    ),
    case(
        "sns-body-no-wildcard",
        BODY,
        {"a": [{"wildcard": "x*"}]},
        "Unrecognized match type wildcard",
        "a[0].wildcard",
    ),
    case(
        "sns-anything-but-suffix",
        ATTRS,
        {"a": [{"anything-but": {"suffix": "x"}}]},
        "Unsupported anything-but pattern: suffix",
        "a[0].anything-but.suffix",
    ),
    case(
        "sns-anything-but-equals-ignore-case",
        BODY,
        {"a": [{"anything-but": {"equals-ignore-case": "x"}}]},
        "Unsupported anything-but pattern: equals-ignore-case",
        "a[0].anything-but.equals-ignore-case",
    ),
    case(
        "sns-anything-but-wildcard",
        ATTRS,
        {"a": [{"anything-but": {"wildcard": "x*"}}]},
        "Unsupported anything-but pattern: wildcard",
        "a[0].anything-but.wildcard",
    ),
    case(
        "sns-anything-but-prefix-list",
        ATTRS,
        {"a": [{"anything-but": {"prefix": ["x", "y"]}}]},
        "prefix match pattern must be a string",
        "a[0].anything-but.prefix",
    ),
    case(
        "sns-no-prefix-ignore-case",
        ATTRS,
        {"a": [{"prefix": {"equals-ignore-case": "x"}}]},
        "prefix match pattern must be a string",
        "a[0].prefix",
    ),
    case(
        "sns-too-many-keys",
        ATTRS,
        {f"k{i}": ["v"] for i in range(6)},
        "Filter policy can not have more than 5 keys",
        "",
    ),
    case(
        "sns-body-too-many-top-level-keys",
        BODY,
        {f"k{i}": {"x": ["v"]} for i in range(6)},
        "Filter policy can not have more than 5 keys",
        "",
    ),
    case(
        "sns-keys-counted-per-or-alternative",
        ATTRS,
        {
            "a": ["1"],
            "b": ["1"],
            "c": ["1"],
            "d": ["1"],
            "$or": [{"e": ["1"], "f": ["1"]}, {"g": ["1"]}],
        },
        "can not have more than 5 keys",
        "",
    ),
    case(
        "sns-too-complex",
        ATTRS,
        {"a": [str(i) for i in range(16)], "b": [str(i) for i in range(10)]},
        "Filter policy is too complex",
        "",
    ),
    case(
        "sns-too-complex-aws-nested-example",
        BODY,
        {
            "key_a": {"key_b": {"key_c": ["value_one", "value_two", "value_three", "value_four"]}},
            "key_d": {"key_e": ["value_one", "value_two", "value_three"]},
            "key_f": ["value_one", "value_two", "value_three"],
        },
        "Filter policy is too complex",
        "",
    ),
    case(
        "sns-too-complex-or-alternatives-add-up",
        ATTRS,
        {"$or": [{"a": [str(i) for i in range(100)]}, {"b": [str(i) for i in range(51)]}]},
        "Filter policy is too complex",
        "",
    ),
]


@pytest.mark.parametrize(("dialect", "pattern", "message", "path"), INVALID)
def test_invalid_pattern(dialect: str, pattern: Any, message: str, path: str) -> None:
    with pytest.raises(InvalidPattern) as caught:
        compile_pattern(pattern, dialect)
    error = caught.value
    assert message in error.message
    assert error.path == path
    if path:
        assert error.message.endswith(f" at {path}")


VALID = [
    pytest.param(
        EB, {"n": [{"numeric": [">=", -5e9, "<=", 5e9]}]}, id="eventbridge-numeric-limits"
    ),
    pytest.param(
        EB, {"n": [{"numeric": ["<", 0.1234567]}]}, id="eventbridge-extra-decimals-rounded"
    ),
    pytest.param(ATTRS, {"n": [{"numeric": [">=", -1e9, "<=", 1e9]}]}, id="sns-numeric-limits"),
    pytest.param(ATTRS, {"n": [{"numeric": ["=", 0.12345]}]}, id="sns-five-decimals"),
    pytest.param(ATTRS, {f"k{i}": ["v"] for i in range(5)}, id="sns-five-keys"),
    pytest.param(
        ATTRS,
        {"a": [str(i) for i in range(15)], "b": [str(i) for i in range(10)]},
        id="sns-150-combinations",
    ),
    pytest.param(
        BODY,
        {
            "key_a": {"key_b": {"key_c": ["value_one", "value_two", "value_three", "value_four"]}},
            "key_d": {"key_e": ["value_one", "value_two", "value_three"]},
        },
        id="sns-aws-nested-example-is-72",
    ),
    pytest.param(
        BODY,
        {"a": {"b": ["1"], "c": ["1"], "d": ["1"], "e": ["1"], "f": ["1"], "g": ["1"]}},
        id="sns-body-nested-keys-not-counted",
    ),
    pytest.param(ATTRS, {}, id="sns-empty-policy"),
    pytest.param(EB, nested_or(10, 3), id="eventbridge-1000-or-combinations"),
    pytest.param(EB, {"$or": {"a": ["x"]}}, id="or-object-is-a-field"),
    pytest.param(EB, {"a": [{"wildcard": "a\\*\\\\*"}]}, id="wildcard-escapes"),
    pytest.param(
        EB,
        {"a": [{"anything-but": {"suffix": ["x", "y"]}}]},
        id="eventbridge-anything-but-suffix-list",
    ),
    pytest.param(EB, {"a": [{"cidr": "2001:db8::/32"}]}, id="eventbridge-ipv6-cidr"),
    pytest.param(ATTRS, {"a": [{"cidr": "10.0.0.0/8"}]}, id="sns-cidr"),
    pytest.param(ATTRS, {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, id="sns-attributes-or"),
    pytest.param(EB, {"a": [{"exists": False}, "x", {"prefix": "y"}]}, id="mixed-conditions"),
]


@pytest.mark.parametrize(("dialect", "pattern"), VALID)
def test_valid_pattern(dialect: str, pattern: Any) -> None:
    compile_pattern(pattern, dialect)


def test_pattern_size_counts_text_as_given() -> None:
    pattern = {"a": ["x" * 2030]}
    compile_pattern(pattern, EB)  # compact JSON fits in 2048 characters
    with pytest.raises(InvalidPattern, match="too long"):
        compile_pattern(json.dumps(pattern, indent=8) + " " * 20, EB)


def test_limits_are_configurable() -> None:
    import dataclasses

    roomy = dataclasses.replace(EVENTBRIDGE, max_pattern_chars=4096, max_or_combinations=2000)
    compile_pattern({"a": ["x" * 3000]}, roomy)
    compile_pattern(nested_or(11, 3), roomy)


def test_invalid_pattern_is_an_invalid_parameter() -> None:
    with pytest.raises(InvalidParameterValue):
        compile_pattern({"a": []}, EB)


def test_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="unknown pattern dialect"):
        compile_pattern({"a": ["x"]}, "sqs")
