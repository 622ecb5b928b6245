"""``python -m bench all --quick``: every scenario with a target runs end to end against real
broker processes, and the targets summary names every target with a figure.

The figures of a quick run mean nothing (tiny sizes, a busy test machine): only that each
scenario produced them, and that no message was lost or duplicated, is asserted.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_bench_all_quick_runs_every_scenario(server_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BROKER_BENCH_DATABASE_URL": server_url,
        "BROKER_BENCH_RESULTS": str(tmp_path),
    }
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "all", "--quick"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    saved = {path.name.rsplit("-", 1)[0]: path for path in tmp_path.glob("*.json")}
    assert set(saved) == {
        "lifecycle",
        "wakeup",
        "backlog",
        "held-transaction",
        "many-queues",
        "floor",
        "summary",
    }
    documents: dict[str, Any] = {name: json.loads(path.read_text()) for name, path in saved.items()}

    lifecycle = {row["batch"]: row for row in documents["lifecycle"]["rows"]}
    assert set(lifecycle) == {10, 1}
    for row in lifecycle.values():
        assert row["lost"] == 0 and row["duplicates"] == 0
        assert row["broker_msgs_per_s"] > 0 and row["raw_sql_msgs_per_s"] > 0
        assert 0 < row["peak_rss_mb"] < 1024
    assert [row["path"] for row in documents["wakeup"]["rows"]] == [
        "same process",
        "other process (NOTIFY)",
    ]
    assert documents["many-queues"]["rows"][0]["metrics_scrape_ms"] > 0
    floor = {row["part"]: row["cpu_us_per_call"] for row in documents["floor"]["rows"]}
    assert len(floor) == 6 and all(cpu > 0 for cpu in floor.values()), floor

    summary = documents["summary"]
    figures = [row["figure"] for row in summary["rows"]]
    assert len(figures) == summary["targets"] == 11
    for row in summary["rows"]:
        assert isinstance(row["measured"], (int, float)) and math.isfinite(row["measured"]), row
        assert row["met"] in ("yes", "NO")
    assert summary["met"] == sum(row["met"] == "yes" for row in summary["rows"])
    unsafe = next(row for row in summary["rows"] if "lost or duplicated" in row["figure"])
    assert unsafe == {"figure": unsafe["figure"], "measured": 0, "target": "0", "met": "yes"}
