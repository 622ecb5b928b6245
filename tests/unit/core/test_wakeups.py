"""The wake-up hub: parked waiters are woken first; busy ones only when too few are parked."""

from __future__ import annotations

import asyncio

from broker.core.wakeups import WakeupHub


async def test_a_parked_waiter_is_woken_before_a_busy_one():
    hub = WakeupHub()
    with hub.waiter(1) as busy, hub.waiter(1) as parked:
        sleeping = asyncio.create_task(parked.wait(30))
        await asyncio.sleep(0)  # let it park
        hub.wake(1, 1)
        assert await sleeping is True
        assert not busy.woken  # still looking at the queue: it will see the message itself


async def test_busy_waiters_are_flagged_when_too_few_are_parked():
    hub = WakeupHub()
    with hub.waiter(1) as busy:
        hub.wake(1, 1)
        assert busy.woken  # it will look once more instead of parking
        assert await busy.wait(30) is True  # and does not sleep


async def test_wakes_are_per_queue_and_bounded_by_count():
    hub = WakeupHub()
    with hub.waiter(1) as a, hub.waiter(1) as b, hub.waiter(2) as other:
        hub.wake(1, 1)
        assert [a.woken, b.woken, other.woken] == [True, False, False]
        hub.wake(1, 5)
        assert b.woken and not other.woken
        hub.wake_all()
        assert other.woken
    assert hub.waiting == 0


async def test_a_waiter_that_times_out_reports_it():
    hub = WakeupHub()
    with hub.waiter(1) as waiter:
        assert await waiter.wait(0) is False
        assert not waiter.parked
