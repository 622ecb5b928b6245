"""The scheduler: fires due scheduled rules and advances replays, in every broker process.

Processes coordinate in the database, not with each other: a due rule is claimed with
``FOR UPDATE SKIP LOCKED`` and its tick's event, its deliveries and the advance of its
``next_fire_at`` commit in that one transaction, so each tick fires exactly once however many
processes run. A replay step is claimed the same way.
"""

from __future__ import annotations

from typing import Protocol

from broker.workers.loop import PeriodicWorker


class Schedules(Protocol):
    async def fire_due_schedules(self, limit: int = 50) -> int: ...


class Replays(Protocol):
    async def run_replay_step(self) -> bool: ...


class Scheduler(PeriodicWorker):
    name = "scheduler"

    def __init__(self, schedules: Schedules, replays: Replays, interval_seconds: float) -> None:
        super().__init__(interval_seconds)
        self._schedules = schedules
        self._replays = replays
        self.fired_total = 0

    async def run_once(self) -> bool:
        fired = await self._schedules.fire_due_schedules()
        self.fired_total += fired
        replayed = await self._replays.run_replay_step()
        return fired > 0 or replayed
