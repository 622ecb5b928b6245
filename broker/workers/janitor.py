"""The janitor: retention expiry, purges, deleted queues, stale bookkeeping and unconfirmed
subscriptions, in bounded batches; and fresh statistics for the message table.

No step ever deletes more than ``batch_size`` rows in one statement, so it never holds a long
transaction (which would stop vacuum everywhere) nor a long lock on a hot queue.
"""

from __future__ import annotations

from typing import Protocol

from broker.core.ports import Maintenance, NullObserver, Observer
from broker.workers.loop import PeriodicWorker


class ArchiveRetention(Protocol):
    async def delete_expired(self, limit: int) -> int:
        """Delete up to ``limit`` archived events past their archive's RetentionDays."""
        ...


class PendingSubscriptions(Protocol):
    async def expire_unconfirmed(self, limit: int) -> int:
        """Delete up to ``limit`` unconfirmed subscriptions past their lifetime."""
        ...


class Janitor(PeriodicWorker):
    name = "janitor"

    def __init__(
        self,
        store: Maintenance,
        interval_seconds: float,
        batch_size: int,
        queue_cooldown: int,
        observer: Observer | None = None,
        archives: ArchiveRetention | None = None,
        subscriptions: PendingSubscriptions | None = None,
    ) -> None:
        super().__init__(interval_seconds)
        self._store = store
        self._observer: Observer = observer or NullObserver()
        self._batch_size = batch_size
        self._queue_cooldown = queue_cooldown
        self._archives = archives
        self._subscriptions = subscriptions
        self.deleted_total = 0
        self.analyzed_total = 0

    async def run_once(self) -> bool:
        limit = self._batch_size
        expired = 0
        for account_id, queue_name, count in await self._store.delete_expired_messages(limit):
            self._observer.messages_expired(account_id, queue_name, count)
            expired += count
        purged = await self._store.purge_step(limit)
        dropped = await self._store.deleted_queues_step(self._queue_cooldown, limit)
        bookkeeping = await self._store.delete_expired_bookkeeping(limit)
        archived = await self._archives.delete_expired(limit) if self._archives else 0
        unconfirmed = (
            await self._subscriptions.expire_unconfirmed(limit) if self._subscriptions else 0
        )
        if await self._store.refresh_statistics():
            self.analyzed_total += 1
        self.deleted_total += expired + purged + dropped + archived + unconfirmed
        return (
            limit in (expired, bookkeeping, archived, unconfirmed)
            or purged >= limit
            or dropped >= limit
        )
