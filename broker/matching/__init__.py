"""The event-pattern / filter-policy language shared by EventBridge and SNS.

One grammar, two dialects (three scopes):

* ``"eventbridge"``: event patterns, matched against events;
* ``"sns-attributes"``: filter policies on message attributes (``{name: {"Type", "Value"}}``);
* ``"sns-body"``: filter policies on the message body parsed as JSON.

:func:`compile_pattern` validates one pattern (raising :class:`broker.errors.InvalidPattern`) and
returns a matcher; :class:`PatternIndex` matches one document against many patterns at once.
Pure: standard library and :mod:`broker.errors` only, no I/O. See ``docs/patterns.md``.
"""

from broker.matching.compiled import CompiledPattern, compile_pattern
from broker.matching.dialects import EVENTBRIDGE, SNS_ATTRIBUTES, SNS_BODY, Dialect
from broker.matching.index import PatternIndex

__all__ = [
    "EVENTBRIDGE",
    "SNS_ATTRIBUTES",
    "SNS_BODY",
    "CompiledPattern",
    "Dialect",
    "PatternIndex",
    "compile_pattern",
]
