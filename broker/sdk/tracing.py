"""W3C trace context (``traceparent``) carried in message attributes.

Sends made while a trace context is current (inside a ``Worker`` handler, or inside
``trace_context(...)``) carry a ``traceparent`` message attribute; the worker makes a received
message's ``traceparent`` current, as a child span, while its handler runs. Bridge to
OpenTelemetry by reading ``current_traceparent()`` or by passing ``traceparent`` yourself.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from contextvars import ContextVar

ATTRIBUTE = "traceparent"
_FORMAT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_current: ContextVar[str | None] = ContextVar("broker_sdk_traceparent", default=None)


def is_valid(traceparent: str) -> bool:
    match = _FORMAT.fullmatch(traceparent)
    return bool(match) and match.group(1) != "0" * 32 and match.group(2) != "0" * 16  # type: ignore[union-attr]


def new_traceparent(sampled: bool = True) -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-{'01' if sampled else '00'}"


def child_of(traceparent: str) -> str:
    """The same trace, a new span id (the child's own)."""
    match = _FORMAT.fullmatch(traceparent)
    if match is None:
        return new_traceparent()
    return f"00-{match.group(1)}-{secrets.token_hex(8)}-{match.group(3)}"


def trace_id(traceparent: str) -> str | None:
    match = _FORMAT.fullmatch(traceparent)
    return match.group(1) if match else None


def current_traceparent() -> str | None:
    return _current.get()


@contextlib.contextmanager
def trace_context(traceparent: str | None) -> Iterator[None]:
    """Make ``traceparent`` current (sends inside carry it) until the block ends."""
    token = _current.set(traceparent if traceparent and is_valid(traceparent) else None)
    try:
        yield
    finally:
        _current.reset(token)
