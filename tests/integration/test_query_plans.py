"""EXPLAIN guards: each hot statement keeps using its index on a table with a deep backlog.

The table holds 20,000 messages of one queue and a few of others, and is analyzed, so the planner
sees realistic statistics. A statement that falls back to a sequential scan of the message table
fails here, long before it hurts in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from broker.storage.low_water import START
from broker.storage.queries import QUERIES

QUEUE = 424242


@pytest.fixture(scope="module")
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO broker.queues (id, account_id, name, region, arn, fifo, attributes) "
            "VALUES (%s, '000000000000', 'plans', 'us-east-1', 'arn:plans', false, %s)",
            (QUEUE, Jsonb({"MessageRetentionPeriod": "345600"})),
        )
        connection.execute(
            "INSERT INTO broker.messages (queue_id, id, message_id, body, sent_at, visible_at, "
            "expires_at, group_id) "
            "SELECT CASE WHEN i %% 50 = 0 THEN i %% 7 ELSE %s END, i, gen_random_uuid(), 'body', "
            "now(), now() - make_interval(secs => i %% 100), now() + interval '4 days', "
            "'g' || (i %% 10) FROM generate_series(1, 20000) AS i",
            (QUEUE,),
        )
        connection.execute("ANALYZE broker.messages")
        yield connection


def plan(conn: psycopg.Connection[Any], name: str, params: dict[str, Any]) -> dict[str, Any]:
    row = conn.execute(f"EXPLAIN (FORMAT JSON) {QUERIES[name]}", params).fetchone()
    assert row is not None
    return row[0][0]["Plan"]  # type: ignore[no-any-return]


def scans(node: dict[str, Any]) -> Iterator[tuple[str, str | None, str | None]]:
    yield node["Node Type"], node.get("Relation Name"), node.get("Index Name")
    for child in node.get("Plans", []):
        yield from scans(child)


def message_scans(node: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(kind, index) for kind, relation, index in scans(node) if relation == "messages"}


LEASE = {
    "queue_id": QUEUE,
    "low_water": START,
    "limit": 10,
    "visibility": 30,
    "retention": 345600,
    "max_receives": 5,
    "dlq_id": 1,
    "dlq_retention": 345600,
    "source_arn": "arn:plans",
    "fifo": False,
}
HANDLES = {"queue_id": QUEUE, "rows": [5, 6], "tokens": [1, 2]}

CASES = [
    ("receive_messages", LEASE, "messages_ready"),
    ("receive_fifo_messages", {**LEASE, "fifo": True}, None),
    ("delete_messages", HANDLES, "messages_pkey"),
    ("change_visibility", {**HANDLES, "timeouts": [1, 2]}, "messages_pkey"),
    ("seconds_until_visible", {"queue_id": QUEUE, "low_water": START}, "messages_ready"),
    ("delete_expired_messages", {"limit": 1000}, "messages_expiry"),
    ("count_messages", {"queue_id": QUEUE}, None),
    ("delete_purged_messages", {"queue_id": QUEUE, "floor": 100, "limit": 1000}, None),
]


@pytest.mark.parametrize(("name", "params", "index"), CASES, ids=[c[0] for c in CASES])
def test_hot_statement_uses_an_index(conn, name: str, params: dict[str, Any], index: str | None):
    used = message_scans(plan(conn, name, params))
    assert used, f"{name} does not read the message table?"
    assert not any(kind == "Seq Scan" for kind, _ in used), f"{name} scans the table: {used}"
    if index is not None:
        assert any(i == index for _, i in used), f"{name} no longer uses {index}: {used}"
