"""The core's ``FilterLanguage`` port for EventBridge event patterns, on ``broker.matching``."""

from __future__ import annotations

from collections.abc import Mapping

from broker.core.ports import FilterIndex, FilterMatcher
from broker.matching import CompiledPattern, PatternIndex, compile_pattern


class EventPatterns:
    """Event patterns (the ``eventbridge`` dialect) whatever the scope asked for."""

    def compile(self, policy: str, scope: str) -> FilterMatcher:
        return compile_pattern(policy, "eventbridge")

    def index(self, policies: Mapping[str, FilterMatcher], scope: str) -> FilterIndex:
        index: PatternIndex[str] = PatternIndex("eventbridge")
        for key, matcher in policies.items():
            if not isinstance(matcher, CompiledPattern):
                raise TypeError("patterns must come from EventPatterns.compile")
            index.add(key, matcher)
        return index
