"""PostgresStore: the Store port on psycopg 3 with a connection pool.

Each method runs one named statement (FIFO sends and receives add the queue lock before it) and
returns core types. Driver errors are translated once, in ``translate_errors``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from psycopg import AsyncConnection, Rollback
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import Jsonb, set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool

from broker.core.models import (
    MoveTask,
    MoveTaskStatus,
    Queue,
    QueueCounts,
)
from broker.core.ports import (
    Lease,
    LeasedMessage,
    LeaseParams,
    NewMessage,
    QueueGauge,
    Stored,
    VisibilityChange,
)
from broker.core.queue_attributes import settings_of
from broker.errors import QueueNotFound
from broker.storage.attribute_documents import attributes_document, attributes_json, attributes_of
from broker.storage.coalescing import Coalescer
from broker.storage.low_water import LowWaterMarks
from broker.storage.queries import QUERIES
from broker.storage.statements import Connection, NamedStatements, handle_rows, int_array

PING_TIMEOUT_SECONDS = 2.0

set_json_loads(orjson.loads)
set_json_dumps(orjson.dumps)


def connection_kwargs(application_name: str) -> dict[str, Any]:
    # Never let a broker session pin the xmin horizon: an abandoned transaction is cut off.
    return {
        "autocommit": True,
        "row_factory": dict_row,
        "application_name": application_name,
        "options": "-c idle_in_transaction_session_timeout=60000 -c statement_timeout=60000",
    }


def create_pool(conninfo: str, min_size: int, max_size: int) -> AsyncConnectionPool[Connection]:
    return AsyncConnectionPool(
        conninfo,
        min_size=min_size,
        max_size=max_size,
        kwargs=connection_kwargs("broker"),
        connection_class=AsyncConnection[DictRow],
        open=False,
        name="broker",
    )


SendKey = tuple[int, int, str]
"""Queue id, retention seconds, sender id."""
LeaseKey = tuple[Any, ...]
"""The values of ``_LEASE_KEY``: receives that agree on all of them can share a statement."""
_LEASE_KEY = (
    "queue_id",
    "source_arn",
    "fifo",
    "visibility",
    "retention",
    "max_receives",
    "dlq_id",
    "dlq_retention",
)


class PostgresStore(NamedStatements):
    # Statements joined to a batch of receipt handles: a generic plan guesses every queue is
    # small (one of many) and may read the whole queue and hash-join it with the handles, which
    # costs O(queue depth) per call on a deep queue (measured: 300 pages per delete).
    replanned = frozenset({"delete_messages", "change_visibility", "replay_receive_attempt"})

    def __init__(
        self,
        pool: AsyncConnectionPool[Connection],
        claim_margin_seconds: float = 0.25,
        full_scan_seconds: float = 1.0,
    ) -> None:
        super().__init__(pool, QUERIES)
        self._low_water = LowWaterMarks(claim_margin_seconds, full_scan_seconds)
        # One statement of a kind per queue at a time: calls arriving meanwhile share the next
        # one. Measured against two at a time (lifecycle bench, one process): 20% more messages
        # per second at batch 10 and 7% at batch 1, from fewer statements and commits per message.
        self._sends: Coalescer[SendKey, list[NewMessage], list[Stored]] = Coalescer(
            self._send_standard, max_in_flight=1, max_items=100
        )
        self._leases: Coalescer[LeaseKey, int, Lease] = Coalescer(
            self._lease_standard, max_in_flight=1, max_items=50
        )
        self._deletes: Coalescer[int, list[tuple[int, int]], set[int]] = Coalescer(
            self._delete, max_in_flight=1, max_items=100
        )

    # -- queues ---------------------------------------------------------------------------------

    async def create_queue(
        self,
        account_id: str,
        name: str,
        region: str,
        arn: str,
        fifo: bool,
        attributes: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> Queue | None:
        row = await self._one(
            "create_queue",
            {
                "account_id": account_id,
                "name": name,
                "region": region,
                "arn": arn,
                "fifo": fifo,
                "attributes": Jsonb(dict(attributes)),
                "tags": Jsonb(dict(tags)),
            },
        )
        return _queue(row) if row else None

    async def get_queue(self, account_id: str, name: str) -> Queue | None:
        row = await self._one("get_queue", {"account_id": account_id, "name": name})
        return _queue(row) if row else None

    async def get_queue_by_arn(self, arn: str) -> Queue | None:
        row = await self._one("get_queue_by_arn", {"arn": arn})
        return _queue(row) if row else None

    async def get_queue_by_id(self, queue_id: int) -> Queue | None:
        row = await self._one("get_queue_by_id", {"queue_id": queue_id})
        return _queue(row) if row else None

    async def recently_deleted(self, account_id: str, name: str, seconds: int) -> bool:
        row = await self._one(
            "recently_deleted", {"account_id": account_id, "name": name, "seconds": seconds}
        )
        return bool(row and row["exists"])

    async def list_queues(
        self, account_id: str, prefix: str, after: str, limit: int
    ) -> list[Queue]:
        rows = await self._all(
            "list_queues",
            {"account_id": account_id, "prefix": prefix, "after": after, "limit": limit},
        )
        return [_queue(r) for r in rows]

    async def list_dead_letter_sources(
        self, account_id: str, arn: str, after: str, limit: int
    ) -> list[Queue]:
        rows = await self._all(
            "list_dead_letter_sources",
            {"account_id": account_id, "arn": arn, "after": after, "limit": limit},
        )
        return [_queue(r) for r in rows]

    async def update_queue_attributes(
        self, queue_id: int, set_: Mapping[str, str], unset: Sequence[str]
    ) -> Queue | None:
        row = await self._one(
            "update_queue_attributes",
            {"queue_id": queue_id, "set": Jsonb(dict(set_)), "unset": list(unset)},
        )
        return _queue(row) if row else None

    async def change_queue_policy(
        self, queue_id: int, change: Callable[[str | None], str | None]
    ) -> Queue | None:
        """Replace the queue's ``Policy`` with ``change(current)`` (None removes it), the row
        locked in between; None when the queue is gone."""
        row = await self._change_policy(
            "lock_queue_policy", "update_queue_attributes", {"queue_id": queue_id}, change
        )
        return _queue(row) if row else None

    async def tag_queue(self, queue_id: int, tags: Mapping[str, str]) -> Queue | None:
        row = await self._one("tag_queue", {"queue_id": queue_id, "tags": Jsonb(dict(tags))})
        return _queue(row) if row else None

    async def untag_queue(self, queue_id: int, keys: Sequence[str]) -> Queue | None:
        row = await self._one("untag_queue", {"queue_id": queue_id, "keys": list(keys)})
        return _queue(row) if row else None

    async def delete_queue(self, queue_id: int) -> bool:
        return await self._one("delete_queue", {"queue_id": queue_id}) is not None

    async def purge_queue(self, queue_id: int, cooldown: int) -> bool:
        row = await self._one("purge_queue", {"queue_id": queue_id, "cooldown": cooldown})
        return row is not None

    async def count_messages(self, queue_id: int) -> QueueCounts:
        row = await self._one("count_messages", {"queue_id": queue_id})
        assert row is not None
        return QueueCounts(row["visible"], row["in_flight"], row["delayed"])

    async def queue_gauges(self) -> list[QueueGauge]:
        rows = await self._all("queue_gauges", {})
        return [
            QueueGauge(
                r["account_id"],
                r["name"],
                r["visible"],
                r["in_flight"],
                r["delayed"],
                r["oldest_age"],
            )
            for r in rows
        ]

    def pool_stats(self) -> dict[str, int]:
        """Connections by state: ``idle`` in the pool, ``busy`` lent out, ``waiting`` requests."""
        stats = self.pool.get_stats()
        size = stats.get("pool_size", 0)
        idle = stats.get("pool_available", 0)
        return {"idle": idle, "busy": size - idle, "waiting": stats.get("requests_waiting", 0)}

    # -- messages -------------------------------------------------------------------------------
    #
    # Standard queues' sends, receives and deletes go through coalescers keyed by queue: calls
    # that arrive while a statement of their queue is running share the next statement and its
    # commit. FIFO queues take the queue's lock instead.

    async def send_messages(
        self, queue: Queue, messages: Sequence[NewMessage], sender_id: str
    ) -> list[Stored]:
        if not queue.fifo:
            key = (queue.id, queue.settings.message_retention_period, sender_id)
            return await self._sends.submit(key, list(messages))
        columns = _message_columns(messages)
        columns.update(
            queue_id=queue.id,
            sender_id=sender_id,
            retention=queue.settings.message_retention_period,
            delay=queue.settings.delay_seconds,
            dedup_ids=[m.deduplication_id for m in messages],
            scopes=[m.deduplication_scope for m in messages],
        )
        async with self._connection() as conn, conn.transaction():
            await conn.execute(QUERIES["lock_queue"], {"queue_id": queue.id})
            cursor = await conn.execute(QUERIES["send_fifo_messages"], columns)
            rows = await cursor.fetchall()
        if any(r["message_id"] is None for r in rows):
            raise QueueNotFound()  # deleted since this process cached it
        return [Stored(r["message_id"], r["sequence_number"]) for r in rows]

    async def _send_standard(
        self, key: SendKey, batches: list[list[NewMessage]]
    ) -> list[list[Stored]]:
        queue_id, retention, sender_id = key
        messages = [m for batch in batches for m in batch]
        document = [
            {
                "ord": index,
                "message_id": m.message_id,
                "body": m.body,
                "attributes": attributes_document(m.attributes),
                "trace_header": m.trace_header,
                "delay": m.delay_seconds,
                "group_id": m.group_id,
            }
            for index, m in enumerate(messages)
        ]
        rows = await self._all(
            "send_messages",
            {
                "queue_id": queue_id,
                "sender_id": sender_id,
                "retention": retention,
                "messages": orjson.dumps(document).decode(),
            },
        )
        if not rows:
            raise QueueNotFound()  # deleted since this process cached it
        stored = {r["message_id"]: Stored(r["message_id"], r["id"]) for r in rows}
        return [[stored[m.message_id] for m in batch] for batch in batches]

    async def lease_messages(self, params: LeaseParams) -> Lease:
        values = _lease_values(params)
        if not params.queue.fifo:
            key = tuple(values[name] for name in _LEASE_KEY)
            return await self._leases.submit(key, params.limit)
        async with self._connection() as conn, conn.transaction():
            await conn.execute(QUERIES["lock_queue"], {"queue_id": params.queue.id})
            if params.attempt_id:
                replay = await self._replay_attempt(conn, params)
                if replay is not None:
                    return replay
            values["limit"] = params.limit
            cursor = await conn.execute(QUERIES["receive_fifo_messages"], values)
            lease = _lease(await cursor.fetchall())
            if params.attempt_id and lease.messages:
                receipts = [[m.row, m.receipt_token] for m in lease.messages]
                await conn.execute(
                    QUERIES["save_receive_attempt"],
                    {
                        "queue_id": params.queue.id,
                        "attempt_id": params.attempt_id,
                        "receipts": Jsonb(receipts),
                    },
                )
            return lease

    async def _lease_standard(self, key: LeaseKey, limits: list[int]) -> list[Lease]:
        """One claim for every waiting receive of the key, shared out in arrival order."""
        values: dict[str, Any] = dict(zip(_LEASE_KEY, key, strict=True))
        values["limit"] = sum(limits)
        queue_id = values["queue_id"]
        values["low_water"] = self._low_water.scan_from(queue_id)
        rows = await self._all("receive_messages", values)
        [scan] = [r for r in rows if r["kind"] == "scan"]
        self._low_water.scanned(
            queue_id,
            values["low_water"],
            database_now=scan["sent_at"],
            claimed=scan["receive_count"],
            limit=values["limit"],
            last_claimed=scan["first_received_at"],
        )
        lease = _lease(rows)
        shares: list[Lease] = []
        start = 0
        for limit in limits:
            # The first share reports the dead-lettered messages: they are counted once.
            moved = lease.dead_lettered if not shares else 0
            shares.append(Lease(lease.messages[start : start + limit], moved))
            start += limit
        return shares

    async def _replay_attempt(self, conn: Connection, params: LeaseParams) -> Lease | None:
        cursor = await conn.execute(
            QUERIES["get_receive_attempt"],
            {"queue_id": params.queue.id, "attempt_id": params.attempt_id},
        )
        saved = await cursor.fetchone()
        if saved is None:
            return None
        receipts: list[list[int]] = saved["receipts"]
        async with conn.transaction():  # a savepoint: a partial replay is undone
            cursor = await conn.execute(
                QUERIES["replay_receive_attempt"],
                {
                    "queue_id": params.queue.id,
                    "visibility": params.visibility_timeout,
                    **handle_rows([r[0] for r in receipts]),
                    "tokens": int_array(r[1] for r in receipts),
                },
                prepare=self._prepare("replay_receive_attempt"),
            )
            rows = await cursor.fetchall()
            if len(rows) == len(receipts):
                return Lease(sorted((_leased(r) for r in rows), key=lambda m: m.row), 0)
            # Something changed since: AWS then serves the request as a new receive.
            raise Rollback()
        return None

    async def seconds_until_visible(self, queue_id: int) -> float | None:
        """Seconds until the queue's earliest row becomes visible (negative: already is)."""
        row = await self._one(
            "seconds_until_visible",
            {"queue_id": queue_id, "low_water": self._low_water.scan_from(queue_id, full=False)},
        )
        return row["seconds"] if row else None

    async def delete_messages(self, queue_id: int, receipts: Sequence[tuple[int, int]]) -> set[int]:
        return await self._deletes.submit(queue_id, list(receipts))

    async def _delete(self, queue_id: int, batches: list[list[tuple[int, int]]]) -> list[set[int]]:
        receipts = [r for batch in batches for r in batch]
        rows = await self._all(
            "delete_messages",
            {
                "queue_id": queue_id,
                **handle_rows([row for row, _ in receipts]),
                "tokens": int_array(token for _, token in receipts),
            },
        )
        deleted = {r["id"] for r in rows}
        return [{row for row, _ in batch if row in deleted} for batch in batches]

    async def change_visibility(
        self, queue_id: int, changes: Sequence[VisibilityChange]
    ) -> list[str]:
        rows = await self._all(
            "change_visibility",
            {
                "queue_id": queue_id,
                **handle_rows([c.row for c in changes]),
                "tokens": int_array(c.token for c in changes),
                "timeouts": int_array(c.timeout for c in changes),
            },
        )
        return [r["outcome"] for r in rows]

    # -- message move tasks ---------------------------------------------------------------------

    async def create_move_task(
        self,
        handle: str,
        account_id: str,
        source: Queue,
        destination_arn: str | None,
        max_per_second: int | None,
    ) -> bool:
        row = await self._one(
            "create_move_task",
            {
                "handle": handle,
                "account_id": account_id,
                "queue_id": source.id,
                "source_arn": source.arn,
                "destination_arn": destination_arn,
                "max_per_second": max_per_second,
            },
        )
        return row is not None

    async def list_move_tasks(self, account_id: str, source_arn: str, limit: int) -> list[MoveTask]:
        rows = await self._all(
            "list_move_tasks", {"account_id": account_id, "source_arn": source_arn, "limit": limit}
        )
        return [_move_task(r) for r in rows]

    async def get_move_task(self, handle: str) -> MoveTask | None:
        row = await self._one("get_move_task", {"handle": handle})
        return _move_task(row) if row else None

    async def cancel_move_task(self, handle: str) -> int | None:
        row = await self._one("cancel_move_task", {"handle": handle})
        return int(row["moved"]) if row else None

    # -- maintenance (the janitor and the mover) ------------------------------------------------

    async def delete_expired_messages(self, limit: int) -> list[tuple[str, str, int]]:
        """Delete up to ``limit`` expired rows; (account, queue, count) for each queue touched."""
        rows = await self._all("delete_expired_messages", {"limit": limit})
        return [(r["account_id"], r["name"], int(r["expired"])) for r in rows]

    async def purge_step(self, limit: int) -> int:
        """Delete purged rows of every queue with a pending purge, ``limit`` per queue."""
        deleted = 0
        for queue in await self._all("purge_pending_queues", {}):
            values = {"queue_id": queue["id"], "floor": queue["purge_floor"], "limit": limit}
            count = await self._run("delete_purged_messages", values)
            deleted += count
            if count < limit:
                await self._run("finish_purge", values)
        return deleted

    async def deleted_queues_step(self, cooldown: int, limit: int) -> int:
        """Delete rows of deleted queues, then the queue itself once empty and cooled down."""
        deleted = 0
        for queue in await self._all("deleted_queues", {"cooldown": cooldown}):
            values = {"queue_id": queue["id"], "limit": limit}
            count = await self._run("delete_queue_messages", values)
            deleted += count
            if count < limit and queue["cooled"]:
                await self._run("drop_queue", values)
        return deleted

    async def delete_expired_bookkeeping(self, limit: int) -> int:
        dedup = await self._run("delete_expired_deduplication", {"limit": limit})
        attempts = await self._run("delete_expired_receive_attempts", {"limit": limit})
        return dedup + attempts

    async def refresh_statistics(self) -> bool:
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(QUERIES["statistics_due"])
            row = await cursor.fetchone()
            if row is None or not row["due"]:
                return False
            await conn.execute(QUERIES["analyze_messages"])
        return True

    async def move_step(self, budget_seconds: float) -> dict[int, int] | None:
        """Advance one running move task by one slice: messages moved per destination queue, or
        None when no task is due."""
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(QUERIES["claim_move_task"], {"budget": budget_seconds})
            task = await cursor.fetchone()
            if task is None:
                return None
            rate = task["max_per_second"] or 500
            limit = max(1, int(rate * budget_seconds))
            destination_id: int | None = None
            if task["destination_arn"]:
                cursor = await conn.execute(
                    QUERIES["get_queue_by_arn"], {"arn": task["destination_arn"]}
                )
                destination = await cursor.fetchone()
                if destination is None:
                    await conn.execute(
                        QUERIES["fail_move_task"],
                        {
                            "handle": task["handle"],
                            "reason": "AWS.SimpleQueueService.NonExistentQueue",
                        },
                    )
                    return {}
                destination_id = destination["id"]
            cursor = await conn.execute(
                QUERIES["move_messages"],
                {
                    "queue_id": task["source_queue_id"],
                    "destination_id": destination_id,
                    "limit": limit,
                },
            )
            per_queue = {int(r["queue_id"]): int(r["moved"]) for r in await cursor.fetchall()}
            moved = sum(per_queue.values())
            await conn.execute(
                QUERIES["advance_move_task"],
                {"handle": task["handle"], "moved": moved, "finished": moved < limit},
            )
            return per_queue

    async def notify_payloads(self, channel: str, payloads: Sequence[str]) -> None:
        await self._run("notify_payloads", {"channel": channel, "payloads": list(payloads)})

    async def load_secret(self, name: str, candidate: bytes) -> bytes:
        """The named secret, created from ``candidate`` by the first process that asks."""
        row = await self._one("load_secret", {"name": name, "value": candidate})
        assert row is not None
        return bytes(row["value"])

    async def ping(self, wait_seconds: float = PING_TIMEOUT_SECONDS) -> None:
        """One round trip; Unavailable (or Throttled) when no connection comes within
        ``wait_seconds``, so /readyz answers while the database is down."""
        async with self._connection(min(wait_seconds, self.health.acquire_timeout())) as conn:
            await conn.execute("SELECT 1")


def _queue(row: DictRow) -> Queue:
    attributes: dict[str, str] = row["attributes"]
    return Queue(
        id=row["id"],
        account_id=row["account_id"],
        name=row["name"],
        region=row["region"],
        attributes=attributes,
        settings=settings_of(attributes),
        tags=row["tags"],
        created_at=row["created_at"],
        modified_at=row["modified_at"],
    )


def _message_columns(messages: Sequence[NewMessage]) -> dict[str, Any]:
    return {
        "message_ids": [m.message_id for m in messages],
        "bodies": [m.body for m in messages],
        "attributes": [attributes_json(m.attributes) for m in messages],
        "trace_headers": [m.trace_header for m in messages],
        "group_ids": [m.group_id for m in messages],
    }


def _lease_values(params: LeaseParams) -> dict[str, Any]:
    queue = params.queue
    dlq = params.dead_letter_queue
    return {
        "queue_id": queue.id,
        "source_arn": queue.arn,
        "fifo": queue.fifo,
        "visibility": params.visibility_timeout,
        "retention": queue.settings.message_retention_period,
        "max_receives": params.max_receives if dlq else 0,
        "dlq_id": dlq.id if dlq else None,
        "dlq_retention": dlq.settings.message_retention_period if dlq else 0,
    }


def _leased(row: DictRow) -> LeasedMessage:
    return LeasedMessage(
        row=row["id"],
        message_id=row["message_id"],
        body=row["body"],
        attributes=attributes_of(row["attributes"]),
        trace_header=row["trace_header"],
        sender_id=row["sender_id"],
        sent_at=row["sent_at"],
        receive_count=row["receive_count"],
        first_received_at=row["first_received_at"],
        receipt_token=row["receipt_token"],
        group_id=row["group_id"],
        deduplication_id=row["dedup_id"],
        dead_letter_source_arn=row["dead_letter_source_arn"],
    )


def _lease(rows: list[DictRow]) -> Lease:
    messages = [_leased(r) for r in rows if r["kind"] == "leased"]
    return Lease(messages, sum(1 for r in rows if r["kind"] == "moved"))


def _move_task(row: DictRow) -> MoveTask:
    return MoveTask(
        handle=row["handle"],
        status=MoveTaskStatus(row["status"]),
        source_arn=row["source_arn"],
        destination_arn=row["destination_arn"],
        max_per_second=row["max_per_second"],
        moved=row["moved"],
        to_move=row["to_move"],
        failure_reason=row["failure_reason"],
        started_at=row["started_at"],
    )
