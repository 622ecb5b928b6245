"""JSON text or parsed JSON into a :class:`~broker.matching.syntax.ObjectPattern`.

Parsing validates everything local to one value (operator names and argument shapes, per the
dialect); :mod:`broker.matching.validation` checks the limits that concern the whole pattern.
Every error names its place with a JSON path such as ``detail.state[0].numeric[1]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, NoReturn

from broker.errors import InvalidPattern
from broker.matching.dialects import ALL_OPERATORS, Dialect
from broker.matching.matchers import (
    AnythingBut,
    Cidr,
    Condition,
    Equals,
    EqualsIgnoreCase,
    Exists,
    Numeric,
    Positive,
    Prefix,
    Suffix,
    Wildcard,
)
from broker.matching.syntax import Leaf, ObjectPattern
from broker.matching.values import is_number

OR = "$or"
_LOWER = frozenset({">", ">="})
_UPPER = frozenset({"<", "<="})

Segments = tuple[str | int, ...]


def render_path(segments: Segments) -> str:
    """``("detail", "state", 0, "numeric")`` as ``detail.state[0].numeric``."""
    text = ""
    for segment in segments:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += f".{segment}" if text else segment
    return text


def fail(message: str, segments: Segments = ()) -> NoReturn:
    path = render_path(segments)
    raise InvalidPattern(f"{message} at {path}" if path else message, path)


def load(pattern: str | bytes | Mapping[str, Any], dialect: Dialect) -> dict[str, Any]:
    """The pattern as a parsed JSON object, within the dialect's size limit."""
    if isinstance(pattern, bytes):
        try:
            pattern = pattern.decode("utf-8")
        except UnicodeDecodeError:
            fail(f"{dialect.noun} is not valid UTF-8")
    if isinstance(pattern, str):
        size = len(pattern)
        _check_size(size, dialect)
        try:
            parsed = json.loads(pattern, parse_constant=_refuse_constant)
        except ValueError as exc:
            fail(f"{dialect.noun} is not valid JSON: {exc}")
    elif isinstance(pattern, Mapping):
        try:
            size = len(json.dumps(pattern, separators=(",", ":"), allow_nan=False))
        except (TypeError, ValueError) as exc:
            fail(f"{dialect.noun} is not valid JSON: {exc}")
        _check_size(size, dialect)
        parsed = pattern
    else:
        fail(f"{dialect.noun} must be a JSON object")
    if not isinstance(parsed, Mapping):
        fail(f"{dialect.noun} must be a JSON object")
    return dict(parsed)


def _check_size(size: int, dialect: Dialect) -> None:
    if size > dialect.max_pattern_chars:
        fail(
            f"{dialect.noun} is too long: {size} characters, "
            f"the limit is {dialect.max_pattern_chars}"
        )


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def parse(document: Mapping[str, Any], dialect: Dialect) -> ObjectPattern:
    if not document and not dialect.empty_pattern:
        fail(f"{dialect.noun} must not be empty")
    return _Parser(dialect).object(document, (), top=True)


def is_or(value: object) -> bool:
    """Whether a ``$or`` key's value makes it the operator rather than a field name.

    As in event-ruler, ``$or`` is the operator only for an array of at least two objects none of
    whose keys is an operator name; otherwise it stays an ordinary field name.
    """
    return (
        isinstance(value, list)
        and len(value) >= 2
        and all(isinstance(branch, dict) for branch in value)
        and not any(key in ALL_OPERATORS for branch in value for key in branch)
    )


class _Parser:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.scale = dialect.numbers

    def object(self, obj: Mapping[str, Any], at: Segments, *, top: bool = False) -> ObjectPattern:
        if not obj and not top:
            fail("Empty objects are not allowed", at)
        leaves: list[Leaf] = []
        children: list[tuple[str, ObjectPattern]] = []
        alternatives: tuple[ObjectPattern, ...] = ()
        for key, value in obj.items():
            if not isinstance(key, str):
                fail("Field names must be strings", at)
            here = (*at, key)
            if key == OR and is_or(value):
                alternatives = tuple(
                    self.object(branch, (*here, i)) for i, branch in enumerate(value)
                )
            elif isinstance(value, Mapping):
                if not self.dialect.nesting:
                    fail(
                        f"{self.dialect.noun} for message attributes can not be nested: "
                        f'"{key}" must be an array',
                        here,
                    )
                children.append((key, self.object(value, here)))
            elif isinstance(value, list):
                leaves.append(self.leaf(key, value, here))
            else:
                fail(f'"{key}" must be an object or an array', here)
        return ObjectPattern(tuple(leaves), tuple(children), alternatives)

    def leaf(self, key: str, values: list[Any], at: Segments) -> Leaf:
        if not values:
            fail("Empty arrays are not allowed", at)
        conditions: list[Condition] = []
        for i, item in enumerate(values):
            condition = self.condition(item, (*at, i))
            if condition not in conditions:
                conditions.append(condition)
        return Leaf(key, tuple(conditions))

    def condition(self, item: Any, at: Segments) -> Condition:
        if isinstance(item, Mapping):
            return self.operator(item, at)
        if item is None or isinstance(item, str | bool):
            return Equals.of(item, self.scale)
        if is_number(item):
            self.finite(item, at)
            return Equals.of(item, self.scale)
        fail("Match value must be a string, number, true, false, null or an operator object", at)

    def operator(self, item: Mapping[str, Any], at: Segments) -> Condition:
        if len(item) != 1:
            fail("Match expression must have exactly one operator", at)
        ((name, argument),) = item.items()
        here = (*at, name)
        if name not in self.dialect.operators:
            fail(f"Unrecognized match type {name}", here)
        if name == "exists":
            if not isinstance(argument, bool):
                fail("exists match pattern must be either true or false", here)
            return Exists(argument)
        if name == "anything-but":
            return self.anything_but(argument, here)
        if name == "numeric":
            return self.numeric(argument, here)
        if name == "cidr":
            return self.cidr(argument, here)
        if name == "equals-ignore-case":
            return EqualsIgnoreCase(self.text(argument, name, here).casefold())
        if name == "wildcard":
            return Wildcard(self.wildcard(argument, here))
        if name in ("prefix", "suffix"):
            return self.affix(name, argument, here)
        raise AssertionError(name)  # every name in ALL_OPERATORS is handled above

    def text(self, argument: Any, name: str, at: Segments) -> str:
        if not isinstance(argument, str):
            fail(f"{name} match pattern must be a string", at)
        return argument

    def affix(self, name: str, argument: Any, at: Segments) -> Prefix | Suffix:
        kind = Prefix if name == "prefix" else Suffix
        if isinstance(argument, Mapping) and self.dialect.affix_ignore_case:
            if list(argument) != ["equals-ignore-case"]:
                fail(f"Unsupported {name} pattern: only equals-ignore-case is allowed", at)
            here = (*at, "equals-ignore-case")
            return kind(self.text(argument["equals-ignore-case"], name, here).casefold(), True)
        return kind(self.text(argument, name, at))

    def wildcard(self, argument: Any, at: Segments) -> str:
        pattern = self.text(argument, "wildcard", at)
        escaped = previous_star = False
        for char in pattern:
            if escaped:
                if char not in "*\\":
                    fail("Invalid escape in wildcard: only \\* and \\\\ are allowed", at)
                escaped = previous_star = False
            elif char == "\\":
                escaped = True
            elif char == "*":
                if previous_star:
                    fail("Consecutive wildcard characters are not allowed", at)
                previous_star = True
            else:
                previous_star = False
        if escaped:
            fail("Invalid escape in wildcard: a backslash must be followed by * or \\", at)
        return pattern

    def anything_but(self, argument: Any, at: Segments) -> AnythingBut:
        if isinstance(argument, str) or is_number(argument):
            return AnythingBut((self.excluded_value(argument, at),))
        if isinstance(argument, list):
            if not argument:
                fail("Empty arrays are not allowed", at)
            if all(isinstance(v, str) for v in argument) or all(is_number(v) for v in argument):
                return AnythingBut(
                    tuple(self.excluded_value(v, (*at, i)) for i, v in enumerate(argument))
                )
            fail("Inside anything-but list, values must be all strings or all numbers", at)
        if isinstance(argument, Mapping):
            return AnythingBut(self.anything_but_operator(argument, at))
        fail("anything-but must be a string, a number, an array of either, or an object", at)

    def excluded_value(self, value: str | int | float, at: Segments) -> Equals:
        if not isinstance(value, str):
            self.finite(value, at)
        return Equals.of(value, self.scale)

    def anything_but_operator(self, item: Mapping[str, Any], at: Segments) -> tuple[Positive, ...]:
        if len(item) != 1:
            fail("anything-but object must have exactly one operator", at)
        ((name, argument),) = item.items()
        here = (*at, name)
        if name not in self.dialect.anything_but_operators:
            fail(f"Unsupported anything-but pattern: {name}", here)
        if isinstance(argument, list) and self.dialect.anything_but_lists:
            if not argument:
                fail("Empty arrays are not allowed", here)
            items: list[tuple[Any, Segments]] = [(v, (*here, i)) for i, v in enumerate(argument)]
        else:
            items = [(argument, here)]
        excluded: list[Positive] = []
        for value, place in items:
            text = self.text(value, name, place)
            if name in ("prefix", "suffix") and not text:
                fail(f"Empty {name} is not allowed in anything-but", place)
            if name == "prefix":
                excluded.append(Prefix(text))
            elif name == "suffix":
                excluded.append(Suffix(text))
            elif name == "equals-ignore-case":
                excluded.append(EqualsIgnoreCase(text.casefold()))
            else:
                excluded.append(Wildcard(self.wildcard(text, place)))
        return tuple(excluded)

    def numeric(self, argument: Any, at: Segments) -> Numeric:
        if not isinstance(argument, list) or not argument:
            fail("numeric match pattern must be a non-empty array", at)
        if argument[0] == "=":
            if len(argument) != 2:
                fail('"=" takes exactly one number', at)
            scaled = self.operand(argument[1], (*at, 1))
            return Numeric(scaled, scaled)
        if len(argument) > 4:
            fail("Too many elements in numeric expression", at)
        low: int | None = None
        high: int | None = None
        position = 0
        while position < len(argument):
            op = argument[position]
            if not isinstance(op, str) or op not in _LOWER | _UPPER:
                fail(f"Unrecognized numeric range operator: {op}", (*at, position))
            if position + 1 >= len(argument):
                fail(f"Value of {op} must be numeric", (*at, position))
            scaled = self.operand(argument[position + 1], (*at, position + 1))
            if op in _LOWER:
                if position != 0:
                    fail("Bad numeric range: the lower bound must come first", (*at, position))
                low = scaled + 1 if op == ">" else scaled
            else:
                if high is not None:
                    fail("Bad numeric range: only one upper bound is allowed", (*at, position))
                high = scaled - 1 if op == "<" else scaled
            position += 2
        if low is not None and high is not None and not argument[1] < argument[3]:
            fail("Bad numeric range: bottom must be less than top", at)
        return Numeric(low, high)

    def operand(self, value: Any, at: Segments) -> int:
        if not is_number(value):
            fail("Value of numeric operator must be a number", at)
        self.finite(value, at)
        scale = self.scale
        scaled = scale.quantize(value)
        if scaled is None:
            fail(f"Value must be between {-scale.limit} and {scale.limit}, inclusive", at)
        if self.dialect.check_decimals and scale.decimals_of(value) > scale.decimals:
            fail(f"Value must have at most {scale.decimals} digits after the decimal point", at)
        return scaled

    def finite(self, value: int | float, at: Segments) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            fail("Numbers must be finite", at)

    def cidr(self, argument: Any, at: Segments) -> Cidr:
        text = self.text(argument, "cidr", at)
        try:
            return Cidr.of(text)
        except ValueError:
            fail(f"Malformed CIDR: {text!r}", at)
