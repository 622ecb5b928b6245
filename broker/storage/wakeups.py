"""Cross-process wake-ups over LISTEN/NOTIFY.

Each broker process keeps one listener connection (a session connection: this does not work
through PgBouncer in transaction mode). A committed send wakes local waiters at once and queues a
NOTIFY for the other processes; NOTIFYs are coalesced per queue within a short window because a
notifying commit takes a database-wide lock. Waiters never depend on a notification alone: they
also re-check at the next known visible time and on a slow poll.

A process that hears no other process sends no NOTIFY at all: each listener announces itself when
it connects and every ``BROKER_PEER_ANNOUNCE_SECONDS``, and answers a newcomer's announcement at
once, so processes learn of each other within a round trip and forget one silent for three
periods. A lone process saves a statement and a commit per burst of sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from typing import Any

from psycopg import AsyncConnection

from broker.core.wakeups import WakeupHub
from broker.storage.postgres import PostgresStore, connection_kwargs

CHANNEL = "broker_wakeup"
LISTENER_BACKOFF_CAP_SECONDS = 1.0
PEERS_FORGOTTEN_AFTER_ANNOUNCEMENTS = 3
HELLO = "hello"
log = logging.getLogger(__name__)


class PostgresSignal:
    """The Signal port: local wake-up plus a coalesced NOTIFY; and the listener loop."""

    def __init__(
        self,
        conninfo: str,
        store: PostgresStore,
        hub: WakeupHub,
        window_seconds: float,
        *,
        announce_seconds: float = 5.0,
    ) -> None:
        self._conninfo = conninfo
        self._store = store
        self._hub = hub
        self._window = window_seconds
        self._announce_seconds = announce_seconds
        self._origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._pending: dict[int, int] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._peers: dict[str, float] = {}
        """Other processes' origins, by when they were last heard from (monotonic)."""
        self._answer_newcomer = False
        self._unsure_until = 0.0
        """Until one announcement period after connecting, peers are assumed (not yet heard)."""
        self.connected = asyncio.Event()

    @property
    def peers(self) -> frozenset[str]:
        """The other processes heard from recently (by origin)."""
        horizon = time.monotonic() - PEERS_FORGOTTEN_AFTER_ANNOUNCEMENTS * self._announce_seconds
        for origin in [o for o, heard in self._peers.items() if heard < horizon]:
            del self._peers[origin]
        return frozenset(self._peers)

    def has_peers(self) -> bool:
        """Whether another process may be listening: one was heard, or this one has not been
        connected for a whole announcement period yet."""
        return time.monotonic() < self._unsure_until or bool(self.peers)

    def sent(self, queue_id: int, count: int) -> None:
        self._hub.wake(queue_id, count)
        if not self.has_peers():
            return
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
                    self._unsure_until = time.monotonic() + self._announce_seconds
                    await self._announce(conn)
                    self.connected.set()
                    # Notifications sent while we were away are lost: let every waiter re-check.
                    self._hub.wake_all()
                    backoff = 0.1
                    while True:
                        # Notifications that arrive while announcing are kept for the next
                        # notifies() call: none is lost between the two.
                        async for note in conn.notifies(timeout=self._announce_seconds):
                            self._on_payload(note.payload)
                            if self._answer_newcomer:
                                break
                        await self._announce(conn)
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

    async def _announce(self, conn: AsyncConnection[Any]) -> None:
        self._answer_newcomer = False
        await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, f"{HELLO}:{self._origin}"))

    def _on_payload(self, payload: str) -> None:
        parts = payload.split(":")
        if parts[-1] == self._origin:
            return  # our own send or announcement: local waiters were woken before the NOTIFY
        if len(parts) == 2 and parts[0] == HELLO:
            if parts[1] not in self._peers:
                self._answer_newcomer = True
            self._peers[parts[1]] = time.monotonic()
            return
        if len(parts) == 3:
            self._peers[parts[2]] = time.monotonic()  # a process that sends hears, too
        try:
            queue_id = int(parts[0])
            count = int(parts[1]) if len(parts) > 1 else 1
        except ValueError:
            return
        self._hub.wake(queue_id, count)
