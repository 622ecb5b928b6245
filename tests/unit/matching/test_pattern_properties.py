"""Properties of the pattern language, checked on generated patterns and documents."""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.errors import InvalidPattern
from broker.matching import CompiledPattern, PatternIndex, compile_pattern

BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = ["a", "b", "c"]
UNRELATED = "unrelated"  # never a key of a generated pattern

STRINGS = ["x", "y", "xy", "X", "", "a*b", "10.0.0.1", "10.0.0.200", "::1"]
NUMBERS = [0, 1, -3, 2.5, 300, 300.0, 1e10]
SCALARS: list[Any] = [*STRINGS, *NUMBERS, True, False, None]

# Documents: nested objects, arrays of scalars and arrays of objects.
scalars = st.sampled_from(SCALARS)
values = st.recursive(
    scalars | st.lists(scalars, max_size=3),
    lambda inner: (
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)
        | st.lists(st.dictionaries(st.sampled_from(KEYS), inner, max_size=3), max_size=3)
    ),
    max_leaves=8,
)
events = st.dictionaries(st.sampled_from(KEYS), values, min_size=1, max_size=3)


def numeric_conditions() -> st.SearchStrategy[dict[str, Any]]:
    bound = st.sampled_from([-3, 0, 1, 2.5, 300])
    ordered = st.tuples(bound, bound).filter(lambda pair: pair[0] < pair[1])
    return st.one_of(
        st.tuples(st.sampled_from(["<", "<=", ">", ">=", "="]), bound).map(
            lambda op: {"numeric": list(op)}
        ),
        st.tuples(st.sampled_from([">", ">="]), st.sampled_from(["<", "<="]), ordered).map(
            lambda r: {"numeric": [r[0], r[2][0], r[1], r[2][1]]}
        ),
    )


def conditions(dialect: str) -> st.SearchStrategy[Any]:
    sns = dialect != "eventbridge"
    options: list[st.SearchStrategy[Any]] = [
        scalars,
        st.sampled_from(["", "x", "X", "1"]).map(lambda p: {"prefix": p}),
        st.sampled_from(["x", "y", "b"]).map(lambda s: {"suffix": s}),
        st.sampled_from(["X", "XY", ""]).map(lambda s: {"equals-ignore-case": s}),
        numeric_conditions(),
        st.booleans().map(lambda b: {"exists": b}),
        st.sampled_from(["10.0.0.0/24", "0.0.0.0/0", "::/0"]).map(lambda c: {"cidr": c}),
        st.one_of(
            st.sampled_from(STRINGS),
            st.sampled_from([1, 300, -3]),
            st.lists(st.sampled_from(STRINGS), min_size=1, max_size=2),
            st.lists(st.sampled_from([0, 2.5, 300]), min_size=1, max_size=2),
            st.sampled_from(["x", "1"]).map(lambda p: {"prefix": p}),
        ).map(lambda v: {"anything-but": v}),
    ]
    if not sns:
        options += [
            st.sampled_from(["x*", "*y", "*", "x*y", "a\\*b", "*0*"]).map(
                lambda w: {"wildcard": w}
            ),
            st.sampled_from(["x", "XY"]).map(lambda s: {"prefix": {"equals-ignore-case": s}}),
            st.sampled_from(["Y", "B"]).map(lambda s: {"suffix": {"equals-ignore-case": s}}),
            st.one_of(
                st.just({"suffix": "y"}),
                st.just({"equals-ignore-case": ["X", "Y"]}),
                st.just({"wildcard": "x*"}),
                st.just({"prefix": ["x", "1"]}),
            ).map(lambda v: {"anything-but": v}),
        ]
    return st.one_of(options)


def patterns(dialect: str, depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    leaf = st.lists(conditions(dialect), min_size=1, max_size=2)
    nested = depth > 0 and dialect != "sns-attributes"
    field = st.one_of(leaf, patterns(dialect, depth - 1)) if nested else leaf
    plain = st.dictionaries(st.sampled_from(KEYS), field, min_size=1, max_size=depth + 1)
    if depth == 0:
        return plain
    branches = st.lists(patterns(dialect, depth - 1), min_size=2, max_size=3)
    with_or = st.tuples(st.dictionaries(st.sampled_from(KEYS), field, max_size=2), branches).map(
        lambda parts: {**parts[0], "$or": parts[1]}
    )
    return plain | with_or


def compile_or_none(pattern: dict[str, Any], dialect: str) -> CompiledPattern | None:
    """Generated patterns are valid, but some exceed a dialect's size or complexity limits."""
    try:
        return compile_pattern(pattern, dialect)
    except InvalidPattern as exc:
        refusal = exc.message
    assert dialect != "eventbridge" or "too long" in refusal, pattern
    return None


def attributes_of(event: dict[str, Any]) -> dict[str, Any]:
    """SNS message attributes carrying the top-level values of a generated document."""
    attributes: dict[str, Any] = {}
    for name, value in event.items():
        if isinstance(value, str):
            attributes[name] = {"Type": "String", "Value": value}
        elif isinstance(value, bool) or value is None:
            attributes[name] = {"Type": "Binary", "Value": "AA=="}
        elif isinstance(value, int | float):
            attributes[name] = {"Type": "Number", "Value": repr(value)}
        elif isinstance(value, list):
            flat = [v for v in value if not isinstance(v, dict | list)]
            attributes[name] = {"Type": "String.Array", "Value": json.dumps(flat)}
    return attributes


# --- A pattern built from an event's own values matches the event ---------------------------

plain_values = st.recursive(
    st.one_of(
        st.text("abcXYZ*\\-. ", max_size=6),
        st.integers(-(10**6), 10**6),
        st.integers(-(10**6), 10**6).map(lambda i: i / 1000),
        st.ip_addresses().map(str),
        st.sampled_from([True, False, None]),
    ),
    lambda inner: (
        st.dictionaries(st.sampled_from(KEYS), inner, min_size=1, max_size=3)
        | st.lists(inner.filter(lambda v: not isinstance(v, dict | list)), min_size=1, max_size=3)
    ),
    max_leaves=10,
)
plain_events = st.dictionaries(st.sampled_from(KEYS), plain_values, min_size=1, max_size=3)


def leaves(value: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in leaves(item, (*path, key))]
    if isinstance(value, list):
        return [(path, item) for item in value]
    return [(path, value)]


def escape_wildcard(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*")


def derived_conditions(value: Any, siblings: list[Any]) -> list[Any]:
    """Conditions that ``value`` satisfies; anything-but excludes a value absent from the field."""
    derived: list[Any] = [value, {"exists": True}]
    if isinstance(value, str):
        half = len(value) // 2
        derived += [
            {"prefix": value[:half]},
            {"suffix": value[half:]},
            {"equals-ignore-case": value.swapcase()},
            {"prefix": {"equals-ignore-case": value[:half].upper()}},
            {"wildcard": escape_wildcard(value[:half]) + "*" + escape_wildcard(value[half + 1 :])},
            {"anything-but": {"prefix": "\u2603"}},
        ]
        if "never" not in siblings:
            derived.append({"anything-but": ["never"]})
        with contextlib.suppress(ValueError):
            derived.append({"cidr": str(ipaddress.ip_network(value))})
    elif isinstance(value, int | float) and not isinstance(value, bool):
        derived += [
            {"numeric": ["=", value]},
            {"numeric": [">=", value, "<", value + 1]},
            {"numeric": [">", value - 0.5, "<=", value]},
        ]
        if 123456789 not in siblings:
            derived.append({"anything-but": 123456789})
    return derived


def pattern_at(pattern: dict[str, Any], path: tuple[str, ...], condition: Any) -> None:
    node = pattern
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = [condition]


@BOUNDED
@given(event=plain_events, data=st.data())
def test_pattern_from_own_values_matches(event: dict[str, Any], data: st.DataObject) -> None:
    by_path: dict[tuple[str, ...], list[Any]] = {}
    for path, value in leaves(event):
        by_path.setdefault(path, []).append(value)
    chosen = data.draw(st.lists(st.sampled_from(sorted(by_path)), min_size=1, unique=True))
    pattern: dict[str, Any] = {}
    for path in chosen:
        value = data.draw(st.sampled_from(by_path[path]))
        condition = data.draw(st.sampled_from(derived_conditions(value, by_path[path])))
        pattern_at(pattern, path, condition)
    assert compile_pattern(pattern, "eventbridge").matches(event), pattern


# --- Fields the pattern does not name never change the answer ----------------------------------


def objects_in(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value] + [o for item in value.values() for o in objects_in(item)]
    if isinstance(value, list):
        return [o for item in value for o in objects_in(item)]
    return []


@BOUNDED
@given(pattern=patterns("eventbridge"), event=events, extra=values, data=st.data())
def test_unrelated_field_never_changes_the_answer(
    pattern: dict[str, Any], event: dict[str, Any], extra: Any, data: st.DataObject
) -> None:
    compiled = compile_pattern(pattern, "eventbridge")
    widened = copy.deepcopy(event)
    target = data.draw(st.sampled_from(objects_in(widened)))
    target[UNRELATED] = extra
    assert compiled.matches(widened) == compiled.matches(event)


# --- The index and the single-pattern matcher agree ----------------------------------------


def compiled_and_indexed(
    dialect: str, raw: list[dict[str, Any]]
) -> tuple[dict[int, CompiledPattern], PatternIndex[int]]:
    compiled = {i: c for i, p in enumerate(raw) if (c := compile_or_none(p, dialect)) is not None}
    index: PatternIndex[int] = PatternIndex(dialect)
    for i, pattern in compiled.items():
        index.add(i, pattern)
    return compiled, index


def assert_agree(
    compiled: dict[int, CompiledPattern], index: PatternIndex[int], documents: list[Any]
) -> None:
    for document in documents:
        expected = {i for i, pattern in compiled.items() if pattern.matches(document)}
        assert index.matching_ids(document) == expected, document


@BOUNDED
@given(
    raw=st.lists(patterns("eventbridge"), min_size=1, max_size=8),
    documents=st.lists(events, min_size=1, max_size=3),
    data=st.data(),
)
def test_index_agrees_eventbridge(
    raw: list[dict[str, Any]], documents: list[Any], data: st.DataObject
) -> None:
    compiled, index = compiled_and_indexed("eventbridge", raw)
    assert_agree(compiled, index, documents)
    # Removing patterns must leave exactly the others behind.
    for i in data.draw(st.sets(st.sampled_from(sorted(compiled) or [0]))):
        index.remove(i)
        compiled.pop(i, None)
    assert_agree(compiled, index, documents)


@BOUNDED
@given(
    raw=st.lists(patterns("sns-body"), min_size=1, max_size=8),
    documents=st.lists(events, min_size=1, max_size=3),
)
def test_index_agrees_sns_body(raw: list[dict[str, Any]], documents: list[Any]) -> None:
    assert_agree(*compiled_and_indexed("sns-body", raw), documents)


flat_events = st.dictionaries(
    st.sampled_from(KEYS), scalars | st.lists(scalars, max_size=3), min_size=1, max_size=3
)


@BOUNDED
@given(
    raw=st.lists(patterns("sns-attributes"), min_size=1, max_size=8),
    documents=st.lists(flat_events.map(attributes_of), min_size=1, max_size=3),
)
def test_index_agrees_sns_attributes(raw: list[dict[str, Any]], documents: list[Any]) -> None:
    assert_agree(*compiled_and_indexed("sns-attributes", raw), documents)
