"""The coalescer: concurrent calls of a key share a flush; each caller gets its own answer."""

from __future__ import annotations

import asyncio

import pytest

from broker.storage.coalescing import Coalescer


class Recorder:
    """A flush that records its batches and can be held open to let calls pile up."""

    def __init__(self) -> None:
        self.batches: list[tuple[str, list[int]]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.changed = asyncio.Condition()

    async def started(self, count: int) -> None:
        """Until ``count`` flushes have begun."""
        async with self.changed:
            await self.changed.wait_for(lambda: len(self.batches) >= count)

    async def flush(self, key: str, items: list[int]) -> list[int]:
        self.batches.append((key, items))
        async with self.changed:
            self.changed.notify_all()
        await self.gate.wait()
        if any(i < 0 for i in items):
            raise ValueError("negative")
        return [i * 10 for i in items]


async def test_an_idle_key_flushes_at_once():
    recorder = Recorder()
    coalescer = Coalescer(recorder.flush)
    assert await coalescer.submit("q", 1) == 10
    assert recorder.batches == [("q", [1])]


async def test_calls_arriving_during_a_flush_share_the_next_one():
    recorder = Recorder()
    recorder.gate.clear()
    coalescer = Coalescer(recorder.flush, max_in_flight=1)
    first = asyncio.create_task(coalescer.submit("q", 1))
    await recorder.started(1)
    rest = [asyncio.create_task(coalescer.submit("q", i)) for i in (2, 3, 4)]
    await asyncio.sleep(0)  # let the three submits queue behind the running flush
    recorder.gate.set()
    assert await first == 10
    assert [await t for t in rest] == [20, 30, 40]
    assert recorder.batches == [("q", [1]), ("q", [2, 3, 4])]


async def test_keys_do_not_wait_for_each_other():
    recorder = Recorder()
    recorder.gate.clear()
    coalescer = Coalescer(recorder.flush, max_in_flight=1)
    a = asyncio.create_task(coalescer.submit("a", 1))
    b = asyncio.create_task(coalescer.submit("b", 2))
    await recorder.started(2)  # both run although neither has finished
    assert [k for k, _ in recorder.batches] == ["a", "b"]
    recorder.gate.set()
    assert (await a, await b) == (10, 20)


async def test_max_items_splits_a_backlog():
    recorder = Recorder()
    recorder.gate.clear()
    coalescer = Coalescer(recorder.flush, max_in_flight=1, max_items=2)
    tasks = [asyncio.create_task(coalescer.submit("q", i)) for i in range(5)]
    await asyncio.sleep(0)
    recorder.gate.set()
    assert [await t for t in tasks] == [0, 10, 20, 30, 40]
    assert [items for _, items in recorder.batches] == [[0], [1, 2], [3, 4]]


async def test_a_failed_flush_fails_every_call_it_carried_and_the_key_recovers():
    recorder = Recorder()
    recorder.gate.clear()
    coalescer = Coalescer(recorder.flush, max_in_flight=1)
    first = asyncio.create_task(coalescer.submit("q", 1))
    await recorder.started(1)
    bad = [asyncio.create_task(coalescer.submit("q", i)) for i in (-1, 2)]
    await asyncio.sleep(0)
    recorder.gate.set()
    assert await first == 10
    for task in bad:
        with pytest.raises(ValueError, match="negative"):
            await task
    assert await coalescer.submit("q", 3) == 30


async def test_a_cancelled_caller_does_not_break_the_batch():
    recorder = Recorder()
    recorder.gate.clear()
    coalescer = Coalescer(recorder.flush, max_in_flight=1)
    first = asyncio.create_task(coalescer.submit("q", 1))
    await recorder.started(1)
    gone = asyncio.create_task(coalescer.submit("q", 2))
    kept = asyncio.create_task(coalescer.submit("q", 3))
    await asyncio.sleep(0)
    gone.cancel()
    recorder.gate.set()
    assert await first == 10
    assert await kept == 30
    assert gone.cancelled()
