"""Leaf conditions: the items of a pattern's value arrays, each deciding one leaf value.

Every condition is a frozen, hashable dataclass so that equal conditions from different patterns
can share a state in :mod:`broker.matching.index`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TypeAlias

from broker.matching.values import OPAQUE, NumberScale, Scalar, value_key


@dataclass(frozen=True)
class Equals:
    """An exact value: a string, a number (compared at the dialect's scale), a keyword."""

    literal: str | int | float | bool | None
    key: Hashable

    @classmethod
    def of(cls, literal: str | int | float | bool | None, scale: NumberScale) -> Equals:
        return cls(literal, value_key(literal, scale))

    def matches(self, value: Scalar, scale: NumberScale) -> bool:
        return value_key(value, scale) == self.key


@dataclass(frozen=True)
class EqualsIgnoreCase:
    folded: str

    def matches(self, value: Scalar, scale: NumberScale) -> bool:
        return isinstance(value, str) and value.casefold() == self.folded


@dataclass(frozen=True)
class Prefix:
    """``prefix``; with ``ignore_case`` the text is stored case-folded."""

    text: str
    ignore_case: bool = False

    def matches(self, value: Scalar, scale: NumberScale) -> bool:
        if not isinstance(value, str):
            return False
        return (value.casefold() if self.ignore_case else value).startswith(self.text)


@dataclass(frozen=True)
class Suffix:
    text: str
    ignore_case: bool = False

    def matches(self, value: Scalar, scale: NumberScale) -> bool:
        if not isinstance(value, str):
            return False
        return (value.casefold() if self.ignore_case else value).endswith(self.text)


@dataclass(frozen=True)
class Wildcard:
    """``*`` is any run of characters; ``\\*`` and ``\\\\`` are a literal star and backslash."""

    pattern: str
    regex: re.Pattern[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "regex", re.compile(wildcard_regex(self.pattern), re.DOTALL))

    def matches(self, value: Scalar, scale: NumberScale) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None


def wildcard_regex(pattern: str) -> str:
    """Translate an already validated wildcard pattern into a regular expression."""
    parts: list[str] = []
    literal: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            literal.append(next(chars))
        elif char == "*":
            parts.append(re.escape("".join(literal)))
            literal = []
        else:
            literal.append(char)
    parts.append(re.escape("".join(literal)))
    return ".*".join(parts)


@dataclass(frozen=True)
class Numeric:
    """A closed range of scaled integers; ``None`` is unbounded. Only JSON numbers match.

    Open bounds are closed when parsed (``> a`` is ``>= a + 1`` on scaled integers), which keeps
    the index's interval structure to one kind of interval.
    """

    low: int | None
    high: int | None

    def matches(self, value: Scalar, scale: NumberScale) -> bool:
        scaled = scale.quantize(value)
        if scaled is None:
            return False
        return (self.low is None or scaled >= self.low) and (
            self.high is None or scaled <= self.high
        )


@dataclass(frozen=True)
class Cidr:
    """An IPv4 or IPv6 network, kept as an inclusive range of integer addresses."""

    network: str
    version: int
    first: int
    last: int

    @classmethod
    def of(cls, text: str) -> Cidr:
        network = ipaddress.ip_network(text, strict=False)
        return cls(str(network), network.version, int(network.network_address), int(network[-1]))

    def matches(self, value: Scalar, scale: NumberScale) -> bool:
        address = ip_address(value)
        return (
            address is not None
            and address[0] == self.version
            and self.first <= address[1] <= self.last
        )


def ip_address(value: Scalar) -> tuple[int, int] | None:
    """``(version, integer)`` of an IP address string, or ``None``."""
    if not isinstance(value, str) or not value:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    return address.version, int(address)


@dataclass(frozen=True)
class Exists:
    """Presence of a leaf value; decided by :meth:`broker.matching.syntax.Leaf.matches`."""

    present: bool

    def matches(self, value: Scalar, scale: NumberScale) -> bool:
        return self.present


@dataclass(frozen=True)
class AnythingBut:
    """Any present value that none of ``excluded`` matches.

    An opaque value (SNS ``Binary``) has no content to compare, so it never matches.
    """

    excluded: tuple[Positive, ...]

    def matches(self, value: Scalar, scale: NumberScale) -> bool:
        if value is OPAQUE:
            return False
        return not any(condition.matches(value, scale) for condition in self.excluded)


Positive: TypeAlias = Equals | EqualsIgnoreCase | Prefix | Suffix | Wildcard | Numeric | Cidr
"""Conditions that hold for the values they describe (and can be excluded by anything-but)."""

Condition: TypeAlias = Positive | Exists | AnythingBut
