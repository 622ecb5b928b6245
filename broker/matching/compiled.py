"""One compiled pattern and the recursive matcher that decides it against one document.

Arrays in the document are matched element by element: a nested pattern object is satisfied by
one element at a time, never by fields gathered from different elements (event-ruler's
``rulesForJSONEvent``). Where the document holds a scalar, or nothing, a nested pattern object
sees an object with no fields, so only ``exists: false`` can hold there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from broker.matching.dialects import Dialect, resolve
from broker.matching.documents import prepare
from broker.matching.parse import load, parse
from broker.matching.syntax import ObjectPattern
from broker.matching.validation import check_limits
from broker.matching.values import NumberScale, Scalar, leaf_values

_EMPTY: dict[str, Any] = {}


@dataclass(frozen=True)
class CompiledPattern:
    """A validated pattern of one dialect; :meth:`matches` answers for one document."""

    dialect: Dialect
    root: ObjectPattern

    def matches(self, document: object) -> bool:
        prepared = prepare(document, self.dialect)
        return prepared is not None and self.matches_prepared(prepared)

    def matches_prepared(self, document: dict[str, Any]) -> bool:
        """Match a document already passed through :func:`broker.matching.documents.prepare`."""
        return match_object(self.root, document, self.dialect.numbers)


def compile_pattern(
    pattern: str | bytes | Mapping[str, Any], dialect: str | Dialect
) -> CompiledPattern:
    """Parse and validate ``pattern``; raise :class:`broker.errors.InvalidPattern` if it is bad."""
    resolved = resolve(dialect)
    root = parse(load(pattern, resolved), resolved)
    check_limits(root, resolved)
    return CompiledPattern(resolved, root)


def match_object(pattern: ObjectPattern, value: Any, scale: NumberScale) -> bool:
    if isinstance(value, list):
        elements = list(_elements(value))
        if elements:
            return any(match_object(pattern, element, scale) for element in elements)
        value = _EMPTY
    elif not isinstance(value, dict):
        value = _EMPTY
    for leaf in pattern.leaves:
        values: list[Scalar] = list(leaf_values(value[leaf.key])) if leaf.key in value else []
        if not leaf.matches(values, scale):
            return False
    for key, child in pattern.children:
        if not match_object(child, value.get(key, _EMPTY), scale):
            return False
    return not pattern.alternatives or any(
        match_object(branch, value, scale) for branch in pattern.alternatives
    )


def _elements(array: list[Any]) -> Iterator[Any]:
    """The elements of an array, nested arrays flattened (event-ruler crushes them too)."""
    for element in array:
        if isinstance(element, list):
            yield from _elements(element)
        else:
            yield element
