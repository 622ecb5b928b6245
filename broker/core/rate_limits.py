"""Per-account request rate limits: one token bucket per account, in each process.

The limit is per process (no database round trip per request): with N broker processes behind a
load balancer an account gets up to N times the configured rate. Buckets of idle accounts are
dropped so the table stays small.
"""

from __future__ import annotations

import time
from collections.abc import Callable

_PRUNE_EVERY = 10_000


class RateLimiter:
    def __init__(
        self, per_second: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        """account -> (tokens, time of the last refill)"""
        self._calls = 0

    def allow(self, account_id: str) -> bool:
        """Take one token from the account's bucket; False when it is empty."""
        now = self._clock()
        tokens, last = self._buckets.get(account_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.per_second)
        allowed = tokens >= 1
        self._buckets[account_id] = (tokens - 1 if allowed else tokens, now)
        self._calls += 1
        if self._calls >= _PRUNE_EVERY:
            self._prune(now)
        return allowed

    def _prune(self, now: float) -> None:
        self._calls = 0
        refill = self.burst / self.per_second
        self._buckets = {a: b for a, b in self._buckets.items() if now - b[1] < refill}
