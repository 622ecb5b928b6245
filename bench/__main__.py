"""``python -m bench SCENARIO``: run a benchmark scenario, print a table and a JSON line.

BROKER_BENCH_DATABASE_URL selects the PostgreSQL server (the bench creates and drops its own
database there); unset, the embedded server under .data/bench is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import click
import httpx
import psycopg

from bench import (
    baseline,
    chaos,
    chaos_events,
    chaos_topics,
    events,
    fanout,
    harness,
    lifecycle,
    wakeup,
)
from bench.chaos_checker import Checker, FanoutChecker
from bench.private_postgres import PrivatePostgres
from bench.sqs_client import SqsClient
from broker.storage import migrations


@click.group()
def main() -> None:
    """Broker benchmarks; every run also measures the raw-SQL baseline where it applies."""


@main.command("lifecycle")
@click.option("--messages", default=20_000, show_default=True, help="Messages at batch 10.")
@click.option("--producers", default=4, show_default=True)
@click.option("--consumers", default=4, show_default=True)
@click.option("--workers", default=1, show_default=True, help="broker serve --workers")
def lifecycle_command(messages: int, producers: int, consumers: int, workers: int) -> None:
    """Send + receive + delete at batch 10 and 1, as a ratio to raw SQL in the same run."""
    report = harness.Report("lifecycle")
    with _database() as url, harness.brokers(url, workers=workers) as started:
        for batch in (10, 1):
            total = messages if batch == 10 else messages // 4
            raw = asyncio.run(baseline.run(url, batch, producers, consumers, total=total))
            result = asyncio.run(
                lifecycle.run(started.ports, batch, producers, consumers, total=total)
            )
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
            )
    report.emit()


@main.command("fanout")
@click.option("--queues", default=100, show_default=True)
@click.option("--publishes", default=3000, show_default=True)
@click.option("--publishers", default=8, show_default=True)
def fanout_command(queues: int, publishes: int, publishers: int) -> None:
    """Publish to a topic with N filtered queue subscriptions: publishes/s and deliveries/s."""
    report = harness.Report("fanout")
    with _database() as url, harness.brokers(url) as started:
        result = asyncio.run(fanout.run(started.ports[0], url, queues, publishes, publishers))
        report.add(
            queues=queues,
            publishes=result.publishes,
            publishes_per_s=result.publish_rate,
            delivered=result.delivered,
            expected=result.expected,
            delivered_per_s=result.delivery_rate,
            peak_rss_mb=started.peak_rss_mb(),
        )
    report.emit()


@main.command("events")
@click.option("--rules", default=1000, show_default=True, help="Rules on the bus.")
@click.option("--entries", default=20_000, show_default=True, help="Events, 10 per PutEvents.")
@click.option("--producers", default=8, show_default=True)
@click.option("--probes", default=200, show_default=True, help="Events timed one at a time.")
def events_command(rules: int, entries: int, producers: int, probes: int) -> None:
    """PutEvents to a bus with 1 and with N rules: events/s, delivery latency, raw-SQL ratio."""
    report = harness.Report("events")
    with _database() as url:
        raw = asyncio.run(events.baseline(url, entries, producers))
        for count in sorted({1, rules}):
            with harness.brokers(url) as started:
                result = asyncio.run(
                    events.run(started.ports[0], count, entries, producers, probes)
                )
                p50, p99 = events.latency_figures(result.latencies_ms)
                report.add(
                    rules=count,
                    entries=result.entries,
                    events_per_s=result.rate,
                    raw_sql_rows_per_s=raw,
                    ratio=result.rate / raw,
                    latency_p50_ms=p50,
                    latency_p99_ms=p99,
                    peak_rss_mb=started.peak_rss_mb(),
                )
            # each count gets a bus of its own
            _drop_events(url)
    report.emit()


def _drop_events(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM broker.event_buses WHERE name = %s", (events.BUS,))


@main.command("wakeup")
@click.option("--receivers", default=10, show_default=True)
@click.option("--sends", default=200, show_default=True)
def wakeup_command(receivers: int, sends: int) -> None:
    """Long-poll wake-up latency, same process and across two broker processes."""
    report = harness.Report("wakeup")
    with _database() as url:
        with harness.brokers(url) as one:
            same = asyncio.run(wakeup.run(one.ports[0], one.ports, receivers, sends))
        report.add(path="same process", **same)
        with harness.brokers(url, count=2) as two:
            cross = asyncio.run(wakeup.run(two.ports[0], two.ports[1:], receivers, sends))
        report.add(path="other process (NOTIFY)", **cross)
    report.emit()


@main.command("backlog")
@click.option("--depth", default=1_000_000, show_default=True)
@click.option("--messages", default=20_000, show_default=True)
def backlog_command(depth: int, messages: int) -> None:
    """Batch-10 lifecycle on a queue already holding DEPTH messages, as a ratio to an empty one."""
    report = harness.Report("backlog")
    with _database() as url, harness.brokers(url) as started:
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
    report.emit()


@main.command("held")
@click.option("--seconds", default=40.0, show_default=True)
def held_command(seconds: float) -> None:
    """Batch-10 lifecycle for SECONDS while another session holds a snapshot, vs none."""
    report = harness.Report("held-transaction")
    with _database() as url, harness.brokers(url) as started:
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
            )
        free, pinned = report.rows
        report.extra["broker_ratio"] = pinned["broker_msgs_per_s"] / free["broker_msgs_per_s"]
        report.extra["raw_sql_ratio"] = pinned["raw_sql_msgs_per_s"] / free["raw_sql_msgs_per_s"]
    report.emit()


@main.command("queues")
@click.option("--count", default=10_000, show_default=True)
@click.option("--operations", default=5_000, show_default=True)
def queues_command(count: int, operations: int) -> None:
    """COUNT queues: send/receive/delete spread across them, and the /metrics scrape time."""
    report = harness.Report("many-queues")
    with _database() as url, harness.brokers(url) as started:
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
    report.emit()


@main.command("chaos")
@click.option("--minutes", default=5.0, show_default=True, help="Length of the faulty load.")
@click.option("--kills", default=10, show_default=True, help="Fault cycles (kill -9 in each).")
@click.option(
    "--outages",
    default=3,
    show_default=True,
    help="PostgreSQL stopped and started (on a private server of the run's own when > 0).",
)
@click.option("--outage-seconds", default=5.0, show_default=True)
@click.option("--brokers", "count", default=2, show_default=True)
@click.option(
    "--topics/--no-topics",
    default=True,
    show_default=True,
    help="Also publish to a topic (filtered SQS and HTTP subscriptions) and put events on a bus "
    "(rules routing to queues) under the faults.",
)
def chaos_command(
    minutes: float, kills: int, outages: int, outage_seconds: float, count: int, topics: bool
) -> None:
    """Load through kill -9, listener kills, SIGSTOP pauses and database outages; the
    checker's figures."""
    import tempfile
    from pathlib import Path

    report = harness.Report("chaos")
    checker = Checker()
    duration = minutes * 60
    fault_seconds = kills * (chaos.VISIBILITY_TIMEOUT + 4.0) + outages * (outage_seconds + 2.0)
    gap = max(1.0, (duration - fault_seconds) / max(1, kills + outages))
    workload = chaos.Workload(drain_timeout=120)
    fanout_checker = FanoutChecker()
    topic_workload = chaos_topics.TopicWorkload(drain_timeout=120)
    bus_checker = FanoutChecker()
    bus_workload = chaos_events.EventWorkload(drain_timeout=120)
    with contextlib.ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        server = None
        if outages:
            # Never stop a shared server: the outages run on a server of this run's own.
            server = PrivatePostgres()
            stack.callback(server.close)
            url = server.create_database("chaos")
            migrations.upgrade(url)
        else:
            url = stack.enter_context(_database())
        cluster = chaos.Cluster(url, logs, server=server)
        try:
            cluster.start(count)
            started = time.monotonic()
            stats, topic_stats, bus_stats = asyncio.run(
                _chaos_runs(
                    cluster,
                    checker,
                    (fanout_checker, bus_checker) if topics else None,
                    duration,
                    chaos.schedule(kills, gap, outages, outage_seconds),
                    workload,
                    topic_workload,
                    bus_workload,
                )
            )
            elapsed = time.monotonic() - started
        finally:
            cluster.stop()
    findings = checker.check()
    faults = [f["fault"] for f in cluster.faults]
    report.add(
        minutes=round(elapsed / 60, 2),
        brokers=count,
        kill9=faults.count("kill -9"),
        listener_kills=faults.count("listener killed"),
        pauses=faults.count("SIGSTOP"),
        outages=faults.count("database stopped"),
        wrong_answers=len(workload.wrong_answers)
        + len(topic_workload.wrong_answers)
        + len(bus_workload.wrong_answers),
        **findings.figures(),
    )
    fanout_findings = fanout_checker.check()
    if topics:
        topic_report = harness.Report("chaos-topics")
        topic_report.add(**fanout_findings.figures())
        topic_report.extra["stats"] = topic_stats
        topic_report.extra["examples"] = fanout_findings.summary()
        topic_report.extra["wrong_answers"] = topic_workload.wrong_answers[:20]
        topic_report.emit()
        bus_findings = bus_checker.check()
        bus_report = harness.Report("chaos-buses")
        bus_report.add(**bus_findings.figures())
        bus_report.extra["stats"] = bus_stats
        bus_report.extra["examples"] = bus_findings.summary()
        bus_report.extra["wrong_answers"] = bus_workload.wrong_answers[:20]
        bus_report.emit()
    report.extra["stats"] = stats
    report.extra["failures"] = dict(workload.failures)
    report.extra["outages"] = [f for f in cluster.faults if f["fault"] == "database started"]
    report.extra["wrong_answers"] = workload.wrong_answers[:20]
    report.extra["examples"] = findings.summary()
    report.emit()
    broken = not findings.ok or not stats["drained"] or bool(workload.wrong_answers)
    if topics:
        broken = broken or not fanout_findings.ok or not topic_stats.get("drained")
        broken = broken or bool(topic_workload.wrong_answers)
        broken = broken or not bus_checker.check().ok or not bus_stats.get("drained")
        broken = broken or bool(bus_workload.wrong_answers)
    if broken:
        raise SystemExit(1)


async def _chaos_runs(
    cluster: chaos.Cluster,
    checker: Checker,
    fanout: tuple[FanoutChecker, FanoutChecker] | None,
    duration: float,
    faults: Callable[[chaos.Cluster], Coroutine[Any, Any, None]],
    workload: chaos.Workload,
    topic_workload: chaos_topics.TopicWorkload,
    bus_workload: chaos_events.EventWorkload,
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """The queue workload and (when ``fanout`` checkers are given) the topic and event-bus
    workloads at once, under one fault schedule: those runs last until the schedule has ended."""
    done = asyncio.Event()

    async def scheduled(cluster: chaos.Cluster) -> None:
        try:
            await faults(cluster)
        finally:
            done.set()

    async def until_done(cluster: chaos.Cluster) -> None:
        await done.wait()

    queue_run = chaos.run(cluster, checker, duration, scheduled, workload)
    if fanout is None:
        return await queue_run, {}, {}
    topic_checker, bus_checker = fanout
    topic_run = chaos_topics.run(cluster, topic_checker, duration, until_done, topic_workload)
    bus_run = chaos_events.run(cluster, bus_checker, duration, until_done, bus_workload)
    return await asyncio.gather(queue_run, topic_run, bus_run)


@contextlib.contextmanager
def _database() -> Iterator[str]:
    server, handle = harness.server_url()
    with harness.fresh_database(server) as url:
        yield url
    del handle


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


if __name__ == "__main__":
    main()
