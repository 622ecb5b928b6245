"""Coalescer: concurrent calls with the same key share one statement and one commit.

The first call of a key runs at once, so an idle broker adds no latency. Calls that arrive while
``max_in_flight`` statements of their key are already running wait for the next one, which takes
all of them together: under load, batches grow by themselves and the number of commits (the
fsyncs that bound a database queue) stays flat. Each caller gets its own answer, and only after
the statement that carried its item has committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
I = TypeVar("I")  # noqa: E741 - the conventional name for an item type
R = TypeVar("R")


@dataclass
class _Key(Generic[I, R]):
    pending: list[tuple[I, asyncio.Future[R]]] = field(default_factory=list)
    in_flight: int = 0


class Coalescer(Generic[K, I, R]):
    def __init__(
        self,
        flush: Callable[[K, list[I]], Awaitable[list[R]]],
        *,
        max_in_flight: int = 1,
        max_items: int = 100,
    ) -> None:
        """``flush(key, items)`` runs one statement for all items and returns one result each."""
        self._flush = flush
        self._max_in_flight = max_in_flight
        self._max_items = max_items
        self._keys: dict[K, _Key[I, R]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, key: K, item: I) -> R:
        state = self._keys.get(key)
        if state is None:
            state = self._keys[key] = _Key()
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        state.pending.append((item, future))
        if state.in_flight < self._max_in_flight:
            self._start(key, state)
        return await future

    def _start(self, key: K, state: _Key[I, R]) -> None:
        batch = state.pending[: self._max_items]
        del state.pending[: self._max_items]
        state.in_flight += 1
        task = asyncio.get_running_loop().create_task(self._run(key, state, batch))
        # Keep a reference: the event loop holds tasks only weakly.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, key: K, state: _Key[I, R], batch: list[tuple[I, asyncio.Future[R]]]
    ) -> None:
        try:
            results = await self._flush(key, [item for item, _ in batch])
        except BaseException as exc:
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(exc, asyncio.CancelledError):
                    future.cancel()
                else:
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # a caller that went away is simply not answered
                    future.set_result(result)
        finally:
            state.in_flight -= 1
            if state.pending:
                self._start(key, state)
            elif state.in_flight == 0:
                del self._keys[key]
