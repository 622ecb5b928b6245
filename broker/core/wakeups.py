"""WakeupHub: in-process rendezvous between waiting receives and the sends that feed them.

A long poll registers a waiter for its queue and sleeps on it, holding no database connection.
A send (here, or in another process via the listener) wakes as many waiters as it sent
messages; a woken waiter that finds nothing goes back to sleep, one that fills its batch passes
the baton to the next, so a burst is never left unread until the fallback poll.

A waiter is registered before its receive first looks at the queue, so a send that commits
while that look is running is not missed. Wakes go to *parked* waiters first (those asleep in
``wait``); only when there are too few of them are busy waiters flagged, so they look once more
instead of parking. Waking a busy waiter in place of a parked one would leave the parked one
asleep while messages wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


class Waiter:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.parked = False

    def clear(self) -> None:
        self._event.clear()

    @property
    def woken(self) -> bool:
        return self._event.is_set()

    def wake(self) -> None:
        self._event.set()

    async def wait(self, seconds: float) -> bool:
        """Sleep until woken or for ``seconds``; whether it was woken."""
        self.parked = True
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), seconds)
        finally:
            self.parked = False
        return self._event.is_set()


class WakeupHub:
    def __init__(self) -> None:
        self._waiters: dict[int, list[Waiter]] = {}

    @property
    def waiting(self) -> int:
        return sum(len(waiters) for waiters in self._waiters.values())

    @contextlib.contextmanager
    def waiter(self, queue_id: int) -> Iterator[Waiter]:
        waiter = Waiter()
        waiters = self._waiters.setdefault(queue_id, [])
        waiters.append(waiter)
        try:
            yield waiter
        finally:
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[queue_id]

    def wake(self, queue_id: int, count: int = 1) -> None:
        """Wake up to ``count`` waiters of the queue: parked ones first, oldest first."""
        waiters = self._waiters.get(queue_id)
        if not waiters:
            return
        idle = [w for w in waiters if not w.woken]
        chosen = [w for w in idle if w.parked][:count]
        if len(chosen) < count:
            chosen += [w for w in idle if not w.parked][: count - len(chosen)]
        for waiter in chosen:
            waiter.wake()
            # Round robin: the woken go to the back, so the next wake reaches someone else.
            waiters.remove(waiter)
            waiters.append(waiter)

    def wake_all(self) -> None:
        """Wake every waiter (after a lost listener connection, when notifications may be lost)."""
        for waiters in self._waiters.values():
            for waiter in waiters:
                waiter.wake()
