"""Limits that concern a whole pattern rather than one value in it."""

from __future__ import annotations

import math

from broker.matching.dialects import Dialect
from broker.matching.parse import fail
from broker.matching.syntax import ObjectPattern


def check_limits(pattern: ObjectPattern, dialect: Dialect) -> None:
    if dialect.max_keys is not None and top_level_keys(pattern) > dialect.max_keys:
        fail(f"{dialect.noun} can not have more than {dialect.max_keys} keys")
    limit = dialect.max_value_combinations
    if limit is not None and value_combinations(pattern) > limit:
        fail(f"{dialect.noun} is too complex")
    limit = dialect.max_or_combinations
    if limit is not None:
        count = or_combinations(pattern)
        if count > limit:
            fail(
                f"{dialect.noun} is too complex: its $or operators expand to {count} "
                f"combinations, the limit is {limit}"
            )


def top_level_keys(pattern: ObjectPattern) -> int:
    """SNS counts only top-level keys, per alternative of a top-level ``$or``."""
    own = len(pattern.leaves) + len(pattern.children)
    return own + max((top_level_keys(b) for b in pattern.alternatives), default=0)


def value_combinations(pattern: ObjectPattern, depth: int = 1) -> int:
    """SNS's complexity: multiply, for every value array, its length by its nesting depth.

    AWS's worked example: ``{"key_a": {"key_b": {"key_c": [4 values]}}, "key_d": {"key_e":
    [3 values]}}`` is ``3 x 4 x 2 x 3 = 72``. The alternatives of a ``$or`` add up.
    """
    total = math.prod(depth * len(leaf.conditions) for leaf in pattern.leaves)
    total *= math.prod(value_combinations(child, depth + 1) for _, child in pattern.children)
    if pattern.alternatives:
        total *= sum(value_combinations(b, depth) for b in pattern.alternatives)
    return total


def or_combinations(pattern: ObjectPattern) -> int:
    """How many conjunctions the pattern becomes once every ``$or`` is distributed."""
    total = math.prod(or_combinations(child) for _, child in pattern.children)
    if pattern.alternatives:
        total *= sum(or_combinations(b) for b in pattern.alternatives)
    return total
