"""The verdict the fan-out chaos tests (topics and event buses) share after a fault cycle."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bench.chaos import Cluster
from bench.chaos_checker import FanoutChecker


def assert_delivered_through_the_fault_cycle(
    cluster: Cluster,
    checker: FanoutChecker,
    wrong_answers: list[Any],
    stats: dict[str, Any],
    destinations: Iterable[str],
) -> None:
    """The whole cycle ran, the run drained, every destination was expected something, and it
    got every copy it wanted and none it did not."""
    findings = checker.check()
    faults = [f["fault"] for f in cluster.faults]
    assert faults == ["kill -9", "listener killed", "SIGSTOP", "SIGCONT"], faults
    assert wrong_answers == [], wrong_answers[:5]
    assert stats["drained"] == 1, (stats, findings.summary())
    assert findings.published > 50, stats
    for name in destinations:
        assert findings.expected[name] > 0, findings.summary()
    assert findings.missing_total == 0, findings.summary()
    assert findings.unwanted_total == 0, findings.summary()
