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
from tests.chaos.fanout_verdict import assert_delivered_through_the_fault_cycle


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
    assert_delivered_through_the_fault_cycle(
        cluster, checker, workload.wrong_answers, stats, (spec.name for spec in chaos_events.RULES)
    )
