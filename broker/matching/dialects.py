"""The two dialects of the pattern language and their three scopes.

EventBridge event patterns and SNS filter policies share one grammar; they differ in which operators
they accept, how far patterns may nest, their numeric domain and their limits. Each difference is a
field here so that the parser and the validator stay dialect-agnostic. Limits AWS has not settled
are plain fields: ``dataclasses.replace(EVENTBRIDGE, max_pattern_chars=4096)`` makes a variant.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from broker.matching.values import NumberScale


class Scope(Enum):
    """What a pattern is matched against."""

    EVENT = "event"  # an EventBridge event (a JSON object)
    MESSAGE_ATTRIBUTES = "attributes"  # SNS message attributes: {name: {"Type", "Value"}}
    MESSAGE_BODY = "body"  # an SNS message body parsed as JSON


ALL_OPERATORS = frozenset(
    {
        "prefix",
        "suffix",
        "equals-ignore-case",
        "wildcard",
        "anything-but",
        "numeric",
        "exists",
        "cidr",
    }
)
"""Every operator name; inside ``$or`` branches these are reserved and may not be field names."""


@dataclass(frozen=True)
class Dialect:
    name: str
    noun: str  # how error messages name a pattern: "Event pattern", "Filter policy"
    scope: Scope
    operators: frozenset[str]
    anything_but_operators: frozenset[str]  # operators allowed inside anything-but's object form
    anything_but_lists: bool  # {"anything-but": {"prefix": ["a", "b"]}}
    affix_ignore_case: bool  # {"prefix": {"equals-ignore-case": "x"}} and the suffix form
    nesting: bool
    numbers: NumberScale
    check_decimals: bool  # reject numeric operands with more decimals than the scale keeps
    empty_pattern: bool  # whether "{}" is a valid pattern (it then matches every document)
    max_pattern_chars: int
    max_keys: int | None  # SNS: top-level keys per $or alternative
    max_value_combinations: int | None  # SNS: product of value counts (weighted by depth)
    max_or_combinations: int | None  # EventBridge: conjunctions after expanding every $or


EVENTBRIDGE = Dialect(
    name="eventbridge",
    noun="Event pattern",
    scope=Scope.EVENT,
    operators=ALL_OPERATORS,
    anything_but_operators=frozenset({"prefix", "suffix", "equals-ignore-case", "wildcard"}),
    anything_but_lists=True,
    affix_ignore_case=True,
    nesting=True,
    # event-ruler's ComparableNumber: -5e9..5e9, six decimals.
    numbers=NumberScale(limit=5_000_000_000, decimals=6),
    check_decimals=False,
    empty_pattern=False,
    max_pattern_chars=2048,  # EventBridge quota; the API model allows 4096
    max_keys=None,
    max_value_combinations=None,
    max_or_combinations=1000,
)

_SNS_OPERATORS = ALL_OPERATORS - {"wildcard"}

SNS_ATTRIBUTES = Dialect(
    name="sns-attributes",
    noun="Filter policy",
    scope=Scope.MESSAGE_ATTRIBUTES,
    operators=_SNS_OPERATORS,
    anything_but_operators=frozenset({"prefix"}),
    anything_but_lists=False,
    affix_ignore_case=False,
    nesting=False,
    numbers=NumberScale(limit=1_000_000_000, decimals=5),
    check_decimals=True,
    empty_pattern=True,
    max_pattern_chars=256 * 1024,
    max_keys=5,
    max_value_combinations=150,
    max_or_combinations=None,
)

# A body-scope policy follows the attribute-scope rules, except that it may nest.
SNS_BODY = replace(SNS_ATTRIBUTES, name="sns-body", scope=Scope.MESSAGE_BODY, nesting=True)

DIALECTS = {d.name: d for d in (EVENTBRIDGE, SNS_ATTRIBUTES, SNS_BODY)}


def resolve(dialect: str | Dialect) -> Dialect:
    if isinstance(dialect, Dialect):
        return dialect
    try:
        return DIALECTS[dialect]
    except KeyError:
        known = ", ".join(sorted(DIALECTS))
        raise ValueError(f"unknown pattern dialect {dialect!r}; expected one of {known}") from None
