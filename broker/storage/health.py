"""What a process last saw of its database: reachable, or lost since some time.

The pool cannot tell a caller that the server is gone: a request for a connection simply waits
for the pool's timeout while the pool retries in the background. So the stores remember the last
outcome. After a connection-level failure (and until a statement succeeds again) a request waits
for a connection only briefly and is refused as *unavailable* (a retriable 503) rather than as
*throttled*, which is what a pool timeout means while the database answers.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

DOWN_ACQUIRE_SECONDS = 1.0
"""How long a request waits for a connection while the database is believed down: long enough
for a pool that reconnected to hand one out, short enough to answer before a client's timeout."""


class DatabaseHealth:
    def __init__(self, acquire_seconds: float) -> None:
        self.acquire_seconds = acquire_seconds
        """The pool's ordinary wait for a connection."""
        self.lost_at: float | None = None
        """Monotonic time of the first failure since the last success; None while reachable."""

    @property
    def reachable(self) -> bool:
        return self.lost_at is None

    def failed(self) -> None:
        if self.lost_at is None:
            self.lost_at = time.monotonic()

    def succeeded(self) -> None:
        self.lost_at = None

    def acquire_timeout(self) -> float:
        return self.acquire_seconds if self.lost_at is None else DOWN_ACQUIRE_SECONDS


_HEALTH: weakref.WeakKeyDictionary[Any, DatabaseHealth] = weakref.WeakKeyDictionary()


def health_of(pool: Any) -> DatabaseHealth:
    """The one record of a pool, shared by every store built on it."""
    health = _HEALTH.get(pool)
    if health is None:
        health = _HEALTH[pool] = DatabaseHealth(float(getattr(pool, "timeout", 30.0)))
    return health
