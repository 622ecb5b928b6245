"""The performance targets, checked against the reports of one ``python -m bench all`` run.

Ratios are to the raw-SQL baseline (or the plain case) of the same run; absolute figures on a
shared machine drift too much to set targets on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.harness import Report


@dataclass(frozen=True)
class Verdict:
    figure: str
    measured: float | None
    target: str
    met: bool

    def row(self) -> dict[str, Any]:
        return {
            "figure": self.figure,
            "measured": self.measured,
            "target": self.target,
            "met": "yes" if self.met else "NO",
        }


def at_least(figure: str, value: float | None, goal: float, unit: str = "x") -> Verdict:
    met = value is not None and math.isfinite(value) and value >= goal
    return Verdict(figure, value, f">= {goal:g}{unit}", met)


def below(figure: str, value: float | None, goal: float, unit: str) -> Verdict:
    met = value is not None and math.isfinite(value) and value < goal
    return Verdict(figure, value, f"< {goal:g} {unit}", met)


def verdicts(reports: Mapping[str, Report]) -> list[Verdict]:
    """One verdict per target, in the order the targets are listed in docs/performance.md."""
    found: list[Verdict] = []
    lifecycle = {row["batch"]: row for row in reports["lifecycle"].rows}
    found.append(at_least("lifecycle batch 10, ratio to raw SQL", lifecycle[10]["ratio"], 1.0))
    found.append(at_least("lifecycle batch 1, ratio to raw SQL", lifecycle[1]["ratio"], 0.75))
    for row in reports["wakeup"].rows:
        found.append(below(f"wake-up p50, {row['path']}", row["p50_ms"], 5, "ms"))
        found.append(below(f"wake-up p99, {row['path']}", row["p99_ms"], 50, "ms"))
    deep = reports["backlog"].rows[-1]
    found.append(at_least(f"{deep['queue']} queue, ratio to empty", deep["ratio"], 0.9))
    held = reports["held"].extra["broker_ratio"]
    found.append(at_least("held snapshot, ratio to none", held, 0.9))
    many = reports["queues"].rows[0]
    scrape = f"/metrics scrape with {many['queues']:,} queues"
    found.append(below(scrape, many["metrics_scrape_ms"], 250, "ms"))
    peak = max(row["peak_rss_mb"] for name in ("lifecycle", "queues") for row in reports[name].rows)
    found.append(below("peak RSS of a broker process", peak, 150, "MB"))
    unsafe = sum(row["lost"] + row["duplicates"] for row in reports["lifecycle"].rows)
    found.append(Verdict("lifecycle messages lost or duplicated", unsafe, "0", unsafe == 0))
    return found


def summary(reports: Mapping[str, Report]) -> Report:
    report = Report("summary")
    found = verdicts(reports)
    for verdict in found:
        report.add(**verdict.row())
    report.extra["met"] = sum(v.met for v in found)
    report.extra["targets"] = len(found)
    return report
