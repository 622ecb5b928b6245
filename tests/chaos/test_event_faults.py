"""Event-bus routing through kill -9, listener kills and SIGSTOP.

PutEvents to a bus with three rules, each targeting its own queue, while the fault cycle runs
against two broker processes: every queue whose rule matches gets every acknowledged event at
least once, and none gets one its rule refuses.
"""

from __future__ import annotations

import asyncio

from bench import chaos, chaos_events
from bench.chaos import Cluster
from bench.chaos_checker import FanoutChecker


async def test_bus_routing_through_kill_listener_kill_and_pause(cluster: Cluster) -> None:
    checker = FanoutChecker()
    workload = chaos_events.EventWorkload(producers=3, drain_timeout=60)
    stats = await asyncio.wait_for(
        chaos_events.run(
            cluster,
            checker,
            duration=6.0,
            faults=chaos.schedule(cycles=1, gap=1.5),
            workload=workload,
        ),
        chaos.CI_RUN_LIMIT_SECONDS,
    )
    findings = checker.check()
    faults = [f["fault"] for f in cluster.faults]
    assert faults == ["kill -9", "listener killed", "SIGSTOP", "SIGCONT"], faults
    assert workload.wrong_answers == [], workload.wrong_answers[:5]
    assert stats["drained"] == 1, (stats, findings.summary())
    assert findings.published > 50, stats
    for spec in chaos_events.RULES:
        assert findings.expected[spec.name] > 0, findings.summary()
    assert findings.missing_total == 0, findings.summary()
    assert findings.unwanted_total == 0, findings.summary()
