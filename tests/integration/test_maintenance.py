"""The janitor's bounded steps and dead-letter redrive (message move tasks)."""

from __future__ import annotations

import asyncio
import json
import uuid

import psycopg
import pytest

from broker.app import Broker
from broker.core.models import Caller, MoveTaskStatus, Queue, ReceiveRequest, SendEntry
from broker.errors import InvalidParameterValue, ResourceNotFound, UnsupportedOperation
from broker.storage.postgres import PostgresStore, create_pool
from broker.workers.janitor import Janitor

RECEIVE = ReceiveRequest(max_messages=10, visibility_timeout=0, system_attribute_names=("All",))


def count_rows(url: str, queue: Queue) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM broker.messages WHERE queue_id = %s", (queue.id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_janitor_deletes_expired_messages_in_batches(
    broker: Broker, caller: Caller, database_url: str
):
    service = broker.service
    queue = await service.create_queue(caller, f"j-{uuid.uuid4().hex[:8]}", {}, {})
    await service.send_message_batch(caller, queue, [SendEntry("x", id=str(i)) for i in range(7)])
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE broker.messages SET expires_at = now() WHERE queue_id = %s", (queue.id,)
        )
    janitor = Janitor(broker.store, interval_seconds=60, batch_size=3, queue_cooldown=0)
    assert await janitor.run_once() is True  # a full batch: more to do
    while await janitor.run_once():
        pass
    assert count_rows(database_url, queue) == 0


async def test_purged_and_deleted_queue_rows_are_removed(
    broker: Broker, caller: Caller, database_url: str
):
    service = broker.service
    purged = await service.create_queue(caller, f"j-{uuid.uuid4().hex[:8]}", {}, {})
    deleted = await service.create_queue(caller, f"j-{uuid.uuid4().hex[:8]}", {}, {})
    for queue in (purged, deleted):
        await service.send_message_batch(
            caller, queue, [SendEntry("x", id=str(i)) for i in range(5)]
        )
    await service.purge_queue(caller, purged)
    await service.send_message(caller, purged, SendEntry("kept"))
    await service.delete_queue(caller, deleted)
    janitor = Janitor(broker.store, interval_seconds=60, batch_size=2, queue_cooldown=0)
    while await janitor.run_once():
        pass
    await janitor.run_once()
    assert count_rows(database_url, purged) == 1
    assert count_rows(database_url, deleted) == 0
    with psycopg.connect(database_url) as conn:
        gone = conn.execute(
            "SELECT count(*) FROM broker.queues WHERE id = %s", (deleted.id,)
        ).fetchone()
    assert gone == (0,)


async def dead_lettered(broker: Broker, caller: Caller, count: int) -> tuple[Queue, Queue]:
    service = broker.service
    dlq = await service.create_queue(caller, f"dlq-{uuid.uuid4().hex[:8]}", {}, {})
    policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 1})
    source = await service.create_queue(
        caller, f"src-{uuid.uuid4().hex[:8]}", {"RedrivePolicy": policy}, {}
    )
    await service.send_message_batch(
        caller, source, [SendEntry(f"m{i}", id=str(i)) for i in range(count)]
    )
    await service.receive_messages(caller, source, RECEIVE)
    assert await service.receive_messages(caller, source, RECEIVE) == []
    return source, dlq


async def run_mover(broker: Broker, database_url: str) -> None:
    """One mover step, as if a second had passed since the task last moved."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE broker.move_tasks SET updated_at = now() - interval '2 seconds'")
    await broker.store.move_step(1.0)


async def test_move_task_redrives_to_the_source(broker: Broker, caller: Caller, database_url: str):
    service = broker.service
    source, dlq = await dead_lettered(broker, caller, 6)
    handle = await service.start_message_move_task(caller, dlq.arn, None, 4)
    [task] = await service.list_message_move_tasks(caller, dlq.arn, None)
    assert task.status is MoveTaskStatus.RUNNING and task.to_move == 6
    with pytest.raises(UnsupportedOperation):
        await service.start_message_move_task(caller, dlq.arn, None, None)
    await run_mover(broker, database_url)  # 4 of 6, at 4 per second
    [task] = await service.list_message_move_tasks(caller, dlq.arn, None)
    assert task.moved == 4 and task.status is MoveTaskStatus.RUNNING
    await run_mover(broker, database_url)
    [task] = await service.list_message_move_tasks(caller, dlq.arn, None)
    assert task.moved == 6 and task.status is MoveTaskStatus.COMPLETED
    back = await service.receive_messages(caller, source, RECEIVE)
    assert sorted(m.body for m in back) == [f"m{i}" for i in range(6)]
    assert {m.system_attributes["ApproximateReceiveCount"] for m in back} == {"1"}
    assert handle


async def test_move_task_to_a_named_destination_and_cancel(
    broker: Broker, caller: Caller, database_url: str
):
    service = broker.service
    _, dlq = await dead_lettered(broker, caller, 3)
    target = await service.create_queue(caller, f"t-{uuid.uuid4().hex[:8]}", {}, {})
    handle = await service.start_message_move_task(caller, dlq.arn, target.arn, 1)
    await run_mover(broker, database_url)
    moved = await service.cancel_message_move_task(caller, handle)
    assert moved == 1
    [task] = await service.list_message_move_tasks(caller, dlq.arn, 10)
    assert task.status is MoveTaskStatus.CANCELLED
    assert [m.body for m in await service.receive_messages(caller, target, RECEIVE)] == ["m0"]
    with pytest.raises(UnsupportedOperation):
        await service.cancel_message_move_task(caller, handle)


async def test_move_task_validation(broker: Broker, caller: Caller):
    service = broker.service
    plain = await service.create_queue(caller, f"p-{uuid.uuid4().hex[:8]}", {}, {})
    with pytest.raises(InvalidParameterValue, match="Dead Letter Queue"):
        await service.start_message_move_task(caller, plain.arn, None, None)
    with pytest.raises(ResourceNotFound):
        await service.start_message_move_task(caller, plain.arn + "-missing", None, None)
    with pytest.raises(ResourceNotFound):
        await service.cancel_message_move_task(caller, "no-such-task")


async def test_janitor_refreshes_message_statistics_once_they_are_stale(fresh_database_url: str):
    """Claims need statistics that show the backlog, whether or not autovacuum runs. A store of
    its own: no other worker may analyze meanwhile."""
    pool = create_pool(fresh_database_url, 1, 2)
    await pool.open()
    try:
        janitor = Janitor(PostgresStore(pool), interval_seconds=60, batch_size=10, queue_cooldown=0)
        with psycopg.connect(fresh_database_url, autocommit=True) as conn:
            # As on a server where autovacuum is off (or busy elsewhere): only the janitor runs.
            conn.execute("ALTER TABLE broker.messages SET (autovacuum_enabled = false)")
            conn.execute(
                "INSERT INTO broker.messages (queue_id, id, message_id, body, sent_at, "
                "visible_at, expires_at) SELECT 1, nextval('broker.message_ids'), "
                "gen_random_uuid(), 'x', now(), now(), now() + interval '1 day' "
                "FROM generate_series(1, 3000)"
            )
            conn.execute("SELECT pg_stat_force_next_flush()")

            def analyses() -> tuple[int, int]:
                row = conn.execute(
                    "SELECT n_mod_since_analyze, analyze_count + autoanalyze_count "
                    "FROM pg_stat_user_tables WHERE relid = 'broker.messages'::regclass"
                ).fetchone()
                assert row is not None
                return int(row[0]), int(row[1])

            async with asyncio.timeout(30):
                while analyses()[0] < 3000:  # noqa: ASYNC110 - the server's statistics flush
                    await asyncio.sleep(0.05)
            before = analyses()[1]
            await janitor.run_once()
            assert janitor.analyzed_total == 1
            assert analyses() == (0, before + 1)
            await janitor.run_once()  # nothing changed since: not analyzed again
            assert janitor.analyzed_total == 1
    finally:
        await pool.close()
