"""TopicStore: topics, subscriptions, the publish transaction and the HTTP outbox, on the
PostgresStore's pool. Each method runs named statements from ``sql/topics.sql``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from broker.core.ports import OutboxGauge
from broker.core.topic_models import (
    ClaimedDelivery,
    HttpDelivery,
    PendingPublication,
    Publication,
    PublicationResult,
    QueueTarget,
    Route,
    Subscription,
    Topic,
)
from broker.errors import Conflict
from broker.storage.attribute_documents import attributes_json, attributes_of
from broker.storage.queries import load_file
from broker.storage.statements import Connection, NamedStatements, record

TOPIC_QUERIES = load_file("topics.sql")


class TopicStore(NamedStatements):
    def __init__(self, pool: AsyncConnectionPool[Connection]) -> None:
        super().__init__(pool, TOPIC_QUERIES)

    # -- topics -----------------------------------------------------------------------------

    async def create_topic(
        self,
        account_id: str,
        name: str,
        arn: str,
        fifo: bool,
        attributes: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> Topic | None:
        row = await self._one(
            "create_topic",
            {
                "account_id": account_id,
                "name": name,
                "arn": arn,
                "fifo": fifo,
                "attributes": _json(attributes),
                "tags": _json(tags),
            },
        )
        return record(Topic, row) if row else None

    async def get_topic(self, arn: str) -> Topic | None:
        row = await self._one("get_topic", {"arn": arn})
        return record(Topic, row) if row else None

    async def get_topic_by_id(self, topic_id: int) -> Topic | None:
        row = await self._one("get_topic_by_id", {"topic_id": topic_id})
        return record(Topic, row) if row else None

    async def list_topics(self, account_id: str, after: str, limit: int) -> list[Topic]:
        rows = await self._all(
            "list_topics", {"account_id": account_id, "after": after, "limit": limit}
        )
        return [record(Topic, r) for r in rows]

    async def update_topic_attributes(
        self, topic_id: int, set_: Mapping[str, str], unset: Sequence[str]
    ) -> Topic | None:
        row = await self._one(
            "update_topic_attributes",
            {"topic_id": topic_id, "set": _json(set_), "unset": list(unset)},
        )
        return record(Topic, row) if row else None

    async def change_topic_policy(
        self, topic_id: int, change: Callable[[str | None], str | None]
    ) -> Topic | None:
        """Replace the topic's ``Policy`` with ``change(current)`` (None removes it), the row
        locked in between; None when the topic is gone."""
        row = await self._change_policy(
            "lock_topic_policy", "update_topic_attributes", {"topic_id": topic_id}, change
        )
        return record(Topic, row) if row else None

    async def tag_topic(self, topic_id: int, tags: Mapping[str, str]) -> Topic | None:
        row = await self._one("tag_topic", {"topic_id": topic_id, "tags": _json(tags)})
        return record(Topic, row) if row else None

    async def untag_topic(self, topic_id: int, keys: Sequence[str]) -> Topic | None:
        row = await self._one("untag_topic", {"topic_id": topic_id, "keys": list(keys)})
        return record(Topic, row) if row else None

    async def delete_topic(self, topic_id: int) -> bool:
        row = await self._one("delete_topic", {"topic_id": topic_id})
        return bool(row and row["deleted"])

    # -- subscriptions ----------------------------------------------------------------------

    async def subscription_counts(self, topic_id: int) -> tuple[int, int]:
        row = await self._one("subscription_counts", {"topic_id": topic_id})
        assert row is not None
        return int(row["confirmed"]), int(row["pending"])

    async def create_subscription(
        self,
        topic: Topic,
        arn: str,
        protocol: str,
        endpoint: str,
        attributes: Mapping[str, str],
        token: str | None,
    ) -> tuple[Subscription, bool]:
        row = await self._one(
            "create_subscription",
            {
                "arn": arn,
                "topic_id": topic.id,
                "topic_arn": topic.arn,
                "account_id": topic.account_id,
                "protocol": protocol,
                "endpoint": endpoint,
                "attributes": _json(attributes),
                "confirmed": token is None,
                "token": token,
            },
        )
        if row is None:
            raise Conflict("The subscription was deleted while it was being created; retry.")
        return _subscription(row), bool(row["created"])

    async def get_subscription(self, arn: str) -> Subscription | None:
        row = await self._one("get_subscription", {"arn": arn})
        return _subscription(row) if row else None

    async def find_by_token(
        self, topic_arn: str, token: str, max_age_seconds: int
    ) -> Subscription | None:
        row = await self._one(
            "find_by_token", {"topic_arn": topic_arn, "token": token, "max_age": max_age_seconds}
        )
        return _subscription(row) if row else None

    async def confirm_subscription(self, subscription_id: int) -> Subscription | None:
        row = await self._one("confirm_subscription", {"subscription_id": subscription_id})
        return _subscription(row) if row else None

    async def update_subscription_attributes(
        self, subscription_id: int, set_: Mapping[str, str], unset: Sequence[str]
    ) -> Subscription | None:
        row = await self._one(
            "update_subscription_attributes",
            {"subscription_id": subscription_id, "set": _json(set_), "unset": list(unset)},
        )
        return _subscription(row) if row else None

    async def delete_subscription(self, subscription_id: int) -> bool:
        row = await self._one("delete_subscription", {"subscription_id": subscription_id})
        return bool(row and row["deleted"])

    async def delete_unconfirmed_subscriptions(self, max_age_seconds: int, limit: int) -> int:
        row = await self._one(
            "delete_unconfirmed_subscriptions", {"max_age": max_age_seconds, "limit": limit}
        )
        return int(row["deleted"]) if row else 0

    async def list_subscriptions(
        self, account_id: str, topic_id: int | None, after: int, limit: int
    ) -> list[Subscription]:
        rows = await self._all(
            "list_subscriptions",
            {"account_id": account_id, "topic_id": topic_id, "after": after, "limit": limit},
        )
        return [_subscription(r) for r in rows]

    async def topic_routes(self, topic_id: int) -> list[Route]:
        rows = await self._all("topic_routes", {"topic_id": topic_id})
        routes = []
        for row in rows:
            queue = None
            if row["queue_id"] is not None:
                queue = QueueTarget(
                    queue_id=row["queue_id"],
                    fifo=row["queue_fifo"],
                    group_scoped_deduplication=row["queue_dedup_scope"] == "messageGroup",
                    account_id=row["queue_account_id"],
                    policy=row["queue_policy"],
                )
            routes.append(Route(_subscription(row), queue))
        return routes

    # -- publishing -------------------------------------------------------------------------

    async def publish(self, publication: Publication) -> PublicationResult:
        """One transaction: topic deduplication (FIFO), every queue row, every outbox row."""
        async with self._connection() as conn, conn.transaction():
            if publication.inbox_id is not None:
                cursor = await conn.execute(
                    TOPIC_QUERIES["consume_publication"], {"inbox_id": publication.inbox_id}
                )
                if await cursor.fetchone() is None:
                    raise Conflict("The publication was fanned out by another process.")
            results, duplicates = await self._deduplicate(conn, publication)
            queue_rows = [d for d in publication.queue_deliveries if d.entry not in duplicates]
            http_rows = [d for d in publication.http_deliveries if d.entry not in duplicates]
            counts: dict[int, int] = {}
            if queue_rows:
                # FIFO queues are locked in id order, so concurrent publishes cannot deadlock.
                fifo_queues = sorted({d.queue_id for d in queue_rows if d.deduplication_id})
                for queue_id in fifo_queues:
                    await conn.execute(TOPIC_QUERIES["lock_queue"], {"queue_id": queue_id})
                cursor = await conn.execute(
                    TOPIC_QUERIES["publish_messages"],
                    {
                        "queue_ids": [d.queue_id for d in queue_rows],
                        "message_ids": [d.message_id for d in queue_rows],
                        "bodies": [d.body for d in queue_rows],
                        "attributes": [attributes_json(d.attributes) for d in queue_rows],
                        "group_ids": [d.group_id for d in queue_rows],
                        "dedup_ids": [d.deduplication_id for d in queue_rows],
                        "scopes": [d.deduplication_scope for d in queue_rows],
                        "sender_id": publication.sender_id,
                    },
                )
                counts = {r["queue_id"]: int(r["inserted"]) for r in await cursor.fetchall()}
            if http_rows:
                await conn.execute(TOPIC_QUERIES["enqueue_deliveries"], delivery_columns(http_rows))
        return PublicationResult(results, counts, len(http_rows))

    async def _deduplicate(
        self, conn: Connection, publication: Publication
    ) -> tuple[list[tuple[str, int]], set[int]]:
        messages = publication.messages
        if not publication.fifo:
            return [(m.message_id, 0) for m in messages], set()
        await conn.execute(TOPIC_QUERIES["lock_topic"], {"topic_id": publication.topic_id})
        cursor = await conn.execute(
            TOPIC_QUERIES["topic_duplicates"],
            {
                "topic_id": publication.topic_id,
                "scopes": [m.deduplication_scope for m in messages],
                "dedup_ids": [m.deduplication_id for m in messages],
            },
        )
        known: dict[tuple[str, str], tuple[str, int]] = {
            (r["scope"], r["dedup_id"]): (r["message_id"], r["sequence_number"])
            for r in await cursor.fetchall()
        }
        duplicates: set[int] = set()
        fresh: list[int] = []
        first: dict[tuple[str, str], int] = {}
        for index, message in enumerate(messages):
            key = (message.deduplication_scope, message.deduplication_id or "")
            if key in known or key in first:
                duplicates.add(index)
            else:
                first[key] = index
                fresh.append(index)
        stored: dict[int, tuple[str, int]] = {}
        if fresh:
            cursor = await conn.execute(
                TOPIC_QUERIES["remember_topic_messages"],
                {
                    "topic_id": publication.topic_id,
                    "scopes": [messages[i].deduplication_scope for i in fresh],
                    "dedup_ids": [messages[i].deduplication_id for i in fresh],
                    "message_ids": [messages[i].message_id for i in fresh],
                },
            )
            rows = await cursor.fetchall()
            for index, row in zip(fresh, rows, strict=True):
                stored[index] = (row["message_id"], row["sequence_number"])
        results = []
        for index, message in enumerate(messages):
            key = (message.deduplication_scope, message.deduplication_id or "")
            if index in stored:
                results.append(stored[index])
            elif key in known:
                results.append(known[key])
            else:
                results.append(stored[first[key]])
        return results, duplicates

    async def enqueue_deliveries(self, deliveries: Sequence[HttpDelivery]) -> None:
        async with self._connection() as conn:
            await conn.execute(TOPIC_QUERIES["enqueue_deliveries"], delivery_columns(deliveries))

    async def claim_publications(
        self, limit: int, lease_seconds: float
    ) -> list[PendingPublication]:
        rows = await self._all("claim_publications", {"limit": limit, "lease": lease_seconds})
        return [
            PendingPublication(
                id=r["id"],
                topic_id=r["topic_id"],
                message_id=r["message_id_text"],
                message=r["message"],
                subject=r["subject"],
                attributes=attributes_of(r["attributes"]),
                group_id=r["group_id"],
                deduplication_id=r["dedup_id"],
                sender_id=r["sender_id"],
            )
            for r in rows
        ]

    # -- the outbox -------------------------------------------------------------------------

    async def claim_deliveries(self, limit: int, lease_seconds: float) -> list[ClaimedDelivery]:
        rows = await self._all("claim_deliveries", {"limit": limit, "lease": lease_seconds})
        return [
            ClaimedDelivery(
                id=r["id"],
                attempts=r["attempts"],
                subscription_arn=r["subscription_arn"],
                topic_arn=r["topic_arn"],
                endpoint=r["endpoint"],
                message_type=r["message_type"],
                message_id=r["message_id_text"],
                body=r["body"],
                raw=r["raw"],
                policy=r["policy"],
                dead_letter_arn=r["dead_letter_arn"],
                kind=r["kind"],
                details=r["details"],
            )
            for r in rows
        ]

    async def complete_delivery(self, delivery_id: int, attempts: int) -> None:
        await self._run("complete_delivery", {"delivery_id": delivery_id, "attempts": attempts})

    async def retry_delivery(
        self, delivery_id: int, attempts: int, delay_seconds: float, count_attempt: bool
    ) -> None:
        await self._run(
            "retry_delivery",
            {
                "delivery_id": delivery_id,
                "attempts": attempts,
                "delay": delay_seconds,
                "count_attempt": count_attempt,
            },
        )

    async def dead_letter_delivery(self, delivery_id: int, attempts: int) -> int | None:
        row = await self._one(
            "dead_letter_delivery", {"delivery_id": delivery_id, "attempts": attempts}
        )
        return int(row["queue_id"]) if row else None

    async def delete_expired_topic_deduplication(self, limit: int) -> int:
        return await self._run("delete_expired_topic_deduplication", {"limit": limit})

    # -- metrics ----------------------------------------------------------------------------

    async def outbox_gauges(self) -> OutboxGauge:
        row = await self._one("outbox_gauges", {})
        assert row is not None
        return OutboxGauge(int(row["due"]), int(row["scheduled"]), float(row["oldest_age"]))


def _json(value: Mapping[str, str]) -> str:
    return orjson.dumps(dict(value)).decode()


def _subscription(row: DictRow) -> Subscription:
    return Subscription(
        id=row["id"],
        arn=row["arn"],
        topic_id=row["topic_id"],
        topic_arn=row["topic_arn"],
        account_id=row["account_id"],
        protocol=row["protocol"],
        endpoint=row["endpoint"],
        attributes=row["attributes"],
        confirmed=row["confirmed"],
        token=row["token"],
    )


def delivery_columns(deliveries: Sequence[HttpDelivery]) -> dict[str, Any]:
    return {
        "subscription_ids": [d.subscription_id for d in deliveries],
        "subscription_arns": [d.subscription_arn for d in deliveries],
        "topic_arns": [d.topic_arn for d in deliveries],
        "endpoints": [d.endpoint for d in deliveries],
        "message_types": [d.message_type for d in deliveries],
        "message_ids": [d.message_id for d in deliveries],
        "bodies": [d.body for d in deliveries],
        "raws": [d.raw for d in deliveries],
        "policies": [d.policy for d in deliveries],
        "dead_letter_arns": [d.dead_letter_arn for d in deliveries],
        "kinds": [d.kind for d in deliveries],
        "details": [d.details for d in deliveries],
    }
