"""WakeupHub: in-process rendezvous between waiting receives and the sends that feed them.

A long poll registers a waiter for its queue and sleeps on it, holding no database connection.
A send (here, or in another process via the listener) wakes as many waiters as it sent
messages; a woken waiter that finds nothing goes back to sleep, one that fills its batch passes
the baton to the next, so a burst is never left unread until the fallback poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager


class WakeupHub:
    def __init__(self) -> None:
        self._waiters: dict[int, list[asyncio.Event]] = {}

    @property
    def waiting(self) -> int:
        return sum(len(events) for events in self._waiters.values())

    @contextmanager
    def waiter(self, queue_id: int) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        events = self._waiters.setdefault(queue_id, [])
        events.append(event)
        try:
            yield event
        finally:
            events.remove(event)
            if not events:
                del self._waiters[queue_id]

    def wake(self, queue_id: int, count: int = 1) -> None:
        """Wake up to ``count`` idle waiters of the queue, oldest first."""
        events = self._waiters.get(queue_id)
        if not events:
            return
        woken = [e for e in events if not e.is_set()][:count]
        for event in woken:
            event.set()
            # Round robin: the woken go to the back, so the next wake reaches someone else.
            events.remove(event)
            events.append(event)

    def wake_all(self) -> None:
        """Wake every waiter (after a lost listener connection, when notifications may be lost)."""
        for events in self._waiters.values():
            for event in events:
                event.set()
