"""``python -m bench SCENARIO``: run a benchmark scenario, print a table and a JSON line;
``python -m bench all`` runs every scenario with a target and checks the targets.

BROKER_BENCH_DATABASE_URL selects the PostgreSQL server (the bench creates and drops its own
database there); unset, the embedded server under .data/bench is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

import click
import psycopg

from bench import (
    chaos,
    chaos_events,
    chaos_topics,
    events,
    fanout,
    harness,
    scenarios,
    targets,
)
from bench.chaos_checker import Checker, FanoutChecker
from bench.private_postgres import PrivatePostgres
from bench.scenarios import FULL, QUICK
from broker.storage import migrations


@click.group()
def main() -> None:
    """Broker benchmarks; every run also measures the raw-SQL baseline where it applies."""


@main.command("lifecycle")
@click.option("--messages", default=FULL.messages, show_default=True, help="Messages at batch 10.")
@click.option("--producers", default=4, show_default=True)
@click.option("--consumers", default=4, show_default=True)
@click.option("--workers", default=1, show_default=True, help="broker serve --workers")
def lifecycle_command(messages: int, producers: int, consumers: int, workers: int) -> None:
    """Send + receive + delete at batch 10 and 1, as a ratio to raw SQL in the same run."""
    scenarios.lifecycle_report(messages, producers, consumers, workers).emit()


@main.command("fanout")
@click.option("--queues", default=100, show_default=True)
@click.option("--publishes", default=3000, show_default=True)
@click.option("--publishers", default=8, show_default=True)
def fanout_command(queues: int, publishes: int, publishers: int) -> None:
    """Publish to a topic with N filtered queue subscriptions: publishes/s and deliveries/s."""
    report = harness.Report("fanout")
    with scenarios.database() as url, harness.brokers(url) as started:
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
    with scenarios.database() as url:
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
@click.option("--receivers", default=FULL.receivers, show_default=True)
@click.option("--sends", default=FULL.sends, show_default=True)
def wakeup_command(receivers: int, sends: int) -> None:
    """Long-poll wake-up latency, same process and across two broker processes."""
    scenarios.wakeup_report(receivers, sends).emit()


@main.command("backlog")
@click.option("--depth", default=FULL.depth, show_default=True)
@click.option("--messages", default=FULL.backlog_messages, show_default=True)
def backlog_command(depth: int, messages: int) -> None:
    """Batch-10 lifecycle on a queue already holding DEPTH messages, as a ratio to an empty one."""
    scenarios.backlog_report(depth, messages).emit()


@main.command("held")
@click.option("--seconds", default=FULL.held_seconds, show_default=True)
def held_command(seconds: float) -> None:
    """Batch-10 lifecycle for SECONDS while another session holds a snapshot, vs none."""
    scenarios.held_report(seconds).emit()


@main.command("queues")
@click.option("--count", default=FULL.queues, show_default=True)
@click.option("--operations", default=FULL.operations, show_default=True)
def queues_command(count: int, operations: int) -> None:
    """COUNT queues: send/receive/delete spread across them, and the /metrics scrape time."""
    scenarios.queues_report(count, operations).emit()


@main.command("floor")
@click.option("--calls", default=FULL.floor_calls, show_default=True, help="Per client and part.")
def floor_command(calls: int) -> None:
    """CPU per call of the HTTP server alone, the driver alone and the broker's requests."""
    scenarios.floor_report(calls).emit()


@main.command("all")
@click.option("--quick", is_flag=True, help="Tiny sizes, to check that every scenario runs.")
def all_command(quick: bool) -> None:
    """Every scenario with a target, then the targets met and missed. Exits 0 either way: a
    missed target is a finding, not a failure of the harness."""
    sizes = QUICK if quick else FULL
    runs: dict[str, Callable[[], harness.Report]] = {
        "lifecycle": lambda: scenarios.lifecycle_report(sizes.messages),
        "wakeup": lambda: scenarios.wakeup_report(sizes.receivers, sizes.sends),
        "backlog": lambda: scenarios.backlog_report(sizes.depth, sizes.backlog_messages),
        "held": lambda: scenarios.held_report(sizes.held_seconds),
        "queues": lambda: scenarios.queues_report(sizes.queues, sizes.operations),
        "floor": lambda: scenarios.floor_report(sizes.floor_calls),
    }
    reports: dict[str, harness.Report] = {}
    for name, run in runs.items():
        click.echo(f"== {name}")
        reports[name] = run()
        reports[name].emit()
    click.echo("== targets")
    targets.summary(reports).emit()


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
            url = stack.enter_context(scenarios.database())
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


if __name__ == "__main__":
    main()
