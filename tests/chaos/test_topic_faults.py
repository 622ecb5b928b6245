"""Topic fan-out and HTTP delivery through kill -9, listener kills and SIGSTOP.

Publishes to a topic with three filtered SQS subscriptions and one filtered HTTP subscription
(a loopback endpoint) while the fault cycle runs against two broker processes: every matching
subscription gets every acknowledged publish at least once, and none gets one it filters out.
"""

from __future__ import annotations

import asyncio

from bench import chaos, chaos_topics
from bench.chaos import Cluster
from bench.chaos_checker import FanoutChecker
from tests.chaos.fanout_verdict import assert_delivered_through_the_fault_cycle


async def test_fanout_through_kill_listener_kill_and_pause(cluster: Cluster) -> None:
    checker = FanoutChecker()
    workload = chaos_topics.TopicWorkload(publishers=3, drain_timeout=60)
    stats = await asyncio.wait_for(
        chaos_topics.run(
            cluster,
            checker,
            duration=6.0,
            faults=chaos.schedule(cycles=1, gap=1.5),
            workload=workload,
        ),
        chaos.CI_RUN_LIMIT_SECONDS,
    )
    assert_delivered_through_the_fault_cycle(
        cluster,
        checker,
        workload.wrong_answers,
        stats,
        (spec.name for spec in chaos_topics.SUBSCRIPTIONS),
    )


async def test_fanout_through_a_database_outage(private_cluster: Cluster) -> None:
    checker = FanoutChecker()
    workload = chaos_topics.TopicWorkload(publishers=3, drain_timeout=60)

    async def faults(cluster: Cluster) -> None:
        await asyncio.sleep(1.5)  # load before the fault
        await chaos.database_outage(cluster, 3.0)

    stats = await asyncio.wait_for(
        chaos_topics.run(private_cluster, checker, duration=4.0, faults=faults, workload=workload),
        chaos.CI_RUN_LIMIT_SECONDS,
    )
    findings = checker.check()
    assert workload.wrong_answers == [], workload.wrong_answers[:5]
    assert stats["publish_retries"] > 0, stats  # publishes were refused while it was down
    assert stats["drained"] == 1, (stats, findings.summary())
    assert findings.missing_total == 0, findings.summary()
    assert findings.unwanted_total == 0, findings.summary()
