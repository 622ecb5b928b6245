"""What every scenario shares: a fresh database, broker processes, timing and result files."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo

# BROKER_BENCH_RESULTS moves the result files (the harness's own test writes to a temporary one).
RESULTS = Path(
    os.environ.get("BROKER_BENCH_RESULTS") or Path(__file__).resolve().parent / "results"
)


def server_url() -> tuple[str, Any]:
    """BROKER_BENCH_DATABASE_URL, else the embedded default under .data/bench."""
    url = os.environ.get("BROKER_BENCH_DATABASE_URL")
    if url:
        return url, None
    from broker import embedded

    return embedded.start(Path(__file__).resolve().parents[1] / ".data" / "bench")


@contextlib.contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A new, migrated database for one run, dropped afterwards."""
    from broker.storage import migrations

    name = f"broker_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_conninfo.make_conninfo(server, dbname=name)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ANNOUNCE_SECONDS = 1.0
"""BROKER_PEER_ANNOUNCE_SECONDS of the bench's brokers."""


@dataclass
class BrokerProcess:
    port: int
    process: subprocess.Popen[bytes]

    def peak_rss_mb(self) -> float:
        """The largest peak resident set (VmHWM) of the process and its worker children."""
        import psutil

        try:
            root = psutil.Process(self.process.pid)
            pids = [root.pid, *(child.pid for child in root.children(recursive=True))]
        except psutil.Error:
            return 0.0
        return max((_peak_rss_mb(pid) for pid in pids), default=0.0)

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU time used so far by a process and its children (worker processes).
    The kernel counts it in clock ticks (10 ms here): measure over a few hundred requests."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
        return sum(sum(p.cpu_times()[:2]) for p in processes)
    except psutil.Error:
        return 0.0


def _peak_rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Brokers:
    processes: list[BrokerProcess]

    @property
    def ports(self) -> list[int]:
        return [p.port for p in self.processes]

    def peak_rss_mb(self) -> float:
        return max(p.peak_rss_mb() for p in self.processes)

    def cpu_seconds(self) -> float:
        return sum(p.cpu_seconds() for p in self.processes)


@contextlib.contextmanager
def brokers(database_url: str, count: int = 1, workers: int = 1, **env: str) -> Iterator[Brokers]:
    """``count`` separate ``broker serve`` processes (each with ``workers`` workers), past their
    first announcement period.

    Until a process has listened for one announcement period it assumes other processes listen
    and notifies them of every send (docs/architecture.md); the bench measures the steady state,
    so its brokers announce every second and are used once that first second has passed.
    """
    env = {"BROKER_PEER_ANNOUNCE_SECONDS": str(ANNOUNCE_SECONDS), **env}
    started: list[BrokerProcess] = []
    try:
        for _ in range(count):
            port = free_port()
            command = [
                sys.executable,
                "-m",
                "broker",
                "serve",
                "--port",
                str(port),
                "--database-url",
                database_url,
                "--no-migrate",
                "--log-level",
                "warning",
                "--workers",
                str(workers),
            ]
            process = subprocess.Popen(command, env={**os.environ, **env})
            started.append(BrokerProcess(port, process))
        for broker in started:
            _wait_ready(broker)
        time.sleep(ANNOUNCE_SECONDS)
        yield Brokers(started)
    finally:
        for broker in started:
            broker.process.send_signal(signal.SIGTERM)
        for broker in started:
            try:
                broker.process.wait(30)
            except subprocess.TimeoutExpired:
                broker.process.kill()


def _wait_ready(broker: BrokerProcess, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if broker.process.poll() is not None:
            raise RuntimeError("the broker exited during start-up")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{broker.port}/readyz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("the broker did not become ready")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


@dataclass
class Report:
    scenario: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, **row: Any) -> None:
        self.rows.append(row)

    def emit(self) -> None:
        """Print the table and one JSON line; save the JSON under bench/results/."""
        if self.rows:
            columns = list(self.rows[0])
            widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in self.rows)) for c in columns}
            print("  ".join(c.ljust(widths[c]) for c in columns))
            for row in self.rows:
                print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns))
        document = {
            "scenario": self.scenario,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": machine(),
            "rows": self.rows,
            **self.extra,
        }
        line = json.dumps(document)
        print(line)
        RESULTS.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        (RESULTS / f"{self.scenario}-{stamp}.json").write_text(line + "\n")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)
