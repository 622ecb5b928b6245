"""How event values are seen by the matchers: leaf values, comparison keys and number scales.

A document is parsed JSON. The matchers only ever look at *leaf values*: strings, numbers,
booleans, null, and :data:`OPAQUE` (a value that is present but has no comparable content, such as
an SNS ``Binary`` attribute). Arrays contribute their scalar elements; objects contribute none.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Final, TypeAlias, cast


class Opaque:
    """A present value that no value condition can match (only ``exists``)."""

    _instance: Opaque | None = None

    def __new__(cls) -> Opaque:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "OPAQUE"


OPAQUE: Final = Opaque()

Scalar: TypeAlias = str | int | float | bool | Opaque | None
"""A leaf value of a document."""

# Distinct keys for the JSON keywords: in Python ``True == 1`` and ``hash(True) == hash(1)``, so
# booleans must never be compared as plain values.
_TRUE_KEY: Final = ("true",)
_FALSE_KEY: Final = ("false",)
_NULL_KEY: Final = ("null",)
_OPAQUE_KEY: Final = ("opaque",)


@dataclass(frozen=True)
class NumberScale:
    """The numeric domain of a dialect: a symmetric range and a fixed number of decimals.

    Numbers inside the range are compared as integers scaled by ``10**decimals`` (AWS documents
    "N digits of accuracy after the decimal point"); that makes equality exact and hashable, so
    ``300``, ``300.0`` and ``3.0e2`` are one number.
    """

    limit: int
    decimals: int

    @property
    def factor(self) -> int:
        return int(10**self.decimals)

    def quantize(self, number: object) -> int | None:
        """The scaled integer for ``number``, or ``None`` if it is not a number in range."""
        if isinstance(number, bool):
            return None
        if isinstance(number, int):
            if -self.limit <= number <= self.limit:
                return number * self.factor
            return None
        if isinstance(number, float):
            if math.isfinite(number) and -self.limit <= number <= self.limit:
                return round(number * self.factor)
            return None
        return None

    def decimals_of(self, number: int | float) -> int:
        """How many digits ``number`` has after the decimal point, as written in JSON."""
        if isinstance(number, int):
            return 0
        text = repr(number)
        mantissa, _, exponent = text.partition("e")
        fraction = mantissa.partition(".")[2].rstrip("0")
        return max(0, len(fraction) - int(exponent or 0))


def value_key(value: object, scale: NumberScale) -> Hashable:
    """A hashable key under which equal leaf values (per the dialect's rules) collide."""
    if isinstance(value, str):
        return value
    if value is True:
        return _TRUE_KEY
    if value is False:
        return _FALSE_KEY
    if value is None:
        return _NULL_KEY
    if isinstance(value, int | float):
        return number_key(value, scale)
    return _OPAQUE_KEY if value is OPAQUE else ("other", id(value))


def number_key(number: int | float, scale: NumberScale) -> Hashable:
    quantized = scale.quantize(number)
    if quantized is not None:
        return ("#", quantized)
    # Out of the dialect's range: still equal to the same literal, compared exactly.
    if isinstance(number, float):
        if not math.isfinite(number):
            return ("#!", repr(number))
        if number.is_integer():
            return ("#!", int(number))
    return ("#!", number)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def leaf_values(value: object) -> Iterator[Scalar]:
    """A field's leaf values: itself if scalar, the scalars of an array, none for an object."""
    if isinstance(value, list):
        for element in value:
            if isinstance(element, list):
                yield from leaf_values(element)
            elif not isinstance(element, dict):
                yield element
    elif not isinstance(value, dict):
        yield cast(Scalar, value)
