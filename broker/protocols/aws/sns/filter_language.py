"""The core's ``FilterLanguage`` port on ``broker.matching`` (the core may not import it)."""

from __future__ import annotations

from collections.abc import Mapping

from broker.core.ports import FilterIndex, FilterMatcher
from broker.matching import CompiledPattern, PatternIndex, compile_pattern


def _dialect(scope: str) -> str:
    return "sns-body" if scope == "MessageBody" else "sns-attributes"


class MatchingFilters:
    def compile(self, policy: str, scope: str) -> FilterMatcher:
        return compile_pattern(policy, _dialect(scope))

    def index(self, policies: Mapping[str, FilterMatcher], scope: str) -> FilterIndex:
        index: PatternIndex[str] = PatternIndex(_dialect(scope))
        for key, matcher in policies.items():
            if not isinstance(matcher, CompiledPattern):
                raise TypeError("policies must come from MatchingFilters.compile")
            index.add(key, matcher)
        return index
