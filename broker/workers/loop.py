"""PeriodicWorker: one start/stop lifecycle for every background loop.

``start`` is idempotent, ``stop`` is idempotent and safe before ``start``; a failing step is
logged and retried at the next tick, so a database outage pauses a worker instead of killing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from broker.errors import Throttled, Unavailable

log = logging.getLogger(__name__)


class PeriodicWorker:
    name = "worker"

    def __init__(self, interval_seconds: float) -> None:
        self.interval_seconds = interval_seconds
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def run_once(self) -> bool:
        """One step; True when there is more work right away (skip the pause)."""
        raise NotImplementedError

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            more = False
            try:
                more = await self.run_once()
            except asyncio.CancelledError:
                raise
            except (Unavailable, Throttled) as exc:
                # A database outage: one line per step, not a traceback every tick.
                log.warning(
                    "%s step failed (%s); retrying in %.1fs", self.name, exc, self.interval_seconds
                )
            except Exception:
                log.exception("%s step failed; retrying in %.1fs", self.name, self.interval_seconds)
            if not more:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.interval_seconds)
