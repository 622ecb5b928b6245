"""The typed pattern tree that parsing produces and both matchers consume."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from broker.matching.matchers import Condition, Equals, Exists
from broker.matching.values import NumberScale, Scalar, value_key

Path = tuple[str, ...]
"""A field path: the object keys from the document's root, array positions left out."""


@dataclass(frozen=True)
class Leaf:
    """A key whose pattern value is an array of conditions: any of them may match."""

    key: str
    conditions: tuple[Condition, ...]
    # Exact values are the common case; one set lookup replaces a scan over them.
    exact_keys: frozenset[Hashable] = field(init=False, compare=False, repr=False)
    others: tuple[Condition, ...] = field(init=False, compare=False, repr=False)
    absent_ok: bool = field(init=False, compare=False, repr=False)
    present_ok: bool = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        exact = frozenset(c.key for c in self.conditions if isinstance(c, Equals))
        others = tuple(c for c in self.conditions if not isinstance(c, Equals))
        object.__setattr__(self, "exact_keys", exact)
        object.__setattr__(self, "others", others)
        object.__setattr__(self, "absent_ok", Exists(False) in self.conditions)
        object.__setattr__(self, "present_ok", Exists(True) in self.conditions)

    def matches(self, values: list[Scalar], scale: NumberScale) -> bool:
        """Whether the field's leaf values satisfy the conditions (none means it is missing)."""
        if not values:
            return self.absent_ok
        for value in values:
            if self.exact_keys and value_key(value, scale) in self.exact_keys:
                return True
            for condition in self.others:
                if condition.matches(value, scale):
                    return True
        return False


@dataclass(frozen=True)
class ObjectPattern:
    """One level of a pattern: leaves and nested objects must all match; one ``$or`` branch must.

    A JSON object holds at most one ``$or`` key (a later duplicate replaces an earlier one), but
    each branch may hold its own.
    """

    leaves: tuple[Leaf, ...] = ()
    children: tuple[tuple[str, ObjectPattern], ...] = ()
    alternatives: tuple[ObjectPattern, ...] = ()

    def keys(self) -> tuple[str, ...]:
        return tuple(leaf.key for leaf in self.leaves) + tuple(key for key, _ in self.children)

    def is_empty(self) -> bool:
        return not (self.leaves or self.children or self.alternatives)
