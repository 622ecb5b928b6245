"""Chaos fixtures: a cluster of real ``broker serve`` processes on a fresh migrated database.

The harness itself lives in ``bench/chaos.py`` and the checker in ``bench/chaos_checker.py``, so
the long run (``python -m bench chaos``) and these short CI runs share one implementation.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # bench/ is a top-level directory, not an installed package
    sys.path.insert(0, str(ROOT))

from bench.chaos import Cluster  # noqa: E402
from bench.private_postgres import PrivatePostgres  # noqa: E402

CLUSTERS: list[Cluster] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for cluster in CLUSTERS:
            for broker in cluster.brokers + cluster.retired:
                report.sections.append((f"broker {broker.url} log tail", broker.log_tail()))


# A short poll fallback would hide lost wake-ups, so the fallback re-check is set far beyond
# every wait of these tests. An HTTP delivery claimed by a killed process is retried when its
# lease (2 x the delivery timeout + 1 s) runs out: 5 s here.
CLUSTER_ENV = {"BROKER_POLL_INTERVAL_SECONDS": "60", "BROKER_DELIVERY_TIMEOUT_SECONDS": "2"}


@pytest.fixture
def cluster(fresh_database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """Two broker processes on one database."""
    chaos = Cluster(fresh_database_url, tmp_path, CLUSTER_ENV)
    CLUSTERS.append(chaos)
    try:
        chaos.start(2)
        yield chaos
    finally:
        CLUSTERS.remove(chaos)
        problems = chaos.stop()
        assert not problems, problems


@pytest.fixture
def private_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Two broker processes on a PostgreSQL server of this test's own, which the test may stop
    and start (the shared server of the other tests must never be stopped)."""
    from broker.storage import migrations

    server = PrivatePostgres()
    try:
        url = server.create_database("chaos")
        migrations.upgrade(url)
        chaos = Cluster(url, tmp_path, CLUSTER_ENV, server=server)
        CLUSTERS.append(chaos)
        try:
            chaos.start(2)
            yield chaos
        finally:
            CLUSTERS.remove(chaos)
            problems = chaos.stop()
            assert not problems, problems
    finally:
        server.close()
