"""EXPLAIN guards: each hot statement keeps using its index on a table with a deep backlog.

The table holds 20,000 messages of one queue, a few of 7 others and 10,000 spread over 5,000 small
queues, and is analyzed, so the planner
sees realistic statistics. A statement that falls back to a sequential scan of the message table
fails here, long before it hurts in production.

The driver prepares a statement after a few runs, and the server may then switch to a generic plan
that does not know the queue id, where the planner guesses every queue is small: for a batch of
receipt handles it then reads the whole queue. The claim must keep its index in that form; the
handle statements are never prepared.
"""

from __future__ import annotations

import re
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
        # And 5,000 small queues: a plan that does not know the queue id expects a small one.
        connection.execute(
            "INSERT INTO broker.messages (queue_id, id, message_id, body, sent_at, visible_at, "
            "expires_at) "
            "SELECT 1000000 + i % 5000, i, gen_random_uuid(), 'body', now(), now(), "
            "now() + interval '4 days' FROM generate_series(20001, 30000) AS i"
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
HANDLES = {"queue_id": QUEUE, "rows": [5, 6], "first": 5, "last": 6, "tokens": [1, 2]}

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


def generic_plan(
    conn: psycopg.Connection[Any], name: str, params: dict[str, Any]
) -> dict[str, Any]:
    """The plan the server uses for the prepared statement once it stops re-planning per call."""
    names: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    text = re.sub(r"%\((\w+)\)s", placeholder, QUERIES[name])
    conn.execute(f"DEALLOCATE ALL; PREPARE checked AS {text}".replace("%%", "%"))
    conn.execute("SET plan_cache_mode = force_generic_plan")
    try:
        arguments = ", ".join(["%s"] * len(names))
        # EXPLAIN takes no bound parameters: the arguments are rendered as literals.
        row = (
            psycopg.ClientCursor(conn)
            .execute(
                f"EXPLAIN (FORMAT JSON) EXECUTE checked({arguments})", [params[n] for n in names]
            )
            .fetchone()
        )
    finally:
        conn.execute("RESET plan_cache_mode; DEALLOCATE ALL")
    assert row is not None
    return row[0][0]["Plan"]  # type: ignore[no-any-return]


BY_ROW_ID = re.compile(r"\(id (=|>=|<=) ")


def index_conditions(node: dict[str, Any]) -> Iterator[tuple[str | None, str]]:
    if node.get("Relation Name") == "messages" and node["Node Type"].endswith("Scan"):
        yield node.get("Index Name"), node.get("Index Cond", "")
    for child in node.get("Plans", []):
        yield from index_conditions(child)


@pytest.mark.parametrize("name", ["delete_messages", "change_visibility"])
def test_handle_statements_read_only_their_rows(conn, name: str):
    reads = list(index_conditions(plan(conn, name, {**HANDLES, "timeouts": [1, 2]})))
    assert reads, f"{name} does not read the message table through an index"
    for index, condition in reads:
        # A lookup by row id (from the handles or the outer row, or their range), never a walk
        # over the queue: the cost stays O(batch) however deep the queue is. Their generic plans
        # walk the queue on this table, which is why the store never prepares them (next tests).
        assert index == "messages_pkey" and BY_ROW_ID.search(condition), (name, index, condition)


def test_claim_reads_the_ready_index_in_the_generic_plan(conn):
    found = generic_plan(conn, "receive_messages", LEASE)
    picked = [index for index, condition in index_conditions(found) if "visible_at" in condition]
    assert picked == ["messages_ready"], list(index_conditions(found))


async def test_handle_statements_are_never_prepared(running_broker, fresh_database_url: str):
    """The store runs the replanned statements unprepared, however often they run."""
    from broker.core.models import ReceiveRequest, SendEntry
    from tests.integration.conftest import CALLER

    async with running_broker(fresh_database_url, pool_min_size=1, pool_max_size=1) as broker:
        service = broker.service
        queue = await service.create_queue(CALLER, "prepared", {}, {})
        for i in range(8):
            await service.send_message(CALLER, queue, SendEntry(f"m{i}"))
        received = await service.receive_messages(CALLER, queue, ReceiveRequest(max_messages=8))
        assert len(received) == 8
        for message in received[:4]:
            await service.change_message_visibility(CALLER, queue, message.receipt_handle, 60)
        for message in received:
            await service.delete_message(CALLER, queue, message.receipt_handle)
        async with broker.store.pool.connection() as conn:
            cursor = await conn.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [row["statement"] for row in await cursor.fetchall()]
    assert any("INSERT INTO broker.messages" in text for text in prepared), prepared
    assert not any("USING unnest" in text or "WITH h AS" in text for text in prepared), prepared


UNSEEN = 434343


@pytest.fixture(scope="module")
def unseen_queue(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """A queue that started after the last ANALYZE: the statistics say it holds nothing, while
    it holds 5,000 messages (or dead rows a held snapshot keeps). Its handles are the newest."""
    conn.execute(
        "INSERT INTO broker.messages (queue_id, id, message_id, body, sent_at, visible_at, "
        "expires_at) SELECT %s, i, gen_random_uuid(), 'body', now(), now(), "
        "now() + interval '4 days' FROM generate_series(40001, 45000) AS i",
        (UNSEEN,),
    )
    return {
        "queue_id": UNSEEN,
        "rows": [44990, 44991],
        "first": 44990,
        "last": 44991,
        "tokens": [1, 2],
        "timeouts": [1, 2],
    }


@pytest.mark.parametrize("name", ["delete_messages", "change_visibility", "replay_receive_attempt"])
def test_handle_statements_read_only_their_rows_of_a_queue_the_statistics_miss(
    conn, unseen_queue: dict[str, Any], name: str
):
    params = {**unseen_queue, "visibility": 30}
    reads = list(index_conditions(plan(conn, name, params)))
    assert reads, f"{name} does not read the message table through an index"
    for index, condition in reads:
        # Seen as empty, the queue looks cheap to read whole: the lookup must still be bounded
        # by the handles' row ids (measured: 3,930 rows read per 10-handle delete under a held
        # snapshot, until the next ANALYZE).
        assert index == "messages_pkey" and BY_ROW_ID.search(condition), (name, index, condition)


def sorted_claims(node: dict[str, Any], under_sort: bool = False) -> Iterator[dict[str, Any]]:
    """Scans of the ready index (the claim) whose rows a Sort node reads (a CTE or InitPlan
    below a Sort is a separate plan: its rows are not the ones sorted)."""
    if under_sort and "visible_at" in node.get("Index Cond", ""):
        yield node
    for child in node.get("Plans", []):
        separate = child.get("Parent Relationship") in ("InitPlan", "SubPlan")
        sorting = not separate and (under_sort or node["Node Type"] == "Sort")
        yield from sorted_claims(child, sorting)


def test_claim_reads_the_ready_index_in_order_for_a_queue_the_statistics_miss(
    conn, unseen_queue: dict[str, Any]
):
    found = plan(conn, "receive_messages", {**LEASE, "queue_id": unseen_queue["queue_id"]})
    picked = [index for index, condition in index_conditions(found) if "visible_at" in condition]
    assert picked == ["messages_ready"], list(index_conditions(found))
    # Read in index order up to the limit, never every ready row of the queue and then sorted.
    assert not list(sorted_claims(found)), found
