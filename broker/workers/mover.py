"""The mover: advances message move tasks (dead-letter redrive) at their rate limit.

Task state lives in the database, so a task started on one process is carried on by any other,
and survives restarts; each step moves one second's worth of messages under a row lock.
"""

from __future__ import annotations

from broker.core.ports import Maintenance, Signal
from broker.workers.loop import PeriodicWorker


class Mover(PeriodicWorker):
    name = "mover"

    def __init__(self, store: Maintenance, signal: Signal, interval_seconds: float = 1.0) -> None:
        super().__init__(interval_seconds)
        self._store = store
        self._signal = signal

    async def run_once(self) -> bool:
        # Each task is claimed at most once per interval, which is what enforces its rate.
        for _ in range(100):
            moved = await self._store.move_step(self.interval_seconds)
            if moved is None:
                break
            for queue_id, count in moved.items():
                self._signal.sent(queue_id, count)  # committed: wake the destination's waiters
        return False
