"""The scenarios the performance targets are set on, each run on a fresh database and returned
as a report: lifecycle (with its raw-SQL baseline and peak RSS), wake-up latency, deep backlog,
held snapshot and many queues, and the floor that explains the lifecycle's figures.
``python -m bench NAME`` runs one; ``python -m bench all`` runs them all and checks the figures
against the targets (``bench/targets.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psycopg

from bench import baseline, floor, harness, lifecycle, wakeup
from bench.sqs_client import SqsClient


@dataclass(frozen=True)
class Sizes:
    """How much work each scenario does; ``QUICK`` checks that the harness runs, nothing more."""

    messages: int = 20_000  # lifecycle at batch 10; a quarter of it at batch 1
    receivers: int = 10
    sends: int = 200
    depth: int = 1_000_000
    backlog_messages: int = 20_000
    held_seconds: float = 40.0
    queues: int = 10_000
    operations: int = 5_000
    floor_calls: int = 2_000


FULL = Sizes()
QUICK = Sizes(
    messages=400,
    receivers=3,
    sends=10,
    depth=2_000,
    backlog_messages=400,
    held_seconds=2.0,
    queues=50,
    operations=80,
    floor_calls=500,  # process CPU is counted in 10 ms ticks: enough calls to see some
)


@contextlib.contextmanager
def database() -> Iterator[str]:
    """A fresh migrated database on the bench server, dropped afterwards."""
    server, handle = harness.server_url()
    with harness.fresh_database(server) as url:
        yield url
    del handle


def lifecycle_report(
    messages: int, producers: int = 4, consumers: int = 4, workers: int = 1
) -> harness.Report:
    """Send + receive + delete at batch 10 and 1, as a ratio to raw SQL in the same run."""
    report = harness.Report("lifecycle")
    with database() as url, harness.brokers(url, workers=workers) as started:
        for batch in (10, 1):
            total = messages if batch == 10 else messages // 4
            raw = asyncio.run(baseline.run(url, batch, producers, consumers, total=total))
            cpu = started.cpu_seconds()
            result = asyncio.run(
                lifecycle.run(started.ports, batch, producers, consumers, total=total)
            )
            cpu = started.cpu_seconds() - cpu
            report.add(
                batch=batch,
                messages=total,
                broker_msgs_per_s=result.rate,
                raw_sql_msgs_per_s=raw,
                ratio=result.rate / raw,
                p50_ms=result.latency_p50_ms,
                p99_ms=result.latency_p99_ms,
                lost=result.lost,
                duplicates=result.duplicates,
                peak_rss_mb=started.peak_rss_mb(),
                cpu_ms_per_request=cpu * 1000 / max(1, result.requests),
            )
    return report


def wakeup_report(receivers: int, sends: int) -> harness.Report:
    """Long-poll wake-up latency, same process and across two broker processes."""
    report = harness.Report("wakeup")
    with database() as url:
        with harness.brokers(url) as one:
            same = asyncio.run(wakeup.run(one.ports[0], one.ports, receivers, sends))
        report.add(path="same process", **same)
        with harness.brokers(url, count=2) as two:
            cross = asyncio.run(wakeup.run(two.ports[0], two.ports[1:], receivers, sends))
        report.add(path="other process (NOTIFY)", **cross)
    return report


def backlog_report(depth: int, messages: int) -> harness.Report:
    """Batch-10 lifecycle on a queue already holding ``depth`` messages, as a ratio to an empty
    one."""
    report = harness.Report("backlog")
    with database() as url, harness.brokers(url) as started:
        port = started.ports[0]
        empty = asyncio.run(lifecycle.run(started.ports, 10, 4, 4, total=messages))
        queue_url = asyncio.run(lifecycle.create_queue(port, "deep"))
        fill_started = time.perf_counter()
        _fill(url, "deep", depth)
        filled_in = time.perf_counter() - fill_started
        deep = asyncio.run(
            lifecycle.run(
                started.ports, 10, 4, 4, total=messages, queue_url=queue_url, backlog=messages
            )
        )
        report.add(queue="empty", msgs_per_s=empty.rate, ratio=1.0, p99_ms=empty.latency_p99_ms)
        report.add(
            queue=f"{depth:,} deep",
            msgs_per_s=deep.rate,
            ratio=deep.rate / empty.rate,
            p99_ms=deep.latency_p99_ms,
        )
        report.extra["fill_seconds"] = filled_in
    return report


def held_report(seconds: float) -> harness.Report:
    """Batch-10 lifecycle for ``seconds`` while another session holds a snapshot, vs none."""
    report = harness.Report("held-transaction")
    with database() as url, harness.brokers(url) as started:
        for held in (False, True):
            with _held_snapshot(url, held):
                raw = asyncio.run(baseline.run(url, 10, 4, 4, duration=seconds))
            with _held_snapshot(url, held):
                result = asyncio.run(lifecycle.run(started.ports, 10, 4, 4, duration=seconds))
            report.add(
                held_snapshot=held,
                broker_msgs_per_s=result.rate,
                raw_sql_msgs_per_s=raw,
                p99_ms=result.latency_p99_ms,
                # a held snapshot's cost grows with time: compare the run's start and its end
                broker_first_10s=_mean(result.timeline[:2]),
                broker_last_10s=_mean(result.timeline[-2:]),
            )
            report.extra["timeline_held" if held else "timeline_free"] = result.timeline
        free, pinned = report.rows
        report.extra["broker_ratio"] = pinned["broker_msgs_per_s"] / free["broker_msgs_per_s"]
        report.extra["raw_sql_ratio"] = pinned["raw_sql_msgs_per_s"] / free["raw_sql_msgs_per_s"]
    return report


def queues_report(count: int, operations: int) -> harness.Report:
    """``count`` queues: send/receive/delete spread across them, and the /metrics scrape time."""
    report = harness.Report("many-queues")
    with database() as url, harness.brokers(url) as started:
        port = started.ports[0]
        names = asyncio.run(_create_queues(port, count))
        rate = asyncio.run(_spread(port, names, operations))
        scrape_ms = _scrape_ms(port)
        report.add(
            queues=count,
            lifecycles_per_s=rate,
            metrics_scrape_ms=scrape_ms,
            peak_rss_mb=started.peak_rss_mb(),
        )
    return report


def floor_report(calls: int) -> harness.Report:
    """CPU per call of the HTTP server alone, the driver alone and the broker's own requests."""
    report = harness.Report("floor")
    report.add(part="HTTP server answering a fixed body", cpu_us_per_call=floor.http_server(calls))
    with database() as url:
        for part, cpu in {**floor.driver(url, calls), **floor.broker(url, calls)}.items():
            report.add(part=part, cpu_us_per_call=cpu)
    return report


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


@contextlib.contextmanager
def _held_snapshot(url: str, held: bool) -> Iterator[None]:
    if not held:
        yield
        return
    with psycopg.connect(url) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        conn.execute("SELECT count(*) FROM pg_class")  # takes the snapshot
        yield
        conn.rollback()


def _fill(url: str, queue: str, depth: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO broker.messages (queue_id, id, message_id, body, sent_at, visible_at, "
            "expires_at) SELECT q.id, nextval('broker.message_ids'), gen_random_uuid(), "
            "rpad('backlog-' || i || '||', 256, 'x'), now(), now(), now() + interval '4 days' "
            "FROM broker.queues q, generate_series(1, %s) AS i WHERE q.name = %s",
            (depth, queue),
        )
        conn.execute("VACUUM ANALYZE broker.messages")


async def _create_queues(port: int, count: int) -> list[str]:
    names = [f"many-{i:05d}" for i in range(count)]
    clients = [SqsClient("127.0.0.1", port) for _ in range(8)]

    async def create(client: SqsClient, chunk: list[str]) -> None:
        for name in chunk:
            await client.call("CreateQueue", {"QueueName": name})

    await asyncio.gather(*(create(c, names[i::8]) for i, c in enumerate(clients)))
    for client in clients:
        await client.close()
    return names


async def _spread(port: int, names: list[str], operations: int) -> float:
    rng = random.Random(7)
    clients = [SqsClient("127.0.0.1", port) for _ in range(8)]

    async def work(client: SqsClient, count: int) -> None:
        for _ in range(count):
            url = f"http://127.0.0.1:{port}/000000000000/{rng.choice(names)}"
            await client.call("SendMessage", {"QueueUrl": url, "MessageBody": "x" * 256})
            reply = await client.call("ReceiveMessage", {"QueueUrl": url})
            for message in reply.get("Messages", []):
                await client.call(
                    "DeleteMessage", {"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]}
                )

    started = time.perf_counter()
    await asyncio.gather(*(work(c, operations // 8) for c in clients))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.close()
    return (operations // 8) * 8 / elapsed


def _scrape_ms(port: int) -> float | None:
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30)
        if response.status_code != 200:
            return None
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)[len(timings) // 2]
