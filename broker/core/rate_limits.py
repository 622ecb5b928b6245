"""Token buckets in one process: per-account request rate limits, and the per-subscription and
per-API-destination delivery rates the deliverer keeps.

Limits are per process (no database round trip per call): with N broker processes behind a load
balancer an account gets up to N times the configured rate. Buckets of idle keys are dropped so
the table stays small.
"""

from __future__ import annotations

import time
from collections.abc import Callable

_PRUNE_EVERY = 10_000


class TokenBuckets:
    """One token bucket per key, its rate (tokens per second) given at each call, so a rate kept
    in a resource's settings applies as soon as it changes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        """key -> (tokens, time of the last refill)"""
        self._calls = 0

    def take(self, key: str, rate: float | None, burst: float | None = None) -> bool:
        """Take one token from ``key``'s bucket (``burst`` tokens at most, ``rate`` by default);
        False when it is empty. No rate means no limit."""
        if not rate:
            return True
        capacity = burst if burst is not None else float(rate)
        now = self._clock()
        tokens, last = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        allowed = tokens >= 1
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        self._calls += 1
        if self._calls >= _PRUNE_EVERY:
            self._prune(now, capacity / rate)
        return allowed

    def _prune(self, now: float, refill_seconds: float) -> None:
        # A bucket idle for a whole refill is full again: dropping it changes nothing.
        self._calls = 0
        self._buckets = {k: b for k, b in self._buckets.items() if now - b[1] < refill_seconds}


class RateLimiter:
    """The per-account request limit: ``per_second`` with bursts of ``burst`` requests."""

    def __init__(
        self, per_second: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.per_second = per_second
        self.burst = burst
        self._buckets = TokenBuckets(clock)

    def allow(self, account_id: str) -> bool:
        """Take one token from the account's bucket; False when it is empty."""
        return self._buckets.take(account_id, self.per_second, self.burst)
