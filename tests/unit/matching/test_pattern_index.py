"""The multi-pattern index: registration, removal, and sharing between patterns."""

from __future__ import annotations

from typing import Any

import pytest

from broker.errors import InvalidPattern
from broker.matching import PatternIndex, compile_pattern

EVENT: dict[str, Any] = {
    "source": "aws.ec2",
    "detail-type": "EC2 Instance State-change Notification",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"],
    "detail": {"state": "running", "cpu": 42.5, "ip": "10.1.2.3", "tags": ["a", "b"]},
}


def index_of(patterns: dict[str, Any], dialect: str = "eventbridge") -> PatternIndex[str]:
    index: PatternIndex[str] = PatternIndex(dialect)
    for name, pattern in patterns.items():
        index.add(name, pattern)
    return index


def test_matches_only_matching_patterns() -> None:
    index = index_of(
        {
            "ec2": {"source": ["aws.ec2"]},
            "s3": {"source": ["aws.s3"]},
            "running": {"source": ["aws.ec2"], "detail": {"state": ["running"]}},
            "stopped": {"source": ["aws.ec2"], "detail": {"state": ["stopped"]}},
        }
    )
    assert index.matching_ids(EVENT) == {"ec2", "running"}


def test_every_operator_kind_through_the_index() -> None:
    index = index_of(
        {
            "prefix": {"detail-type": [{"prefix": "EC2 Instance"}]},
            "suffix": {"detail-type": [{"suffix": "Notification"}]},
            "prefix-ic": {"source": [{"prefix": {"equals-ignore-case": "AWS."}}]},
            "suffix-ic": {"source": [{"suffix": {"equals-ignore-case": ".EC2"}}]},
            "ignore-case": {"source": [{"equals-ignore-case": "AWS.EC2"}]},
            "range": {"detail": {"cpu": [{"numeric": [">", 40, "<", 50]}]}},
            "equals": {"detail": {"cpu": [{"numeric": ["=", 42.5]}]}},
            "cidr": {"detail": {"ip": [{"cidr": "10.1.0.0/16"}]}},
            "exists": {"detail": {"tags": [{"exists": True}]}},
            "absent": {"detail": {"owner": [{"exists": False}]}},
            "anything-but": {"detail": {"state": [{"anything-but": "stopped"}]}},
            "wildcard": {"resources": [{"wildcard": "arn:aws:ec2:*:instance/*"}]},
            "miss-range": {"detail": {"cpu": [{"numeric": [">=", 50]}]}},
            "miss-cidr": {"detail": {"ip": [{"cidr": "10.2.0.0/16"}]}},
            "miss-absent": {"detail": {"state": [{"exists": False}]}},
            "miss-anything-but": {"detail": {"state": [{"anything-but": {"prefix": "run"}}]}},
        }
    )
    assert index.matching_ids(EVENT) == {
        "prefix",
        "suffix",
        "prefix-ic",
        "suffix-ic",
        "ignore-case",
        "range",
        "equals",
        "cidr",
        "exists",
        "absent",
        "anything-but",
        "wildcard",
    }


def test_remove_forgets_a_pattern() -> None:
    index = index_of({"a": {"source": ["aws.ec2"]}, "b": {"source": ["aws.ec2"]}})
    index.remove("a")
    assert index.matching_ids(EVENT) == {"b"}
    assert "a" not in index
    assert len(index) == 1


def test_remove_unknown_id_is_ignored() -> None:
    index = index_of({"a": {"source": ["aws.ec2"]}})
    index.remove("zzz")
    assert index.matching_ids(EVENT) == {"a"}


def test_remove_keeps_shared_states_for_others() -> None:
    index = index_of(
        {
            "short": {"source": ["aws.ec2"]},
            "long": {"source": ["aws.ec2"], "detail": {"state": ["running"]}},
            "longer": {"source": ["aws.ec2"], "detail": {"state": ["running"], "cpu": [42.5]}},
        }
    )
    index.remove("long")
    assert index.matching_ids(EVENT) == {"short", "longer"}
    index.remove("short")
    assert index.matching_ids(EVENT) == {"longer"}
    index.remove("longer")
    assert index.matching_ids(EVENT) == set()


def test_remove_everything_leaves_an_empty_index() -> None:
    index = index_of({f"r{i}": {"detail": {"cpu": [{"numeric": [">", i]}]}} for i in range(50)})
    for i in range(50):
        index.remove(f"r{i}")
    assert len(index) == 0
    assert index.matching_ids(EVENT) == set()
    index.add("again", {"detail": {"cpu": [{"numeric": ["<", 100]}]}})
    assert index.matching_ids(EVENT) == {"again"}


def test_add_replaces_the_pattern_of_an_id() -> None:
    index = index_of({"a": {"source": ["aws.s3"]}})
    assert index.matching_ids(EVENT) == set()
    index.add("a", {"source": ["aws.ec2"]})
    assert index.matching_ids(EVENT) == {"a"}
    assert len(index) == 1


def test_invalid_pattern_leaves_the_index_unchanged() -> None:
    index = index_of({"a": {"source": ["aws.ec2"]}})
    with pytest.raises(InvalidPattern):
        index.add("a", {"source": []})
    assert index.matching_ids(EVENT) == {"a"}


def test_accepts_compiled_patterns() -> None:
    index: PatternIndex[int] = PatternIndex("eventbridge")
    compiled = compile_pattern({"source": ["aws.ec2"]}, "eventbridge")
    index.add(7, compiled)
    assert index.get(7) is compiled
    assert index.matching_ids(EVENT) == {7}


def test_refuses_patterns_of_another_dialect() -> None:
    index: PatternIndex[int] = PatternIndex("eventbridge")
    with pytest.raises(ValueError, match="sns-body"):
        index.add(1, compile_pattern({"source": ["aws.ec2"]}, "sns-body"))


def test_or_pattern_reported_once() -> None:
    index = index_of({"a": {"$or": [{"source": ["aws.ec2"]}, {"detail": {"state": ["running"]}}]}})
    assert index.matching_ids(EVENT) == {"a"}


def test_same_path_in_base_and_or_branch() -> None:
    index = index_of({"a": {"detail": {"tags": ["a"], "$or": [{"tags": ["b"]}, {"tags": ["c"]}]}}})
    assert index.matching_ids(EVENT) == {"a"}


def test_array_consistency_through_the_index() -> None:
    index = index_of(
        {
            "same": {"items": {"k": ["x"], "v": [1]}},
            "across": {"items": {"k": ["x"], "v": [2]}},
        }
    )
    event = {"items": [{"k": "x", "v": 1}, {"k": "y", "v": 2}]}
    assert index.matching_ids(event) == {"same"}


def test_many_ranges_on_one_path() -> None:
    index = index_of({f"gt{i}": {"n": [{"numeric": [">", i]}]} for i in range(200)})
    for i in range(0, 200, 37):
        index.add(f"between{i}", {"n": [{"numeric": [">=", i, "<", i + 30]}]})
    found = index.matching_ids({"n": 100})
    assert found == {f"gt{i}" for i in range(100)} | {"between74"}


def test_many_prefixes_on_one_path() -> None:
    words = ["a", "ab", "abc", "abd", "b", "ba"]
    index = index_of({w: {"s": [{"prefix": w}]} for w in words})
    assert index.matching_ids({"s": "abcd"}) == {"a", "ab", "abc"}
    assert index.matching_ids({"s": ["bar", "abd"]}) == {"a", "ab", "abd", "b", "ba"}


def test_many_networks_on_one_path() -> None:
    index = index_of(
        {
            "wide": {"ip": [{"cidr": "10.0.0.0/8"}]},
            "narrow": {"ip": [{"cidr": "10.1.2.0/24"}]},
            "other": {"ip": [{"cidr": "192.168.0.0/16"}]},
            "v6": {"ip": [{"cidr": "::/0"}]},
        }
    )
    assert index.matching_ids({"ip": "10.1.2.3"}) == {"wide", "narrow"}
    assert index.matching_ids({"ip": "fe80::1"}) == {"v6"}


def test_empty_sns_policy_always_matches() -> None:
    index = index_of({"all": {}, "store": {"store": ["x"]}}, "sns-attributes")
    assert index.matching_ids({}) == {"all"}
    assert index.matching_ids({"store": {"Type": "String", "Value": "x"}}) == {"all", "store"}


def test_sns_attributes_index() -> None:
    index = index_of(
        {
            "cheap": {"price": [{"numeric": ["<", 10]}]},
            "sport": {"interests": ["rugby"]},
            "binary": {"blob": [{"exists": True}]},
        },
        "sns-attributes",
    )
    attributes = {
        "price": {"Type": "Number", "Value": "9.5"},
        "interests": {"Type": "String.Array", "Value": '["soccer", "rugby"]'},
        "blob": {"Type": "Binary", "Value": "AAE="},
    }
    assert index.matching_ids(attributes) == {"cheap", "sport", "binary"}


def test_non_object_documents_match_nothing() -> None:
    index = index_of({"absent": {"a": [{"exists": False}]}}, "sns-body")
    assert index.matching_ids("plain text") == set()
    assert index.matching_ids({}) == {"absent"}
