"""EventStore: buses, rules, targets, connections, API destinations, archives, replays, the
dispatch transaction of PutEvents and the scheduler's claims, on the PostgresStore's pool.
Each method runs named statements from ``sql/events.sql`` (queue rows and outbox rows reuse the
statements of ``sql/topics.sql``, so topic and event deliveries are written one way)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from broker.core.event_models import (
    ApiDestination,
    Archive,
    ArchivedEvent,
    ArchiveRoute,
    BusRoutes,
    Connection,
    Destination,
    Dispatch,
    DispatchResult,
    EventBus,
    QueueEndpoint,
    Replay,
    Resolution,
    RoutedRule,
    RouteTarget,
    Rule,
    RuleSpec,
    ScheduledRule,
    Target,
)
from broker.core.event_ports import BusGauge, EventGauge
from broker.storage.attribute_documents import attributes_json
from broker.storage.queries import load_file
from broker.storage.statements import Connection as DbConnection
from broker.storage.statements import NamedStatements, record
from broker.storage.topics import TOPIC_QUERIES, delivery_columns

EVENT_QUERIES = load_file("events.sql")


class EventStore(NamedStatements):
    def __init__(self, pool: AsyncConnectionPool[DbConnection]) -> None:
        super().__init__(pool, EVENT_QUERIES)

    # -- buses ------------------------------------------------------------------------------

    async def ensure_bus(
        self, account_id: str, name: str, arn: str, description: str | None
    ) -> tuple[EventBus, bool]:
        """The bus, created now (True) or already there (False)."""
        row = await self._one(
            "ensure_bus",
            {"account_id": account_id, "name": name, "arn": arn, "description": description},
        )
        if row is not None:
            return record(EventBus, row), True
        existing = await self.get_bus(arn)
        assert existing is not None, "a bus with this name exists under another ARN"
        return existing, False

    async def event_gauges(self) -> EventGauge:
        buses = [
            BusGauge(r["account_id"], r["name"], r["enabled"], r["disabled"])
            for r in await self._all("bus_gauges", {})
        ]
        row = await self._one("event_delivery_gauges", {})
        assert row is not None  # an aggregate always answers one row
        return EventGauge(buses, row["due"], row["scheduled"], row["replays"])

    async def get_bus(self, arn: str) -> EventBus | None:
        row = await self._one("get_bus", {"arn": arn})
        return record(EventBus, row) if row else None

    async def get_bus_by_id(self, bus_id: int) -> EventBus | None:
        row = await self._one("get_bus_by_id", {"bus_id": bus_id})
        return record(EventBus, row) if row else None

    async def list_buses(
        self, account_id: str, prefix: str, after: str, limit: int
    ) -> list[EventBus]:
        rows = await self._all(
            "list_buses",
            {"account_id": account_id, "prefix": _like(prefix), "after": after, "limit": limit},
        )
        return [record(EventBus, r) for r in rows]

    async def change_bus_policy(
        self, bus_id: int, change: Callable[[str | None], str | None]
    ) -> EventBus | None:
        """Replace the bus policy with ``change(current)``, the row locked in between; None when
        the bus is gone."""
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(EVENT_QUERIES["lock_bus_policy"], {"bus_id": bus_id})
            row = await cursor.fetchone()
            if row is None:
                return None
            cursor = await conn.execute(
                EVENT_QUERIES["set_bus_policy"], {"bus_id": bus_id, "policy": change(row["policy"])}
            )
            updated = await cursor.fetchone()
        return record(EventBus, updated) if updated else None

    async def delete_bus(self, bus_id: int) -> None:
        await self._run("delete_bus", {"bus_id": bus_id})

    # -- rules ------------------------------------------------------------------------------

    async def put_rule(self, bus: EventBus, arn: str, spec: RuleSpec) -> Rule:
        row = await self._one(
            "put_rule",
            {
                "bus_id": bus.id,
                "account_id": bus.account_id,
                "name": spec.name,
                "arn": arn,
                "event_pattern": spec.event_pattern,
                "schedule_expression": spec.schedule_expression,
                "state": spec.state,
                "description": spec.description,
                "role_arn": spec.role_arn,
                "tags": _json(spec.tags),
                "next_fire_at": spec.next_fire_at,
            },
        )
        assert row is not None
        return _rule(row, bus.name)

    async def get_rule(self, bus: EventBus, name: str) -> Rule | None:
        row = await self._one("get_rule", {"bus_id": bus.id, "name": name})
        return _rule(row, bus.name) if row else None

    async def list_rules(self, bus: EventBus, prefix: str, after: str, limit: int) -> list[Rule]:
        rows = await self._all(
            "list_rules",
            {"bus_id": bus.id, "prefix": _like(prefix), "after": after, "limit": limit},
        )
        return [_rule(r, bus.name) for r in rows]

    async def set_rule_state(self, bus: EventBus, name: str, state: str) -> bool:
        row = await self._one("set_rule_state", {"bus_id": bus.id, "name": name, "state": state})
        return bool(row and row["changed"])

    async def delete_rule(self, bus: EventBus, name: str, force: bool) -> tuple[bool, int]:
        """Whether the rule was deleted, and how many targets it had."""
        row = await self._one("delete_rule", {"bus_id": bus.id, "name": name, "force": force})
        assert row is not None
        return bool(row["deleted"]), int(row["targets"] or 0)

    async def rule_names_by_target(
        self, bus: EventBus, arn: str, after: str, limit: int
    ) -> list[str]:
        rows = await self._all(
            "rule_names_by_target", {"bus_id": bus.id, "arn": arn, "after": after, "limit": limit}
        )
        return [str(r["name"]) for r in rows]

    # -- targets ----------------------------------------------------------------------------

    async def list_targets(self, rule: Rule, after: str, limit: int) -> list[Target]:
        rows = await self._all("list_targets", {"rule_id": rule.id, "after": after, "limit": limit})
        return [Target(r["target_id"], r["arn"], r["definition"]) for r in rows]

    async def put_targets(
        self, rule: Rule, targets: Sequence[Target], limit: int
    ) -> tuple[bool, int]:
        """Upsert the targets unless the rule would then have more than ``limit``: (stored,
        the count it would have). The rule row is locked, so concurrent calls take turns."""
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(EVENT_QUERIES["lock_rule"], {"rule_id": rule.id})
            if await cursor.fetchone() is None:
                return False, -1
            cursor = await conn.execute(
                EVENT_QUERIES["list_targets"], {"rule_id": rule.id, "after": "", "limit": 1000}
            )
            existing = {r["target_id"] for r in await cursor.fetchall()}
            count = len(existing | {t.id for t in targets})
            if count > limit:
                return False, count
            await conn.execute(
                EVENT_QUERIES["upsert_targets"],
                {
                    "rule_id": rule.id,
                    "ids": [t.id for t in targets],
                    "arns": [t.arn for t in targets],
                    "definitions": [orjson.dumps(dict(t.definition)).decode() for t in targets],
                },
            )
            await conn.execute(EVENT_QUERIES["bump_bus"], {"bus_id": rule.bus_id})
        return True, count

    async def remove_targets(self, rule: Rule, ids: Sequence[str]) -> list[str]:
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(
                EVENT_QUERIES["remove_targets"], {"rule_id": rule.id, "ids": list(ids)}
            )
            removed = [str(r["target_id"]) for r in await cursor.fetchall()]
            await conn.execute(EVENT_QUERIES["bump_bus"], {"bus_id": rule.bus_id})
        return removed

    # -- routing ----------------------------------------------------------------------------

    async def bus_routes(self, bus: EventBus) -> BusRoutes:
        async with self._connection() as conn:
            cursor = await conn.execute(EVENT_QUERIES["bus_rule_targets"], {"bus_id": bus.id})
            rows = await cursor.fetchall()
            cursor = await conn.execute(EVENT_QUERIES["bus_archives"], {"arn": bus.arn})
            archives = [ArchiveRoute(r["id"], r["event_pattern"]) for r in await cursor.fetchall()]
            arns = sorted({r["target_arn"] for r in rows if r["target_arn"] is not None})
            cursor = await conn.execute(EVENT_QUERIES["resolve_arns"], {"arns": arns})
            resolutions = {r["target_arn"]: _resolution(r) for r in await cursor.fetchall()}
        rules: dict[str, tuple[str, str, list[Target]]] = {}
        for row in rows:
            entry = rules.setdefault(row["rule_arn"], (row["rule_name"], row["event_pattern"], []))
            if row["target_id"] is not None:
                entry[2].append(Target(row["target_id"], row["target_arn"], row["definition"]))
        routed = [
            RoutedRule(arn, name, pattern, targets)
            for arn, (name, pattern, targets) in rules.items()
        ]
        return BusRoutes(bus, routed, archives, resolutions)

    async def resolve(self, arns: Sequence[str]) -> dict[str, Resolution]:
        rows = await self._all("resolve_arns", {"arns": list(arns)})
        return {r["target_arn"]: _resolution(r) for r in rows}

    async def dispatch(self, dispatch: Dispatch) -> DispatchResult:
        """Write one dispatch in one transaction."""
        async with self._connection() as conn, conn.transaction():
            return await _dispatch(conn, dispatch)

    # -- the scheduler ----------------------------------------------------------------------

    async def fire_schedules(
        self,
        limit: int,
        tick: Callable[[ScheduledRule], Awaitable[tuple[Dispatch, datetime | None]]],
    ) -> tuple[int, DispatchResult]:
        """Claim up to ``limit`` due scheduled rules (SKIP LOCKED) and, per rule, write the
        dispatch ``tick`` returns and its next tick, in the claiming transaction: each tick
        fires exactly once whatever the number of processes."""
        counts: dict[int, int] = {}
        publications = deliveries = 0
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(EVENT_QUERIES["claim_schedules"], {"limit": limit})
            due = await cursor.fetchall()
            for row in due:
                rule = _rule(row, row["bus_name"])
                cursor = await conn.execute(EVENT_QUERIES["rule_targets"], {"rule_id": rule.id})
                targets = [_route_target(r) for r in await cursor.fetchall()]
                dispatch, next_fire_at = await tick(
                    ScheduledRule(rule, row["next_fire_at"], targets)
                )
                result = await _dispatch(conn, dispatch)
                for queue_id, n in result.queue_counts.items():
                    counts[queue_id] = counts.get(queue_id, 0) + n
                publications += result.publications
                deliveries += result.deliveries
                await conn.execute(
                    EVENT_QUERIES["advance_schedule"],
                    {"rule_id": rule.id, "next_fire_at": next_fire_at},
                )
        return len(due), DispatchResult(counts, publications, deliveries)

    # -- connections and API destinations --------------------------------------------------

    async def create_connection(self, values: Mapping[str, Any]) -> Connection | None:
        row = await self._one("create_connection", _with_json(values, "auth_parameters"))
        return record(Connection, row) if row else None

    async def get_connection(self, account_id: str, name: str) -> Connection | None:
        row = await self._one("get_connection", {"account_id": account_id, "name": name})
        return record(Connection, row) if row else None

    async def get_connection_by_arn(self, arn: str) -> Connection | None:
        row = await self._one("get_connection_by_arn", {"arn": arn})
        return record(Connection, row) if row else None

    async def reseal_connections(
        self, reseal: Callable[[Mapping[str, Any]], Mapping[str, Any] | None]
    ) -> int:
        """Rewrite every connection's auth parameters through ``reseal`` (None: unchanged), in
        one transaction; the count rewritten."""
        count = 0
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(EVENT_QUERIES["all_connection_parameters"], {})
            for row in await cursor.fetchall():
                resealed = reseal(row["auth_parameters"])
                if resealed is not None:
                    await conn.execute(
                        EVENT_QUERIES["replace_connection_parameters"],
                        {"id": row["id"], "auth_parameters": _json(resealed)},
                    )
                    count += 1
        return count

    async def list_connections(
        self, account_id: str, prefix: str, after: str, limit: int
    ) -> list[Connection]:
        rows = await self._all(
            "list_connections",
            {"account_id": account_id, "prefix": _like(prefix), "after": after, "limit": limit},
        )
        return [record(Connection, r) for r in rows]

    async def update_connection(self, values: Mapping[str, Any]) -> Connection | None:
        row = await self._one("update_connection", _with_json(values, "auth_parameters"))
        return record(Connection, row) if row else None

    async def delete_connection(self, connection_id: int) -> Connection | None:
        row = await self._one("delete_connection", {"id": connection_id})
        return record(Connection, row) if row else None

    async def create_destination(self, values: Mapping[str, Any]) -> ApiDestination | None:
        row = await self._one("create_destination", values)
        return record(ApiDestination, row) if row else None

    async def get_destination(self, account_id: str, name: str) -> ApiDestination | None:
        row = await self._one("get_destination", {"account_id": account_id, "name": name})
        return record(ApiDestination, row) if row else None

    async def list_destinations(
        self, account_id: str, prefix: str, connection_arn: str | None, after: str, limit: int
    ) -> list[ApiDestination]:
        rows = await self._all(
            "list_destinations",
            {
                "account_id": account_id,
                "prefix": _like(prefix),
                "connection_arn": connection_arn,
                "after": after,
                "limit": limit,
            },
        )
        return [record(ApiDestination, r) for r in rows]

    async def update_destination(self, values: Mapping[str, Any]) -> ApiDestination | None:
        row = await self._one("update_destination", values)
        return record(ApiDestination, row) if row else None

    async def delete_destination(self, destination_id: int) -> ApiDestination | None:
        row = await self._one("delete_destination", {"id": destination_id})
        return record(ApiDestination, row) if row else None

    # -- archives and replays --------------------------------------------------------------

    async def create_archive(self, values: Mapping[str, Any]) -> Archive | None:
        row = await self._one("create_archive", values)
        return _archive(row) if row else None

    async def get_archive(self, account_id: str, name: str) -> Archive | None:
        row = await self._one("get_archive", {"account_id": account_id, "name": name})
        return _archive(row) if row else None

    async def list_archives(
        self,
        account_id: str,
        prefix: str,
        source_arn: str | None,
        state: str | None,
        after: str,
        limit: int,
    ) -> list[Archive]:
        rows = await self._all(
            "list_archives",
            {
                "account_id": account_id,
                "prefix": _like(prefix),
                "source_arn": source_arn,
                "state": state,
                "after": after,
                "limit": limit,
            },
        )
        return [_archive(r) for r in rows]

    async def update_archive(self, values: Mapping[str, Any]) -> Archive | None:
        row = await self._one("update_archive", values)
        return _archive(row) if row else None

    async def delete_archive(self, archive_id: int) -> bool:
        row = await self._one("delete_archive", {"id": archive_id})
        return bool(row and row["deleted"])

    async def dead_letter_event_delivery(
        self, delivery_id: int, attempts: int, attributes: Mapping[str, str], account_id: str
    ) -> int | None:
        """Move an event delivery to its dead-letter queue with ``attributes`` (String message
        attributes), or drop it without one; the queue id, to wake its receivers."""
        document = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        row = await self._one(
            "dead_letter_event_delivery",
            {
                "delivery_id": delivery_id,
                "attempts": attempts,
                "attributes": _json(document),
                "account_id": account_id,
            },
        )
        return int(row["queue_id"]) if row else None

    async def delete_expired_archived_events(self, limit: int) -> int:
        return await self._run("delete_expired_archived_events", {"limit": limit})

    async def create_replay(self, values: Mapping[str, Any]) -> Replay | None:
        row = await self._one("create_replay", values)
        return _replay(row) if row else None

    async def get_replay(self, account_id: str, name: str) -> Replay | None:
        row = await self._one("get_replay", {"account_id": account_id, "name": name})
        return _replay(row) if row else None

    async def list_replays(
        self,
        account_id: str,
        prefix: str,
        archive_arn: str | None,
        state: str | None,
        after: str,
        limit: int,
    ) -> list[Replay]:
        rows = await self._all(
            "list_replays",
            {
                "account_id": account_id,
                "prefix": _like(prefix),
                "archive_arn": archive_arn,
                "state": state,
                "after": after,
                "limit": limit,
            },
        )
        return [_replay(r) for r in rows]

    async def cancel_replay(self, replay_id: int) -> Replay | None:
        row = await self._one("cancel_replay", {"id": replay_id})
        return _replay(row) if row else None

    async def replay_step(
        self,
        limit: int,
        step: Callable[[Replay, list[ArchivedEvent]], Awaitable[Dispatch]],
    ) -> tuple[Replay | None, DispatchResult]:
        """Claim one active replay, hand its next ``limit`` archived events to ``step`` and
        write the dispatch with the replay's progress in the claiming transaction."""
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(EVENT_QUERIES["claim_replay"], {})
            row = await cursor.fetchone()
            if row is None:
                return None, DispatchResult({}, 0, 0)
            replay = _replay(row)
            if replay.state == "CANCELLING":
                await _advance_replay(conn, replay, "CANCELLED", replay.last_replayed, row)
                return replay, DispatchResult({}, 0, 0)
            cursor = await conn.execute(
                EVENT_QUERIES["replay_events"],
                {
                    "archive_arn": replay.archive_arn,
                    "start": replay.event_start_time,
                    "end": replay.event_end_time,
                    "after_time": replay.last_replayed,
                    "after_id": row["replay_cursor"],
                    "limit": limit,
                },
            )
            events = [
                ArchivedEvent(r["id"], r["event"], r["event_time"]) for r in await cursor.fetchall()
            ]
            result = await _dispatch(conn, await step(replay, events))
            if len(events) < limit:
                await _advance_replay(conn, replay, "COMPLETED", _last_time(events, replay), row)
            else:
                last = events[-1]
                await conn.execute(
                    EVENT_QUERIES["advance_replay"],
                    {
                        "id": replay.id,
                        "state": "RUNNING",
                        "state_reason": None,
                        "last_replayed": last.event_time,
                        "cursor": last.id,
                    },
                )
        return replay, result


async def _advance_replay(
    conn: DbConnection, replay: Replay, state: str, last: datetime | None, row: DictRow
) -> None:
    await conn.execute(
        EVENT_QUERIES["advance_replay"],
        {
            "id": replay.id,
            "state": state,
            "state_reason": None,
            "last_replayed": last,
            "cursor": row["replay_cursor"],
        },
    )


def _last_time(events: Sequence[ArchivedEvent], replay: Replay) -> datetime | None:
    return events[-1].event_time if events else replay.last_replayed


async def _dispatch(conn: DbConnection, dispatch: Dispatch) -> DispatchResult:
    counts: dict[int, int] = {}
    queue_rows = dispatch.queue_rows
    if queue_rows:
        # FIFO queues are locked in id order, so concurrent dispatches cannot deadlock.
        for queue_id in sorted({d.queue_id for d in queue_rows if d.deduplication_id}):
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
                "sender_id": "events.amazonaws.com",
            },
        )
        counts = {r["queue_id"]: int(r["inserted"]) for r in await cursor.fetchall()}
    publications = dispatch.publications
    if publications:
        await conn.execute(
            EVENT_QUERIES["dispatch_publications"],
            {
                "topic_ids": [p.topic_id for p in publications],
                "message_ids": [p.message_id for p in publications],
                "messages": [p.message for p in publications],
                "group_ids": [p.group_id for p in publications],
                "dedup_ids": [p.deduplication_id for p in publications],
                "sender_ids": ["events.amazonaws.com" for _ in publications],
            },
        )
    if dispatch.http_rows:
        await conn.execute(
            TOPIC_QUERIES["enqueue_deliveries"], delivery_columns(dispatch.http_rows)
        )
    archived = dispatch.archive_rows
    if archived:
        await conn.execute(
            EVENT_QUERIES["dispatch_archive_rows"],
            {
                "archive_ids": [a.archive_id for a in archived],
                "times": [a.event_time for a in archived],
                "events": [a.event for a in archived],
            },
        )
    return DispatchResult(counts, len(publications), len(dispatch.http_rows))


def _like(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _json(value: Mapping[str, Any]) -> str:
    return orjson.dumps(dict(value)).decode()


def _with_json(values: Mapping[str, Any], key: str) -> dict[str, Any]:
    out = dict(values)
    out[key] = _json(values[key])
    return out


def _rule(row: DictRow, bus_name: str) -> Rule:
    return Rule(
        id=row["id"],
        bus_id=row["bus_id"],
        bus_name=bus_name,
        account_id=row["account_id"],
        name=row["name"],
        arn=row["arn"],
        event_pattern=row["event_pattern"],
        schedule_expression=row["schedule_expression"],
        state=row["state"],
        description=row["description"],
        role_arn=row["role_arn"],
        created_at=row["created_at"],
    )


def _route_target(row: DictRow) -> RouteTarget:
    return RouteTarget(
        rule_arn=row["rule_arn"],
        rule_name=row["rule_name"],
        target=Target(row["target_id"], row["target_arn"], row["definition"]),
        resolution=_resolution(row),
    )


def _resolution(row: DictRow) -> Resolution:
    queue = None
    if row["queue_id"] is not None:
        queue = QueueEndpoint(
            row["queue_id"], row["queue_fifo"], row["queue_dedup_scope"] == "messageGroup"
        )
    destination = None
    if row["destination_arn"] is not None:
        destination = Destination(
            arn=row["destination_arn"],
            endpoint=row["destination_endpoint"],
            http_method=row["destination_method"],
            rate_limit=row["destination_rate"],
            connection_arn=row["destination_connection"],
        )
    return Resolution(
        queue=queue,
        topic_id=row["topic_id"],
        topic_fifo=bool(row["topic_fifo"]),
        bus_id=row["target_bus_id"],
        destination=destination,
        owner=row["target_owner"],
        policy=row["target_policy"],
    )


def _archive(row: DictRow) -> Archive:
    return Archive(
        id=row["id"],
        account_id=row["account_id"],
        name=row["name"],
        arn=row["arn"],
        source_arn=row["source_arn"],
        description=row["description"],
        event_pattern=row["event_pattern"],
        retention_days=row["retention_days"],
        state=row["state"],
        created_at=row["created_at"],
        event_count=int(row["event_count"]),
        size_bytes=int(row["size_bytes"]),
    )


def _replay(row: DictRow) -> Replay:
    return Replay(
        id=row["id"],
        account_id=row["account_id"],
        name=row["name"],
        arn=row["arn"],
        archive_arn=row["archive_arn"],
        description=row["description"],
        destination_arn=row["destination_arn"],
        filter_arns=list(row["filter_arns"]),
        event_start_time=row["event_start_time"],
        event_end_time=row["event_end_time"],
        state=row["state"],
        state_reason=row["state_reason"],
        last_replayed=row["last_replayed"],
        replay_start_time=row["replay_start_time"],
        replay_end_time=row["replay_end_time"],
    )
