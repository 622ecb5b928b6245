"""Cross-process wake-ups over LISTEN/NOTIFY.

Each broker process keeps one listener connection (a session connection: this does not work
through PgBouncer in transaction mode). A committed send wakes local waiters at once and queues a
NOTIFY for the other processes; NOTIFYs are coalesced per queue within a short window because a
notifying commit takes a database-wide lock. Waiters never depend on a notification alone: they
also re-check at the next known visible time and on a slow poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid

from psycopg import AsyncConnection

from broker.core.wakeups import WakeupHub
from broker.storage.postgres import PostgresStore, connection_kwargs

CHANNEL = "broker_wakeup"
LISTENER_BACKOFF_CAP_SECONDS = 1.0
log = logging.getLogger(__name__)


class PostgresSignal:
    """The Signal port: local wake-up plus a coalesced NOTIFY; and the listener loop."""

    def __init__(
        self, conninfo: str, store: PostgresStore, hub: WakeupHub, window_seconds: float
    ) -> None:
        self._conninfo = conninfo
        self._store = store
        self._hub = hub
        self._window = window_seconds
        self._origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._pending: dict[int, int] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def sent(self, queue_id: int, count: int) -> None:
        self._hub.wake(queue_id, count)
        self._pending[queue_id] = self._pending.get(queue_id, 0) + count
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            payloads = [f"{q}:{n}:{self._origin}" for q, n in batch.items()]
            try:
                await self._store.notify_payloads(CHANNEL, payloads)
            except Exception:
                # Remote waiters fall back to their poll; a lost NOTIFY delays, never loses.
                log.warning("NOTIFY failed; remote waiters will find the messages by polling")
            if self._window:
                await asyncio.sleep(self._window)

    async def start(self) -> None:
        if self._listener is None:
            self._listener = asyncio.get_running_loop().create_task(self._listen_forever())

    async def stop(self) -> None:
        for task in (self._listener, self._flusher):
            if task is not None:
                task.cancel()
        for task in (self._listener, self._flusher):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._listener = self._flusher = None
        self.connected.clear()

    async def _listen_forever(self) -> None:
        backoff = 0.1
        while True:
            try:
                conn = await AsyncConnection.connect(
                    self._conninfo, **connection_kwargs("broker-listener")
                )
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    # Notifications sent while we were away are lost: let every waiter re-check.
                    self._hub.wake_all()
                    backoff = 0.1
                    async for note in conn.notifies():
                        self._on_payload(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not self.connected.is_set():
                    # Not a lost session but a failed connect: the server is unreachable, so
                    # requests stop waiting the pool's full timeout for a connection.
                    self._store.health.failed()
                log.warning("listener connection lost (%s); reconnecting", exc)
            self.connected.clear()
            await asyncio.sleep(backoff)
            # Capped low: /readyz stays false until the listener is back, and one connection
            # attempt per second per process costs the server nothing.
            backoff = min(backoff * 2, LISTENER_BACKOFF_CAP_SECONDS)

    def _on_payload(self, payload: str) -> None:
        parts = payload.split(":")
        if len(parts) == 3 and parts[2] == self._origin:
            return  # our own send: local waiters were woken before the NOTIFY
        try:
            queue_id = int(parts[0])
            count = int(parts[1]) if len(parts) > 1 else 1
        except ValueError:
            return
        self._hub.wake(queue_id, count)
