"""``python -m bench SCENARIO``: run a benchmark scenario, print a table and a JSON line."""

from __future__ import annotations

import asyncio

import click

from bench import baseline, harness, lifecycle


@click.group()
def main() -> None:
    """Broker benchmarks. BROKER_BENCH_DATABASE_URL selects the server (else embedded)."""


@main.command("lifecycle")
@click.option("--messages", default=20_000, show_default=True, help="Messages at batch 10.")
@click.option("--producers", default=4, show_default=True)
@click.option("--consumers", default=4, show_default=True)
@click.option("--brokers", "broker_count", default=1, show_default=True)
def lifecycle_command(messages: int, producers: int, consumers: int, broker_count: int) -> None:
    """Send + receive + delete at batch 1 and 10, with the raw-SQL baseline of the same run."""
    server, handle = harness.server_url()
    report = harness.Report("lifecycle")
    with harness.fresh_database(server) as url:
        for batch in (10, 1):
            total = messages if batch == 10 else messages // 4
            raw = asyncio.run(baseline.run(url, total, batch, producers, consumers))
            with harness.brokers(url, broker_count) as started:
                result = asyncio.run(lifecycle.run(
                    [b.port for b in started], total, batch, producers, consumers))
                rss = max(b.rss_mb() for b in started)
            report.add(batch=batch, messages=total, broker_msgs_per_s=result.rate,
                       raw_sql_msgs_per_s=raw, ratio=result.rate / raw,
                       p50_ms=result.latency_p50_ms, p99_ms=result.latency_p99_ms,
                       lost=result.lost, duplicates=result.duplicates, peak_rss_mb=rss)
    report.emit()
    del handle


if __name__ == "__main__":
    main()
