"""EventBridge event patterns against events, from AWS's documented behaviour.

Every case runs twice: through the single-pattern matcher and through a one-pattern index.
"""

from __future__ import annotations

from typing import Any

import pytest

from broker.matching import PatternIndex, compile_pattern

EC2: dict[str, Any] = {
    "version": "0",
    "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "012345679012",
    "time": "2017-10-02T16:24:49Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
    "detail": {
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "instance-id": "i-000000aaaaaa00000",
        "state": "running",
    },
}

EMPLOYEES: dict[str, Any] = {
    "employees": [
        {"firstName": "John", "lastName": "Doe"},
        {"firstName": "Anna", "lastName": "Smith"},
        {"firstName": "Peter", "lastName": "Jones"},
    ]
}


def case(name: str, pattern: Any, event: Any, expected: bool) -> Any:
    return pytest.param(pattern, event, expected, id=name)


def d(**detail: Any) -> dict[str, Any]:
    return {"detail": detail}


CASES = [
    # Exact values
    case("exact-string-matches", {"source": ["aws.ec2"]}, EC2, True),
    case("exact-string-is-case-sensitive", {"source": ["AWS.EC2"]}, EC2, False),
    case("exact-string-no-normalisation", {"source": ["aws.ec2 "]}, EC2, False),
    case("value-array-is-or", d(state=["initializing", "running"]), EC2, True),
    case("value-array-none-match", d(state=["initializing", "stopped"]), EC2, False),
    case("keys-are-and", {"source": ["aws.ec2"], "detail": {"state": ["stopped"]}}, EC2, False),
    case("keys-all-match", {"source": ["aws.ec2"], "region": ["us-east-1"]}, EC2, True),
    case("nested-object-path", d(**{"instance-id": ["i-000000aaaaaa00000"]}), EC2, True),
    case("unnamed-fields-ignored", {"region": ["us-east-1"]}, EC2, True),
    case("missing-field-does-not-match", d(missing=["x"]), EC2, False),
    case("missing-parent-does-not-match", {"nope": {"state": ["running"]}}, EC2, False),
    case(
        "event-array-intersects",
        {"resources": ["other", "arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"]},
        EC2,
        True,
    ),
    case("event-array-disjoint", {"resources": ["other"]}, EC2, False),
    case(
        "arn-separators-are-exact",
        {"resources": ["arn:aws:ec2:us-east-1:123456789012:instance:i-000000aaaaaa00000"]},
        EC2,
        False,
    ),
    case("exact-integer", d(**{"c-count": [5]}), EC2, True),
    case("exact-float", d(**{"x-limit": [301.8]}), EC2, True),
    case("exact-number-exponent-form-equal", d(**{"x-limit": [3.018e2]}), EC2, True),
    case("exact-number-300-matches-300.0", {"n": [300]}, {"n": 300.0}, True),
    case("exact-number-3e2-matches-300", {"n": [3.0e2]}, {"n": 300}, True),
    case("exact-number-differs", d(**{"x-limit": [301.9]}), EC2, False),
    case("number-pattern-not-string-event", {"n": [5]}, {"n": "5"}, False),
    case("string-pattern-not-number-event", d(**{"c-count": ["5"]}), EC2, False),
    case("big-number-literal-exact", {"n": [12345678901234]}, {"n": 12345678901234}, True),
    case("big-number-literal-differs", {"n": [12345678901234]}, {"n": 12345678901235}, False),
    case("null-matches-null", {"u": [None]}, {"u": None}, True),
    case("null-does-not-match-missing", {"u": [None]}, {}, False),
    case("null-does-not-match-empty-string", {"u": [None]}, {"u": ""}, False),
    case("empty-string-matches-empty-string", {"u": [""]}, {"u": ""}, True),
    case("empty-string-does-not-match-null", {"u": [""]}, {"u": None}, False),
    case("true-matches-true", {"b": [True]}, {"b": True}, True),
    case("true-not-string-true", {"b": [True]}, {"b": "true"}, False),
    case("true-not-number-one", {"b": [True]}, {"b": 1}, False),
    case("one-not-true", {"b": [1]}, {"b": True}, False),
    case("false-not-zero", {"b": [False]}, {"b": 0}, False),
    case("false-matches-false", {"b": [False]}, {"b": False}, True),
    case("leaf-pattern-vs-object-value", {"detail": ["x"]}, EC2, False),
    case("mixed-value-list", d(state=["stopped", {"prefix": "run"}]), EC2, True),
    case(
        "dotted-key-is-not-a-path",
        {"detail": {"state.status": ["on"]}},
        d(state={"status": "on"}),
        False,
    ),
    case(
        "dotted-key-matches-dotted-key",
        {"detail": {"state.status": ["on"]}},
        d(**{"state.status": "on"}),
        True,
    ),
    case("non-object-event-matches-nothing", {"a": [{"exists": False}]}, ["a"], False),
    # Prefix, suffix, equals-ignore-case
    case("prefix-matches", {"time": [{"prefix": "2017-10-02"}]}, EC2, True),
    case("prefix-does-not-match", {"time": [{"prefix": "2017-10-03"}]}, EC2, False),
    case("prefix-is-case-sensitive", {"source": [{"prefix": "AWS."}]}, EC2, False),
    case("prefix-whole-value", {"source": [{"prefix": "aws.ec2"}]}, EC2, True),
    case("prefix-longer-than-value", {"source": [{"prefix": "aws.ec2x"}]}, EC2, False),
    case("prefix-strings-only", {"n": [{"prefix": "1"}]}, {"n": 12}, False),
    case("prefix-empty-matches-any-string", {"s": [{"prefix": ""}]}, {"s": "abc"}, True),
    case("prefix-on-array-elements", {"resources": [{"prefix": "arn:aws:ec2"}]}, EC2, True),
    case(
        "prefix-ignore-case", {"source": [{"prefix": {"equals-ignore-case": "AWS.E"}}]}, EC2, True
    ),
    case(
        "prefix-ignore-case-miss",
        {"source": [{"prefix": {"equals-ignore-case": "AWS.S"}}]},
        EC2,
        False,
    ),
    case("suffix-matches", {"source": [{"suffix": "ec2"}]}, EC2, True),
    case("suffix-does-not-match", {"source": [{"suffix": "s3"}]}, EC2, False),
    case("suffix-is-case-sensitive", {"f": [{"suffix": ".PNG"}]}, {"f": "a.png"}, False),
    case(
        "suffix-ignore-case",
        {"f": [{"suffix": {"equals-ignore-case": ".PNG"}}]},
        {"f": "a.png"},
        True,
    ),
    case("suffix-strings-only", {"n": [{"suffix": "2"}]}, {"n": 12}, False),
    case("equals-ignore-case-matches", {"source": [{"equals-ignore-case": "AWS.EC2"}]}, EC2, True),
    case("equals-ignore-case-whole-value", {"source": [{"equals-ignore-case": "AWS"}]}, EC2, False),
    case("equals-ignore-case-strings-only", {"n": [{"equals-ignore-case": "5"}]}, {"n": 5}, False),
    case(
        "equals-ignore-case-unicode", {"s": [{"equals-ignore-case": "ÄPFEL"}]}, {"s": "äpfel"}, True
    ),
    # Wildcard
    case(
        "wildcard-middle",
        {"s": [{"wildcard": "Simple*Service"}]},
        {"s": "SimpleQueueService"},
        True,
    ),
    case(
        "wildcard-empty-run", {"s": [{"wildcard": "Simple*Service"}]}, {"s": "SimpleService"}, True
    ),
    case(
        "wildcard-anchored-both-ends",
        {"s": [{"wildcard": "Simple*Service"}]},
        {"s": "xSimpleService"},
        False,
    ),
    case("wildcard-several-stars", {"s": [{"wildcard": "*/lib/*"}]}, {"s": "/usr/lib/x.so"}, True),
    case(
        "wildcard-several-stars-miss", {"s": [{"wildcard": "*/lib/*"}]}, {"s": "/usr/bin/x"}, False
    ),
    case("wildcard-escaped-star-literal", {"s": [{"wildcard": "a\\*b"}]}, {"s": "a*b"}, True),
    case("wildcard-escaped-star-not-wild", {"s": [{"wildcard": "a\\*b"}]}, {"s": "axb"}, False),
    case("wildcard-escaped-backslash", {"s": [{"wildcard": "a\\\\b"}]}, {"s": "a\\b"}, True),
    case("wildcard-escaped-star-then-star", {"s": [{"wildcard": "a\\**"}]}, {"s": "a*bc"}, True),
    case("wildcard-without-star-is-exact", {"s": [{"wildcard": "abc"}]}, {"s": "abcd"}, False),
    case("wildcard-regex-characters-literal", {"s": [{"wildcard": "a.c*"}]}, {"s": "abc"}, False),
    case("wildcard-spans-newlines", {"s": [{"wildcard": "a*b"}]}, {"s": "a\nb"}, True),
    case("wildcard-strings-only", {"n": [{"wildcard": "1*"}]}, {"n": 12}, False),
    # Anything-but
    case("anything-but-string", d(state=[{"anything-but": "initializing"}]), EC2, True),
    case("anything-but-string-excluded", d(state=[{"anything-but": "running"}]), EC2, False),
    case("anything-but-number", d(**{"x-limit": [{"anything-but": 123}]}), EC2, True),
    case("anything-but-number-excluded", d(**{"x-limit": [{"anything-but": 301.8}]}), EC2, False),
    case("anything-but-number-by-value", {"n": [{"anything-but": 300}]}, {"n": 3e2}, False),
    case("anything-but-list", d(state=[{"anything-but": ["stopped", "overloaded"]}]), EC2, True),
    case(
        "anything-but-list-excluded",
        d(state=[{"anything-but": ["stopped", "running"]}]),
        EC2,
        False,
    ),
    case(
        "anything-but-number-list", d(**{"x-limit": [{"anything-but": [100, 200, 300]}]}), EC2, True
    ),
    case("anything-but-requires-presence", d(nope=[{"anything-but": "x"}]), EC2, False),
    case("anything-but-null-is-a-value", {"s": [{"anything-but": "x"}]}, {"s": None}, True),
    case("anything-but-string-vs-number", {"s": [{"anything-but": "x"}]}, {"s": 5}, True),
    case("anything-but-number-vs-string", {"s": [{"anything-but": [100]}]}, {"s": "100"}, True),
    case(
        "anything-but-array-any-element",
        {"sports": [{"anything-but": ["rugby", "tennis"]}]},
        {"sports": ["rugby", "baseball"]},
        True,
    ),
    case(
        "anything-but-array-all-excluded",
        {"sports": [{"anything-but": ["rugby", "tennis"]}]},
        {"sports": ["rugby", "tennis"]},
        False,
    ),
    case("anything-but-empty-array-is-absent", {"s": [{"anything-but": "x"}]}, {"s": []}, False),
    case(
        "anything-but-object-is-not-a-leaf", {"s": [{"anything-but": "x"}]}, {"s": {"t": 1}}, False
    ),
    case("anything-but-prefix", d(state=[{"anything-but": {"prefix": "init"}}]), EC2, True),
    case(
        "anything-but-prefix-excluded", d(state=[{"anything-but": {"prefix": "run"}}]), EC2, False
    ),
    case(
        "anything-but-prefix-list",
        d(state=[{"anything-but": {"prefix": ["init", "run"]}}]),
        EC2,
        False,
    ),
    case(
        "anything-but-prefix-vs-number", {"n": [{"anything-but": {"prefix": "1"}}]}, {"n": 12}, True
    ),
    case(
        "anything-but-suffix", {"f": [{"anything-but": {"suffix": ".png"}}]}, {"f": "a.jpg"}, True
    ),
    case(
        "anything-but-suffix-excluded",
        {"f": [{"anything-but": {"suffix": ".png"}}]},
        {"f": "a.png"},
        False,
    ),
    case(
        "anything-but-equals-ignore-case",
        d(state=[{"anything-but": {"equals-ignore-case": "RUNNING"}}]),
        EC2,
        False,
    ),
    case(
        "anything-but-equals-ignore-case-list",
        d(state=[{"anything-but": {"equals-ignore-case": ["STOPPED", "PENDING"]}}]),
        EC2,
        True,
    ),
    case(
        "anything-but-wildcard",
        {"p": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"p": "/usr/bin/x"},
        True,
    ),
    case(
        "anything-but-wildcard-excluded",
        {"p": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"p": "/usr/lib/x"},
        False,
    ),
    # Numeric
    case("numeric-range", d(**{"c-count": [{"numeric": [">", 0, "<=", 5]}]}), EC2, True),
    case("numeric-upper-only", d(**{"d-count": [{"numeric": ["<", 10]}]}), EC2, True),
    case("numeric-equals", d(**{"x-limit": [{"numeric": ["=", 3.018e2]}]}), EC2, True),
    case("numeric-equals-int-and-float", {"n": [{"numeric": ["=", 300]}]}, {"n": 300.0}, True),
    case("numeric-less-than-is-exclusive", {"n": [{"numeric": ["<", 5]}]}, {"n": 5}, False),
    case("numeric-less-or-equal", {"n": [{"numeric": ["<=", 5]}]}, {"n": 5}, True),
    case("numeric-greater-than-is-exclusive", {"n": [{"numeric": [">", 5]}]}, {"n": 5}, False),
    case("numeric-greater-or-equal", {"n": [{"numeric": [">=", 5]}]}, {"n": 5}, True),
    case("numeric-range-below", {"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 0}, False),
    case("numeric-range-above", {"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5.000001}, False),
    case("numeric-negative", {"n": [{"numeric": [">=", -10, "<", 0]}]}, {"n": -5}, True),
    case("numeric-fraction", {"n": [{"numeric": [">", 0.5, "<", 0.6]}]}, {"n": 0.55}, True),
    case("numeric-string-value-never", {"n": [{"numeric": [">", 0]}]}, {"n": "5"}, False),
    case("numeric-boolean-value-never", {"n": [{"numeric": [">", 0]}]}, {"n": True}, False),
    case("numeric-null-value-never", {"n": [{"numeric": ["<", 1]}]}, {"n": None}, False),
    case("numeric-array-any-element", {"n": [{"numeric": [">", 5]}]}, {"n": [1, 10]}, True),
    case("numeric-six-decimals-kept", {"n": [{"numeric": ["<", 1]}]}, {"n": 0.999999}, True),
    case(
        "numeric-seventh-decimal-rounded", {"n": [{"numeric": ["<", 1]}]}, {"n": 0.9999999}, False
    ),
    case("numeric-event-beyond-range", {"n": [{"numeric": [">", 0]}]}, {"n": 6e9}, False),
    case("numeric-at-range-limit", {"n": [{"numeric": [">=", 5e9]}]}, {"n": 5000000000}, True),
    case("numeric-missing-field", {"n": [{"numeric": [">", 0]}]}, {}, False),
    # Exists
    case("exists-true-present", d(state=[{"exists": True}]), EC2, True),
    case("exists-true-missing", d(nope=[{"exists": True}]), EC2, False),
    case("exists-false-missing", d(nope=[{"exists": False}]), EC2, True),
    case("exists-false-present", d(state=[{"exists": False}]), EC2, False),
    case("exists-true-null-is-present", {"u": [{"exists": True}]}, {"u": None}, True),
    case("exists-false-null-is-present", {"u": [{"exists": False}]}, {"u": None}, False),
    case("exists-true-empty-string", {"u": [{"exists": True}]}, {"u": ""}, True),
    case("exists-true-object-is-not-leaf", {"detail": [{"exists": True}]}, EC2, False),
    case("exists-false-object-is-not-leaf", {"detail": [{"exists": False}]}, EC2, True),
    case("exists-true-empty-array", {"a": [{"exists": True}]}, {"a": []}, False),
    case("exists-false-empty-array", {"a": [{"exists": False}]}, {"a": []}, True),
    case("exists-true-array", {"resources": [{"exists": True}]}, EC2, True),
    case("exists-false-missing-parent", {"x": {"y": [{"exists": False}]}}, EC2, True),
    case("exists-false-scalar-parent", {"source": {"y": [{"exists": False}]}}, EC2, True),
    case(
        "exists-false-with-other-keys",
        {"source": ["aws.ec2"], "detail": {"nope": [{"exists": False}]}},
        EC2,
        True,
    ),
    case("exists-false-or-value", {"s": ["a", {"exists": False}]}, {"s": "a"}, True),
    case("exists-false-or-value-absent", {"s": ["a", {"exists": False}]}, {}, True),
    case("exists-false-or-value-other", {"s": ["a", {"exists": False}]}, {"s": "b"}, False),
    # CIDR
    case("cidr-ipv4-inside", d(**{"source-ip": [{"cidr": "10.0.0.0/24"}]}), EC2, True),
    case("cidr-ipv4-outside", d(**{"source-ip": [{"cidr": "10.0.1.0/24"}]}), EC2, False),
    case("cidr-ipv4-last-address", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.255"}, True),
    case("cidr-ipv4-host-route", {"ip": [{"cidr": "10.0.0.33/32"}]}, {"ip": "10.0.0.33"}, True),
    case("cidr-bare-address", {"ip": [{"cidr": "10.0.0.33"}]}, {"ip": "10.0.0.34"}, False),
    case("cidr-host-bits-ignored", {"ip": [{"cidr": "10.0.0.7/24"}]}, {"ip": "10.0.0.200"}, True),
    case("cidr-ipv6-inside", {"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8::1"}, True),
    case("cidr-ipv6-outside", {"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db9::1"}, False),
    case("cidr-version-mismatch", {"ip": [{"cidr": "0.0.0.0/0"}]}, {"ip": "::1"}, False),
    case("cidr-non-address-string", {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "ten"}, False),
    case("cidr-number-value", {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": 167772161}, False),
    # $or
    case(
        "or-first-branch",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        },
        {"source": "aws.cloudwatch", "metricName": "CPUUtilization"},
        True,
    ),
    case(
        "or-second-branch",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        },
        {"source": "aws.cloudwatch", "namespace": "AWS/EC2"},
        True,
    ),
    case(
        "or-no-branch",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        },
        {"source": "aws.cloudwatch", "namespace": "AWS/ES"},
        False,
    ),
    case(
        "or-and-with-sibling-keys",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
        },
        {"source": "aws.s3", "namespace": "AWS/EC2"},
        False,
    ),
    case(
        "or-parallel-both-hold",
        {
            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
            "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["Alarm"]}]},
        },
        {"namespace": "AWS/EC2", "detail": {"detail-type": "Alarm"}},
        True,
    ),
    case(
        "or-parallel-one-fails",
        {
            "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
            "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["Alarm"]}]},
        },
        {"namespace": "AWS/EC2", "detail": {"detail-type": "Other"}},
        False,
    ),
    case(
        "or-branch-is-and",
        {"$or": [{"a": ["1"]}, {"b": ["2"], "c": ["3"]}]},
        {"b": "2", "c": "4"},
        False,
    ),
    case(
        "or-branch-is-and-holds",
        {"$or": [{"a": ["1"]}, {"b": ["2"], "c": ["3"]}]},
        {"b": "2", "c": "3"},
        True,
    ),
    case(
        "or-nested",
        {"$or": [{"a": ["1"]}, {"b": ["2"], "$or": [{"c": ["3"]}, {"d": ["4"]}]}]},
        {"b": "2", "d": "4"},
        True,
    ),
    case(
        "or-nested-inner-fails",
        {"$or": [{"a": ["1"]}, {"b": ["2"], "$or": [{"c": ["3"]}, {"d": ["4"]}]}]},
        {"b": "2", "d": "5"},
        False,
    ),
    case(
        "or-branch-exists-false",
        {"$or": [{"a": [{"exists": False}]}, {"a": ["x"]}]},
        {"a": "y"},
        False,
    ),
    case("or-object-value-is-a-field-name", {"$or": {"a": ["x"]}}, {"$or": {"a": "x"}}, True),
    case("or-array-of-values-is-a-field-name", {"$or": ["x"]}, {"$or": "x"}, True),
    # Arrays of objects
    case("array-of-objects-crushed", {"employees": {"firstName": ["Anna"]}}, EMPLOYEES, True),
    case(
        "array-of-objects-same-element",
        {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
        EMPLOYEES,
        True,
    ),
    case(
        "array-of-objects-never-across-elements",
        {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
        EMPLOYEES,
        False,
    ),
    case(
        "array-of-arrays-crushed",
        {"employees": {"firstName": ["Peter"], "lastName": ["Jones"]}},
        {
            "employees": [
                [{"firstName": "John", "lastName": "Doe"}],
                [{"firstName": "Peter", "lastName": "Jones"}],
            ]
        },
        True,
    ),
    case(
        "array-of-arrays-never-across-elements",
        {"employees": {"firstName": ["John"], "lastName": ["Jones"]}},
        {
            "employees": [
                [{"firstName": "John", "lastName": "Doe"}],
                [{"firstName": "Peter", "lastName": "Jones"}],
            ]
        },
        False,
    ),
    case(
        "array-element-exists-false-per-element",
        {"employees": {"firstName": ["Anna"], "middle": [{"exists": False}]}},
        {"employees": [{"firstName": "Anna"}, {"firstName": "Peter", "middle": "Q"}]},
        True,
    ),
    case(
        "array-element-exists-false-same-element",
        {"employees": {"firstName": ["Peter"], "middle": [{"exists": False}]}},
        {"employees": [{"firstName": "Anna"}, {"firstName": "Peter", "middle": "Q"}]},
        False,
    ),
    case(
        "array-element-or-per-element",
        {"items": {"$or": [{"a": [1]}, {"b": [2]}]}},
        {"items": [{"c": 3}, {"b": 2}]},
        True,
    ),
    case(
        "array-deep-consistency",
        {"orders": {"lines": {"sku": ["A"], "qty": [2]}}},
        {"orders": [{"lines": [{"sku": "A", "qty": 1}]}, {"lines": [{"sku": "B", "qty": 2}]}]},
        False,
    ),
    case(
        "array-deep-consistency-holds",
        {"orders": {"id": [7], "lines": {"sku": ["B"], "qty": [2]}}},
        {
            "orders": [
                {"id": 6, "lines": [{"sku": "A"}]},
                {"id": 7, "lines": [{"sku": "B", "qty": 2}]},
            ]
        },
        True,
    ),
    case(
        "array-outer-field-with-element-field",
        {"source": ["s"], "items": {"k": ["v"]}},
        {"source": "s", "items": [{"k": "w"}, {"k": "v"}]},
        True,
    ),
    case(
        "array-scalars-for-nested-pattern", {"a": {"b": [{"exists": False}]}}, {"a": [1, 2]}, True
    ),
    case("array-mixed-scalars-and-objects", {"a": [1]}, {"a": [{"b": 2}, 1]}, True),
]


@pytest.mark.parametrize(("pattern", "event", "expected"), CASES)
def test_single_pattern(pattern: Any, event: Any, expected: bool) -> None:
    assert compile_pattern(pattern, "eventbridge").matches(event) is expected


@pytest.mark.parametrize(("pattern", "event", "expected"), CASES)
def test_index_agrees(pattern: Any, event: Any, expected: bool) -> None:
    index: PatternIndex[str] = PatternIndex("eventbridge")
    index.add("rule", pattern)
    assert index.matching_ids(event) == ({"rule"} if expected else set())


def test_duplicate_keys_last_one_wins() -> None:
    pattern = compile_pattern('{"source": ["aws.s3"], "source": ["aws.ec2"]}', "eventbridge")
    assert pattern.matches(EC2)


def test_pattern_as_json_text() -> None:
    text = '{"detail": {"x-limit": [{"numeric": ["=", 3.018e2]}]}}'
    assert compile_pattern(text, "eventbridge").matches(EC2)


def test_pattern_as_bytes() -> None:
    assert compile_pattern(b'{"source": ["aws.ec2"]}', "eventbridge").matches(EC2)
