"""Faults against two real broker processes on one database, checked by the chaos checker.

- the workload: producers and consumers on a standard and a FIFO queue through one cycle of
  kill -9 (and a replacement process), pg_terminate_backend of the listeners and SIGSTOP past
  the visibility timeout; drained; no acknowledged message lost, no redelivery inside a window,
  no FIFO reorder;
- a long poll still wakes on a send from the other process after its listener was killed;
- a paused process's stale delete does not delete the message another consumer got meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import psycopg

from bench import chaos
from bench.chaos import Cluster
from bench.chaos_checker import Checker
from bench.sqs_client import SqsClient, SqsError

WAKE_BOUND_SECONDS = 5.0  # the broker's poll fallback is 60 s here: only a wake-up is this fast


async def test_workload_through_kill_listener_kill_and_pause(cluster: Cluster) -> None:
    checker = Checker()
    stats = await asyncio.wait_for(
        chaos.run(
            cluster,
            checker,
            duration=6.0,
            faults=chaos.schedule(cycles=1, gap=1.5),
            workload=chaos.Workload(producers=2, consumers=2, fifo_groups=3, drain_timeout=30),
        ),
        chaos.CI_RUN_LIMIT_SECONDS,
    )
    findings = checker.check()
    faults = [f["fault"] for f in cluster.faults]
    assert faults == ["kill -9", "listener killed", "SIGSTOP", "SIGCONT"], faults
    assert stats["drained"] == 1, (stats, findings.summary())
    assert findings.acknowledged > 100, stats
    assert findings.lost == [], findings.summary()
    assert findings.in_window_duplicates == [], findings.summary()
    assert findings.deleted_redelivered == [], findings.summary()
    assert findings.fifo_violations == [], findings.summary()
    for broker in cluster.brokers:
        assert await asyncio.to_thread(broker.ready)


async def _waiters(port: int) -> float:
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    for line in text.splitlines():
        if line.startswith("broker_long_poll_waiters"):
            return float(line.split()[-1])
    return 0.0


async def _parked(port: int) -> None:
    """Poll the receiving process's waiter gauge until the long poll is parked."""
    deadline = time.monotonic() + 10
    while await _waiters(port) < 1:
        assert time.monotonic() < deadline, "the long poll never parked"
        await asyncio.sleep(0.02)  # polling an observable condition


async def _create(client: SqsClient, name: str, visibility_timeout: int = 30) -> str:
    reply = await client.call(
        "CreateQueue",
        {"QueueName": name, "Attributes": {"VisibilityTimeout": str(visibility_timeout)}},
    )
    return str(reply["QueueUrl"])


async def _long_poll(port: int, url: str) -> tuple[dict[str, Any], float]:
    client = SqsClient("127.0.0.1", port)
    try:
        reply = await client.call(
            "ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 20, "MaxNumberOfMessages": 1}
        )
        return reply, time.monotonic()
    finally:
        await client.close()


async def test_long_poll_wakes_after_the_listener_is_killed(cluster: Cluster) -> None:
    sender_port, receiver_port = cluster.ports
    sender = SqsClient("127.0.0.1", sender_port)
    url = await _create(sender, "listener-kill")

    # A receive parked on the receiving process; its listener is killed; a send from the other
    # process (its NOTIFY may be lost while nobody listens): the reconnect must wake the waiter.
    poll = asyncio.create_task(_long_poll(receiver_port, url))
    await _parked(receiver_port)
    old = await asyncio.to_thread(cluster.kill_listeners)
    assert len(old) == 2
    await sender.call("SendMessage", {"QueueUrl": url, "MessageBody": "during"})
    sent = time.monotonic()
    reply, arrived = await asyncio.wait_for(poll, 25)
    assert [m["Body"] for m in reply["Messages"]] == ["during"]
    assert arrived - sent < WAKE_BOUND_SECONDS
    await asyncio.to_thread(cluster.wait_listeners_back, old)

    # LISTEN is re-armed: a fresh waiter is woken by a send from the other process.
    poll = asyncio.create_task(_long_poll(receiver_port, url))
    await _parked(receiver_port)
    await sender.call("SendMessage", {"QueueUrl": url, "MessageBody": "after"})
    sent = time.monotonic()
    reply, arrived = await asyncio.wait_for(poll, 25)
    assert [m["Body"] for m in reply["Messages"]] == ["after"]
    assert arrived - sent < WAKE_BOUND_SECONDS
    await sender.close()


def _stored(database_url: str, message_id: str) -> int:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM broker.messages WHERE message_id::text = %s", (message_id,)
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_stale_delete_from_a_paused_process_keeps_the_message(cluster: Cluster) -> None:
    checker = Checker()
    healthy, pausing = cluster.brokers
    a = SqsClient("127.0.0.1", healthy.port)
    b = SqsClient("127.0.0.1", pausing.port)
    url = await _create(a, "paused", visibility_timeout=chaos.VISIBILITY_TIMEOUT)
    reply = await a.call("SendMessage", {"QueueUrl": url, "MessageBody": "m"})
    message_id = reply["MessageId"]
    checker.sent("m", message_id, time.monotonic())

    started = time.monotonic()
    (first,) = (await b.call("ReceiveMessage", {"QueueUrl": url}))["Messages"]
    checker.received("m", message_id, started, time.monotonic(), 2, first["ReceiptHandle"])

    # B is paused before its delete is processed; the delete waits in its socket.
    cluster.pause(pausing)
    delete_started = time.monotonic()
    stale = asyncio.create_task(
        b.call("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": first["ReceiptHandle"]})
    )
    # The window ends (waited out deliberately: the visibility timeout is what is under test);
    # another consumer gets the message through the healthy process.
    started = time.monotonic()
    second_reply = await a.call("ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 10})
    (second,) = second_reply["Messages"]
    checker.received("m", message_id, started, time.monotonic(), 2, second["ReceiptHandle"])
    assert second["MessageId"] == message_id

    cluster.resume(pausing)
    try:
        await asyncio.wait_for(stale, 15)
        stale_outcome = "acknowledged"
    except SqsError as exc:
        stale_outcome = str(exc.body.get("__type"))
    if stale_outcome == "acknowledged":
        checker.deleted(message_id, first["ReceiptHandle"], delete_started, time.monotonic())
    # The stale receipt must not have deleted the message the other consumer holds.
    assert await asyncio.to_thread(_stored, cluster.database_url, message_id) == 1, stale_outcome

    started = time.monotonic()
    await a.call("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": second["ReceiptHandle"]})
    checker.deleted(message_id, second["ReceiptHandle"], started, time.monotonic())
    assert await asyncio.to_thread(_stored, cluster.database_url, message_id) == 0

    findings = checker.check()
    assert findings.ok, findings.summary()
    assert findings.in_flight_at_end == []
    await a.close()
    await b.close()
