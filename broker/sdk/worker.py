"""The worker runtime: receive, run a handler, delete on success, back off on failure.

``Worker(client, "orders", handle, concurrency=8).run()``

* long polls for up to ``concurrency`` messages at a time (never more than it can run);
* sync handlers run in a thread pool of ``concurrency`` threads, async handlers on the loop;
* success -> the message is deleted (deletes are batched, up to 10 per request);
* an exception -> the message stays in the queue and comes back after ``backoff(receive_count)``
  seconds (a change of visibility), so a failing message does not spin;
* while a handler runs, a heartbeat extends the visibility timeout of every in-flight message
  every ``heartbeat_interval`` seconds (default a third of the timeout);
* SIGTERM/SIGINT (or ``stop()``): stop receiving, let running handlers finish for up to
  ``shutdown_timeout`` seconds, release the rest (visibility 0) so others take them at once, flush
  the deletes, return. A second signal releases the still-running messages immediately;
* a received ``traceparent`` attribute becomes the handler's trace context: messages sent from
  the handler carry the same trace (see ``broker.sdk.tracing``);
* ``hooks`` (a ``WorkerHooks``) see every event, for logs and metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from broker.sdk import tracing
from broker.sdk.aio import AsyncClient, AsyncMessage, AsyncQueue
from broker.sdk.client import Client
from broker.sdk.errors import BrokerClientError
from broker.sdk.models import MessageData

log = logging.getLogger("broker.sdk.worker")

Handler = Callable[[Any], Any]
Backoff = Callable[[int], int]


def exponential_backoff(base: int = 1, cap: int = 300) -> Backoff:
    """Seconds before a failed message returns: ``base * 2**(receive_count - 1)``, at most
    ``cap`` (1, 2, 4, 8... by default)."""

    def delay(receive_count: int) -> int:
        return int(min(cap, base * 2 ** max(0, min(receive_count - 1, 30))))

    return delay


class WorkerHooks:
    """Override what you need; every method is called on the worker's event loop thread and
    must not block. Exceptions raised by hooks are logged and ignored."""

    def on_received(self, message: MessageData) -> None: ...

    def on_success(self, message: MessageData, seconds: float) -> None: ...

    def on_failure(
        self, message: MessageData, error: BaseException, seconds: float, retry_in: int
    ) -> None: ...

    def on_deleted(self, count: int) -> None: ...

    def on_heartbeat(self, count: int) -> None: ...

    def on_released(self, count: int) -> None: ...

    def on_error(self, error: BaseException) -> None:
        """A receive, delete or visibility call failed (after the client's retries)."""

    def on_stopping(self) -> None: ...


class LoggingHooks(WorkerHooks):
    """The default hooks: failures and errors at warning, the rest at debug."""

    def on_success(self, message: MessageData, seconds: float) -> None:
        log.debug("message %s handled in %.3f s", message.message_id, seconds)

    def on_failure(
        self, message: MessageData, error: BaseException, seconds: float, retry_in: int
    ) -> None:
        log.warning(
            "message %s failed (receive %d) after %.3f s; retry in %d s: %r",
            message.message_id,
            message.receive_count,
            seconds,
            retry_in,
            error,
        )

    def on_error(self, error: BaseException) -> None:
        log.warning("worker call failed: %r", error)

    def on_released(self, count: int) -> None:
        log.info("released %d message(s) back to the queue", count)

    def on_stopping(self) -> None:
        log.info("worker stopping: no new receives; finishing in-flight messages")


@dataclass
class _InFlight:
    message: MessageData
    extended_at: float
    done: bool = False


class Worker:
    def __init__(
        self,
        client: Client | AsyncClient,
        queue: str,
        handler: Handler,
        *,
        concurrency: int = 1,
        visibility_timeout: int = 30,
        wait_seconds: int = 20,
        backoff: Backoff | None = None,
        heartbeat_interval: float | None = None,
        shutdown_timeout: float = 30.0,
        hooks: WorkerHooks | None = None,
        delete_flush_seconds: float = 0.05,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if visibility_timeout < 1:
            raise ValueError("visibility_timeout must be at least 1 second")
        self.client = client
        self.queue_name = queue
        self.handler = handler
        self.concurrency = concurrency
        self.visibility_timeout = visibility_timeout
        self.wait_seconds = wait_seconds
        self.backoff = backoff or exponential_backoff()
        self.heartbeat_interval = heartbeat_interval or visibility_timeout / 3
        self.shutdown_timeout = shutdown_timeout
        self.hooks = hooks or LoggingHooks()
        self.delete_flush_seconds = delete_flush_seconds
        self.processed = 0
        """Messages handled successfully and deleted."""
        self.failed = 0
        self._is_async = _is_async(handler)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._abandon: asyncio.Event | None = None
        self._stop_requested = False
        self._inflight: dict[str, _InFlight] = {}
        self._running: set[asyncio.Task[None]] = set()

    # -- control ------------------------------------------------------------------------------

    def run(self, install_signal_handlers: bool = True) -> None:
        """Run until SIGTERM/SIGINT or ``stop()`` (blocking; creates an event loop)."""
        asyncio.run(self.run_async(install_signal_handlers))

    def stop(self) -> None:
        """Ask the worker to stop (from any thread); a second call releases in-flight work."""
        loop = self._loop
        if loop is None:
            self._stop_requested = True
            return
        loop.call_soon_threadsafe(self._signal_stop)

    def _signal_stop(self) -> None:
        assert self._stopping is not None and self._abandon is not None
        if self._stopping.is_set():
            self._abandon.set()
        else:
            self._call_hook("on_stopping")
            self._stopping.set()

    async def run_async(self, install_signal_handlers: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopping = asyncio.Event()
        self._abandon = asyncio.Event()
        if self._stop_requested:
            self._stopping.set()
        installed: list[signal.Signals] = []
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, self._signal_stop)
                    installed.append(sig)
        owned = not isinstance(self.client, AsyncClient)
        client = self._async_client()
        queue = client.queue(self.queue_name)
        executor = None if self._is_async else ThreadPoolExecutor(self.concurrency, "broker-worker")
        deletes: asyncio.Queue[str | None] = asyncio.Queue()
        deleter = asyncio.create_task(self._delete_loop(queue, deletes))
        heartbeat = asyncio.create_task(self._heartbeat_loop(queue))
        try:
            await self._receive_loop(queue, executor, deletes)
        finally:
            await self._drain(queue)
            await deletes.put(None)
            await deleter
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
            if owned:
                await client.close()
            for sig in installed:
                loop.remove_signal_handler(sig)
            self._loop = None

    def _async_client(self) -> AsyncClient:
        if isinstance(self.client, AsyncClient):
            return self.client
        c = self.client.config
        return AsyncClient(
            c.endpoint_url,
            c.access_key_id,
            c.secret_access_key,
            region=c.region,
            timeout=c.timeout,
            retry=c.retry,
            max_connections=max(c.max_connections, 4),
        )

    # -- loops --------------------------------------------------------------------------------

    async def _receive_loop(
        self,
        queue: AsyncQueue,
        executor: ThreadPoolExecutor | None,
        deletes: asyncio.Queue[str | None],
    ) -> None:
        assert self._stopping is not None
        slot_freed = asyncio.Event()
        errors_in_a_row = 0
        while not self._stopping.is_set():
            free = self.concurrency - len(self._running)
            if free <= 0:
                slot_freed.clear()
                await _first(slot_freed.wait(), self._stopping.wait())
                continue
            try:
                messages = await queue.receive(
                    max_messages=min(10, free),
                    wait_seconds=self.wait_seconds,
                    visibility_timeout=self.visibility_timeout,
                )
                errors_in_a_row = 0
            except BrokerClientError as exc:
                self._call_hook("on_error", exc)
                errors_in_a_row += 1
                pause = min(30.0, 0.5 * 2 ** min(errors_in_a_row, 6))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)
                continue
            if self._stopping.is_set():
                await self._release(queue, [m.receipt_handle for m in messages])
                break
            now = time.monotonic()
            for message in messages:
                self._inflight[message.receipt_handle] = _InFlight(message, now)
                task = asyncio.create_task(self._process(queue, message, executor, deletes))
                self._running.add(task)

                def finished(t: asyncio.Task[None]) -> None:
                    self._running.discard(t)
                    slot_freed.set()

                task.add_done_callback(finished)

    async def _process(
        self,
        queue: AsyncQueue,
        message: AsyncMessage,
        executor: ThreadPoolExecutor | None,
        deletes: asyncio.Queue[str | None],
    ) -> None:
        started = time.monotonic()
        self._call_hook("on_received", message)
        parent = message.traceparent
        trace = tracing.child_of(parent) if parent and tracing.is_valid(parent) else None
        try:
            with tracing.trace_context(trace):
                if executor is None:
                    result = self.handler(message)
                    if inspect.isawaitable(result):
                        await result
                else:
                    context = contextvars.copy_context()
                    data = MessageData(
                        **{f: getattr(message, f) for f in MessageData.__dataclass_fields__}
                    )
                    loop = asyncio.get_running_loop()
                    await loop.run_in_executor(executor, context.run, self.handler, data)
        except Exception as exc:
            seconds = time.monotonic() - started
            retry_in = self.backoff(message.receive_count)
            self.failed += 1
            self._call_hook("on_failure", message, exc, seconds, retry_in)
            entry = self._inflight.pop(message.receipt_handle, None)
            if entry is not None:
                try:
                    await queue.change_visibility(message.receipt_handle, retry_in)
                except BrokerClientError as error:
                    self._call_hook("on_error", error)
            return
        self._call_hook("on_success", message, time.monotonic() - started)
        entry = self._inflight.get(message.receipt_handle)
        if entry is not None:
            entry.done = True
            await deletes.put(message.receipt_handle)

    async def _delete_loop(self, queue: AsyncQueue, deletes: asyncio.Queue[str | None]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await deletes.get()
            if first is None:
                return
            batch = [first]
            closing = False
            deadline = loop.time() + self.delete_flush_seconds
            while len(batch) < 10:
                try:
                    item = await asyncio.wait_for(deletes.get(), max(0.0, deadline - loop.time()))
                except TimeoutError:
                    break
                if item is None:
                    closing = True
                    break
                batch.append(item)
            await self._delete(queue, batch)
            if closing:
                return

    async def _delete(self, queue: AsyncQueue, handles: list[str]) -> None:
        try:
            result = await queue.delete_batch(handles)
        except BrokerClientError as exc:
            self._call_hook("on_error", exc)
            for handle in handles:
                self._inflight.pop(handle, None)
            return
        for handle in handles:
            self._inflight.pop(handle, None)
        self.processed += len(result.successful)
        self._call_hook("on_deleted", len(result.successful))
        for failure in result.failed:
            self._call_hook("on_error", BrokerClientError(f"delete failed: {failure}"))

    async def _heartbeat_loop(self, queue: AsyncQueue) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            now = time.monotonic()
            due = [
                handle
                for handle, entry in list(self._inflight.items())
                if now - entry.extended_at >= self.heartbeat_interval * 0.9
            ]
            if not due:
                continue
            try:
                result = await queue.change_visibility_batch(due, self.visibility_timeout)
            except BrokerClientError as exc:
                self._call_hook("on_error", exc)
                continue
            for handle in result.successful:
                entry = self._inflight.get(handle)
                if entry is not None:
                    entry.extended_at = now
            self._call_hook("on_heartbeat", len(result.successful))

    async def _drain(self, queue: AsyncQueue) -> None:
        """Let running handlers finish (bounded), then give back what is still held."""
        assert self._abandon is not None
        if self._running:
            await _first(
                asyncio.wait(set(self._running), timeout=self.shutdown_timeout),
                self._abandon.wait(),
            )
        left = [handle for handle, entry in self._inflight.items() if not entry.done]
        for handle in left:
            self._inflight.pop(handle, None)
        for task in list(self._running):
            task.cancel()  # async handlers stop; sync ones finish in their thread, unheeded
        await self._release(queue, left)

    async def _release(self, queue: AsyncQueue, handles: list[str]) -> None:
        if not handles:
            return
        try:
            result = await queue.change_visibility_batch(handles, 0)
        except BrokerClientError as exc:
            self._call_hook("on_error", exc)
            return
        self._call_hook("on_released", len(result.successful))

    def _call_hook(self, name: str, *args: Any) -> None:
        try:
            getattr(self.hooks, name)(*args)
        except Exception:
            log.exception("worker hook %s failed", name)


def _is_async(handler: Handler) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004
    )


async def _first(*awaitables: Awaitable[Any]) -> None:
    """Wait until the first of ``awaitables`` completes; cancel the others."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
