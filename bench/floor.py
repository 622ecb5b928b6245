"""What one request costs beneath the broker's own code, in CPU time per call.

The lifecycle is CPU-bound in the broker process, so its ceiling is set by what a request costs:
this scenario measures the parts the broker cannot shed (the HTTP server answering a fixed body,
the driver running one statement, with and without the pool) next to the broker's own requests
(one without a statement, one with a single-row INSERT, one with a claim on an empty queue), all
driven the same way: four clients, one request at a time each.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from bench import harness, lifecycle
from bench.sqs_client import SqsClient

CLIENTS = 4
BODY = "x" * 256


async def fixed_answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An ASGI application that reads the body and answers ``{}``: the HTTP server's share."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-type", b"application/x-amz-json-1.0"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})


def server_cpu_per_call(
    pid: int, port: int, calls: int, request: Callable[[SqsClient], Awaitable[object]]
) -> float:
    """Microseconds of CPU the process ``pid`` spends per request, ``CLIENTS`` clients each
    sending ``calls`` requests one after another (after a warm-up)."""

    async def drive(count: int) -> None:
        async def one() -> None:
            client = SqsClient("127.0.0.1", port)
            for _ in range(count):
                await request(client)
            await client.close()

        await asyncio.gather(*(one() for _ in range(CLIENTS)))

    asyncio.run(drive(max(1, calls // 10)))
    before = harness.process_cpu_seconds(pid)
    asyncio.run(drive(calls))
    return (harness.process_cpu_seconds(pid) - before) * 1e6 / (calls * CLIENTS)


def http_server(calls: int) -> float:
    """uvicorn with the event loop and HTTP parser ``broker serve`` uses (uvloop, httptools),
    answering a fixed body."""
    port = harness.free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.floor:fixed_answer", "--port", str(port)]
    process = subprocess.Popen([*command, "--log-level", "warning", "--no-access-log"])
    try:
        _wait_port(port)
        params = {"QueueUrl": "http://127.0.0.1/000000000000/q", "MessageBody": BODY}
        return server_cpu_per_call(
            process.pid, port, calls, lambda c: c.call("SendMessage", params)
        )
    finally:
        process.terminate()
        process.wait(10)


def driver(url: str, calls: int) -> dict[str, float]:
    """The driver alone, in this process: one single-row INSERT on a connection, and the same
    through the pool (checkout and return included)."""
    insert = "INSERT INTO bench_floor (body) VALUES (%s)"

    async def measure() -> dict[str, float]:
        async with await AsyncConnection.connect(url, autocommit=True) as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (body text)")

            async def bare() -> None:
                await conn.execute(insert, (BODY,))

            direct = await _cpu_per_await(bare, calls)
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url, min_size=1, max_size=1, open=False, kwargs={"autocommit": True}
        )
        await pool.open()

        async def pooled() -> None:
            async with pool.connection() as conn:
                await conn.execute(insert, (BODY,))

        through_pool = await _cpu_per_await(pooled, calls)
        await pool.close()
        return {"statement": direct, "statement through the pool": through_pool}

    return uvloop.run(measure())


def broker(url: str, calls: int) -> dict[str, float]:
    """The broker's own requests: none, one INSERT, one claim on an empty queue."""
    with harness.brokers(url) as started:
        port = started.ports[0]
        pid = started.processes[0].process.pid
        queue = asyncio.run(lifecycle.create_queue(port, "floor"))
        empty = asyncio.run(lifecycle.create_queue(port, "floor-empty"))
        requests: dict[str, Callable[[SqsClient], Awaitable[object]]] = {
            "GetQueueUrl (no statement)": lambda c: c.call("GetQueueUrl", {"QueueName": "floor"}),
            "SendMessage (one INSERT)": lambda c: c.call(
                "SendMessage", {"QueueUrl": queue, "MessageBody": BODY}
            ),
            "ReceiveMessage, empty queue (one claim)": lambda c: c.call(
                "ReceiveMessage", {"QueueUrl": empty}
            ),
        }
        return {
            name: server_cpu_per_call(pid, port, calls, request)
            for name, request in requests.items()
        }


async def _cpu_per_await(step: Callable[[], Awaitable[None]], calls: int) -> float:
    for _ in range(max(1, calls // 10)):
        await step()
    started = time.process_time()
    for _ in range(calls):
        await step()
    return (time.process_time() - started) * 1e6 / calls


def _wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")
