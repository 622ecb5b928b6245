"""Chaos: producers and consumers against several ``broker serve`` processes on one database,
while broker processes are killed with SIGKILL, paused with SIGSTOP past visibility timeouts, and
their listener connections are terminated; then a drain and the checker's rules
(``bench/chaos_checker.py``). Used by ``python -m bench chaos`` and by ``tests/chaos/``.

Clients treat connection errors, timeouts, 5xx and throttling as retriable: a send is retried with
the same body id (and, on a FIFO queue, the same deduplication id) until it is acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.chaos_checker import Checker
from bench.private_postgres import PrivatePostgres
from bench.sqs_client import SqsClient, SqsError

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_SECONDS = 30.0
VISIBILITY_TIMEOUT = 2
LISTENER_APPLICATION_NAME = "broker-listener"
READINESS_TIMEOUT_SECONDS = 20.0
"""How long /readyz may take to follow the database going away or coming back."""
CI_RUN_LIMIT_SECONDS = 150.0
"""A short run that has not ended by then hangs: the CI tests fail instead of waiting."""

BROKER_ENV = {
    "BROKER_LOG_LEVEL": "info",
    "BROKER_ACCESS_LOG": "false",
    "BROKER_POOL_MIN_SIZE": "1",
    "BROKER_POOL_MAX_SIZE": "8",
}

RETRIABLE_ERRORS = (
    OSError,
    EOFError,
    TimeoutError,
    asyncio.IncompleteReadError,
    IndexError,  # an empty status line: the connection closed under the request
    ValueError,  # a truncated or garbled answer from a dying process
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """One ``python -m broker serve`` subprocess whose output goes to a log file."""

    def __init__(self, database_url: str, log_dir: Path, env: dict[str, str]) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"broker-{self.port}-{uuid.uuid4().hex[:6]}.log"
        self.paused = False
        full_env = {**os.environ, **BROKER_ENV, **env}
        full_env.pop("BROKER_DATABASE_URL", None)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "broker",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--database-url",
                    database_url,
                    "--no-migrate",
                ],
                cwd=ROOT,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.alive:
                    raise RuntimeError(f"broker exited during start-up:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    bound = f"Uvicorn running on {self.url}" in self.log_path.read_text(
                        errors="replace"
                    )
                    if bound and client.get(self.url + "/readyz").status_code == 200:
                        return
                time.sleep(0.05)  # readiness polling interval
        self.kill()
        raise RuntimeError(f"broker not ready after {timeout} s:\n{self.log_tail()}")

    def ready(self) -> bool:
        return self.readiness() == 200

    def readiness(self, timeout: float = 5.0) -> int | None:
        """The status of ``/readyz`` (200 or 503), or None when it did not answer in time."""
        try:
            return httpx.get(self.url + "/readyz", timeout=timeout).status_code
        except httpx.HTTPError:
            return None

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def stop(self, timeout: float = 40.0) -> int | None:
        if self.paused:
            self.resume()
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None


class Cluster:
    """Broker processes sharing one database, and the faults applied to them. ``server`` is the
    private PostgreSQL the database lives on, when the database outage fault may run."""

    def __init__(
        self,
        database_url: str,
        log_dir: Path,
        env: dict[str, str] | None = None,
        server: PrivatePostgres | None = None,
    ):
        self.database_url = database_url
        self.log_dir = log_dir
        self.env = dict(env or {})
        self.server = server
        self.brokers: list[Broker] = []
        self.retired: list[Broker] = []
        self.faults: list[dict[str, Any]] = []

    def start(self, count: int = 1) -> list[Broker]:
        new = [Broker(self.database_url, self.log_dir, self.env) for _ in range(count)]
        self.brokers.extend(new)
        for broker in new:
            broker.wait_ready()
        return new

    @property
    def ports(self) -> list[int]:
        """Ports of the processes that are running and not paused."""
        return [b.port for b in self.brokers if b.alive and not b.paused]

    def kill9_and_replace(self, broker: Broker) -> Broker:
        self._record("kill -9", broker)
        broker.kill()
        self.brokers.remove(broker)
        self.retired.append(broker)
        (replacement,) = self.start(1)
        return replacement

    def pause(self, broker: Broker) -> None:
        self._record("SIGSTOP", broker)
        broker.pause()

    def resume(self, broker: Broker) -> None:
        self._record("SIGCONT", broker)
        broker.resume()

    def listener_pids(self) -> set[int]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s "
                "AND datname = current_database()",
                (LISTENER_APPLICATION_NAME,),
            ).fetchall()
        return {int(row[0]) for row in rows}

    def kill_listeners(self) -> set[int]:
        """pg_terminate_backend every listener connection of this database's brokers."""
        pids = self.listener_pids()
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            for pid in pids:
                conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        self.faults.append({"fault": "listener killed", "backends": len(pids), "at": _now()})
        return pids

    def wait_listeners_back(self, old: set[int], timeout: float = 15.0) -> set[int]:
        """Poll until each live process has a new listener connection (none of ``old``)."""
        wanted = len([b for b in self.brokers if b.alive and not b.paused])
        deadline = time.monotonic() + timeout
        while True:
            current = self.listener_pids()
            fresh = current - old
            if len(fresh) >= wanted and not (current & old):
                return fresh
            if time.monotonic() > deadline:
                raise AssertionError(f"listeners not back after {timeout} s: {current} vs {old}")
            time.sleep(0.05)  # polling an observable condition

    def wait_readiness(self, status: int, timeout: float) -> float:
        """Poll until every live process answers ``/readyz`` with ``status``; seconds taken."""
        started = time.monotonic()
        pending = [b for b in self.brokers if b.alive and not b.paused]
        while pending:
            pending = [b for b in pending if b.readiness() != status]
            if pending and time.monotonic() - started > timeout:
                raise AssertionError(
                    f"/readyz of {[b.url for b in pending]} not {status} after {timeout} s"
                )
            if pending:
                time.sleep(0.05)  # polling an observable condition
        return time.monotonic() - started

    def stop_database(self, mode: str = "fast") -> None:
        assert self.server is not None, "the outage fault needs a private server"
        self.faults.append({"fault": "database stopped", "mode": mode, "at": _now()})
        self.server.stop(mode)

    def start_database(self) -> None:
        assert self.server is not None
        self.server.start()
        self.faults.append({"fault": "database started", "at": _now()})

    def stop(self) -> list[str]:
        """SIGTERM every live process; the problems seen (tracebacks other than expected)."""
        problems = []
        for broker in self.brokers:
            code = broker.stop()
            if code is None:
                problems.append(f"broker {broker.url} did not exit after SIGTERM")
        return problems

    def _record(self, fault: str, broker: Broker) -> None:
        self.faults.append({"fault": fault, "port": broker.port, "at": _now()})


def _now() -> float:
    return time.monotonic()


class RetryingClient:
    """An SqsClient that moves to another live broker on a retriable failure."""

    def __init__(self, cluster: Cluster, index: int) -> None:
        self._cluster = cluster
        self._index = index
        self._client: SqsClient | None = None
        self.retries = 0
        self.failures: Counter[str] = Counter()
        """Retriable failures by kind: the error code of a 5xx or throttling answer, else the
        transport exception's name (a refused connection, a timeout, a cut answer)."""

    def _drop(self) -> None:
        if self._client is not None and self._client._writer is not None:
            self._client._writer.close()
        self._client = None
        self._index += 1

    async def _connected(self) -> SqsClient:
        if self._client is None:
            ports = self._cluster.ports
            if not ports:
                raise ConnectionError("no live broker")
            client = SqsClient("127.0.0.1", ports[self._index % len(ports)])
            await asyncio.wait_for(client.connect(), 2.0)
            self._client = client
        return self._client

    async def once(self, action: str, params: dict[str, Any], limit: float) -> dict[str, Any]:
        """One attempt; raises ``Retriable`` for failures worth retrying, SqsError otherwise."""
        try:
            client = await self._connected()
            return await asyncio.wait_for(client.call(action, params), limit)
        except SqsError as exc:
            code = error_code(exc)
            if exc.status >= 500 or "throttl" in code.lower():
                self.failures[code] += 1
                self._drop()
                raise Retriable(str(exc)) from exc
            raise
        except RETRIABLE_ERRORS as exc:
            self.failures[type(exc).__name__] += 1
            self._drop()
            raise Retriable(repr(exc)) from exc

    async def call(
        self, action: str, params: dict[str, Any], limit: float, deadline: float
    ) -> dict[str, Any]:
        """Retry until an answer or ``deadline`` (monotonic); raises Retriable past it."""
        backoff = 0.05
        while True:
            try:
                return await self.once(action, params, limit)
            except Retriable:
                self.retries += 1
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(backoff)  # retry backoff, not synchronisation
            backoff = min(backoff * 2, 0.5)

    def close(self) -> None:
        self._drop()


class Retriable(Exception):
    pass


def error_code(exc: SqsError) -> str:
    """The AWS error code of an answer, without the shape's namespace."""
    return str(exc.body.get("__type", "")).rpartition("#")[2] or f"HTTP {exc.status}"


@dataclass
class QueueSpec:
    name: str
    fifo: bool
    url: str = ""


@dataclass
class Workload:
    producers: int = 2
    consumers: int = 3
    fifo_groups: int = 3
    visibility_timeout: int = VISIBILITY_TIMEOUT
    drain_timeout: float = 30.0
    stats: dict[str, int] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    """Retriable failures the clients saw, by kind (summed over clients)."""
    wrong_answers: list[str] = field(default_factory=list)
    """Answers that were neither a success nor retriable: must stay empty."""


async def create_queues(cluster: Cluster, visibility_timeout: int) -> list[QueueSpec]:
    suffix = uuid.uuid4().hex[:8]
    specs = [QueueSpec(f"chaos-{suffix}", False), QueueSpec(f"chaos-{suffix}.fifo", True)]
    client = RetryingClient(cluster, 0)
    for spec in specs:
        attributes = {"VisibilityTimeout": str(visibility_timeout)}
        if spec.fifo:
            attributes["FifoQueue"] = "true"
        reply = await client.call(
            "CreateQueue",
            {"QueueName": spec.name, "Attributes": attributes},
            5.0,
            time.monotonic() + 30,
        )
        spec.url = reply["QueueUrl"]
    client.close()
    return specs


async def run(
    cluster: Cluster,
    checker: Checker,
    duration: float,
    faults: Callable[[Cluster], Coroutine[Any, Any, None]],
    workload: Workload | None = None,
) -> dict[str, int]:
    """Producers and consumers on a standard and a FIFO queue for ``duration`` seconds while
    ``faults(cluster)`` runs; then the faults end, the queues are drained and the counts of what
    the clients did are returned. The caller runs ``checker.check()``."""
    w = workload or Workload()
    specs = await create_queues(cluster, w.visibility_timeout)
    producing = asyncio.Event()
    producing.set()
    consuming = asyncio.Event()
    consuming.set()
    stats = {"sends_acked": 0, "send_retries": 0, "receives": 0, "deletes_acked": 0}
    stats.update({"deletes_refused": 0, "client_retries": 0})
    clients: list[RetryingClient] = []

    def new_client() -> RetryingClient:
        client = RetryingClient(cluster, len(clients))
        clients.append(client)
        return client

    async def produce(spec: QueueSpec, name: str, group: str | None) -> None:
        client = new_client()
        seq = 0
        while producing.is_set():
            body_id = f"{spec.name}/{name}/{seq}"
            params: dict[str, Any] = {
                "QueueUrl": spec.url,
                "MessageBody": json.dumps({"id": body_id, "g": group, "s": seq}),
            }
            if group is not None:
                params["MessageGroupId"] = group
                params["MessageDeduplicationId"] = body_id.replace("/", "-")[-128:]
            while True:  # the same body id until acknowledged
                try:
                    reply = await client.once("SendMessage", params, 3.0)
                    break
                except SqsError as exc:
                    w.wrong_answers.append(f"SendMessage {body_id}: {exc}")
                    stats["send_retries"] += 1
                    if not producing.is_set():
                        return
                    await asyncio.sleep(0.05)  # retry backoff
                except Retriable:
                    stats["send_retries"] += 1
                    if not producing.is_set():
                        return  # never acknowledged: not the checker's business
                    await asyncio.sleep(0.05)  # retry backoff
            checker.sent(body_id, reply["MessageId"], time.monotonic(), group, seq)
            stats["sends_acked"] += 1
            seq += 1

    async def consume(spec: QueueSpec) -> None:
        client = new_client()
        while consuming.is_set():
            started = time.monotonic()
            try:
                reply = await client.once(
                    "ReceiveMessage",
                    {
                        "QueueUrl": spec.url,
                        "MaxNumberOfMessages": 10,
                        "WaitTimeSeconds": 1,
                        "VisibilityTimeout": w.visibility_timeout,
                    },
                    4.0,
                )
            except SqsError as exc:
                w.wrong_answers.append(f"ReceiveMessage: {exc}")
                await asyncio.sleep(0.05)  # retry backoff
                continue
            except Retriable:
                await asyncio.sleep(0.05)  # retry backoff
                continue
            at = time.monotonic()
            messages = reply.get("Messages", [])
            if not messages:
                continue
            entries = []
            for i, message in enumerate(messages):
                body = json.loads(message["Body"])
                checker.received(
                    body["id"],
                    message["MessageId"],
                    started,
                    at,
                    w.visibility_timeout,
                    message["ReceiptHandle"],
                    body["g"],
                    body["s"],
                )
                entries.append({"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]})
            stats["receives"] += len(messages)
            await delete(client, spec, messages, entries)

    async def delete(
        client: RetryingClient, spec: QueueSpec, messages: list[Any], entries: list[Any]
    ) -> None:
        started = time.monotonic()
        try:
            reply = await client.call(
                "DeleteMessageBatch",
                {"QueueUrl": spec.url, "Entries": entries},
                3.0,
                started + 10.0,
            )
        except SqsError as exc:
            w.wrong_answers.append(f"DeleteMessageBatch: {exc}")
            return
        except Retriable:
            return  # the messages come back after their windows
        at = time.monotonic()
        for ok in reply.get("Successful", []):
            message = messages[int(ok["Id"])]
            checker.deleted(message["MessageId"], message["ReceiptHandle"], started, at)
            stats["deletes_acked"] += 1
        stats["deletes_refused"] += len(reply.get("Failed", []))

    standard, fifo = specs
    producers = [
        asyncio.create_task(produce(standard, f"p{i}", None)) for i in range(w.producers)
    ] + [asyncio.create_task(produce(fifo, f"g{i}", f"g{i}")) for i in range(w.fifo_groups)]
    consumers = [asyncio.create_task(consume(s)) for s in specs for _ in range(w.consumers)]
    fault_task = asyncio.create_task(faults(cluster))
    try:
        # Load for ``duration`` seconds, and at least until the fault schedule has ended (it
        # always ends with every process running and none paused).
        await asyncio.gather(fault_task, asyncio.sleep(duration))
        producing.clear()
        await asyncio.gather(*producers)
        stats["drained"] = int(await _drain(cluster, checker, specs, w.drain_timeout))
        consuming.clear()
        await asyncio.gather(*consumers)
    finally:  # a failed fault must not leave clients running forever
        await cancel([fault_task, *producers, *consumers])
    stats["client_retries"] = sum(c.retries for c in clients)
    stats["wrong_answers"] = len(w.wrong_answers)
    for client in clients:
        w.failures.update(client.failures)
        client.close()
    w.stats = stats
    return stats


async def cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _drain(cluster: Cluster, checker: Checker, specs: list[QueueSpec], limit: float) -> bool:
    """Poll until every acknowledged body was delivered and both queues are empty; whether
    that happened within ``limit`` seconds."""
    client = RetryingClient(cluster, 0)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if checker.acknowledged_bodies() <= checker.delivered_bodies():
            counts = 0
            for spec in specs:
                reply = await client.call(
                    "GetQueueAttributes",
                    {"QueueUrl": spec.url, "AttributeNames": ["All"]},
                    3.0,
                    deadline,
                )
                attributes = reply.get("Attributes", {})
                counts += sum(
                    int(attributes.get(name, "0"))
                    for name in (
                        "ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible",
                        "ApproximateNumberOfMessagesDelayed",
                    )
                )
            if counts == 0:
                client.close()
                return True
        await asyncio.sleep(0.2)  # polling an observable condition
    client.close()
    return False


# --- fault schedules ----------------------------------------------------------------------------


async def fault_cycle(cluster: Cluster, visibility_timeout: int = VISIBILITY_TIMEOUT) -> None:
    """One round of every fault, each on a running process; ends with all of them running."""
    victim = cluster.brokers[0]
    await asyncio.to_thread(cluster.kill9_and_replace, victim)
    old = await asyncio.to_thread(cluster.kill_listeners)
    await asyncio.to_thread(cluster.wait_listeners_back, old)
    paused = cluster.brokers[0]
    cluster.pause(paused)
    # Deliberately past the visibility timeout: that is the fault under test.
    await asyncio.sleep(visibility_timeout + 1.0)
    cluster.resume(paused)


async def database_outage(cluster: Cluster, down_seconds: float, mode: str = "fast") -> None:
    """PostgreSQL stopped for ``down_seconds`` under load (``pg_ctl stop -m mode``: ``fast``, or
    ``immediate``, a crash that recovers from the WAL on start) and started again. Every process
    must report not ready while it is down and ready again after, by itself."""
    await asyncio.to_thread(cluster.stop_database, mode)
    not_ready = await asyncio.to_thread(cluster.wait_readiness, 503, READINESS_TIMEOUT_SECONDS)
    # Deliberately long: the outage itself is the fault under test.
    await asyncio.sleep(max(0.0, down_seconds - not_ready))
    await asyncio.to_thread(cluster.start_database)
    ready = await asyncio.to_thread(cluster.wait_readiness, 200, READINESS_TIMEOUT_SECONDS)
    cluster.faults[-1].update(not_ready_after=not_ready, ready_after=ready)


def schedule(
    cycles: int, gap: float, outages: int = 0, outage_seconds: float = 5.0
) -> Callable[[Cluster], Coroutine[Any, Any, None]]:
    """``cycles`` fault cycles, ``gap`` seconds of undisturbed load before each; ``outages``
    database outages of ``outage_seconds`` spread among them (after cycles, evenly)."""
    after = {round((i + 1) * cycles / (outages + 1)) for i in range(outages)} if cycles else set()

    # Outages alternate between a clean stop and a crash (-m immediate).
    modes = ["fast" if i % 2 == 0 else "immediate" for i in range(outages)]

    async def faults(cluster: Cluster) -> None:
        done = 0
        for cycle in range(1, cycles + 1):
            await asyncio.sleep(gap)  # load between faults
            await fault_cycle(cluster)
            if cycle in after:
                await asyncio.sleep(gap)
                await database_outage(cluster, outage_seconds, modes[done])
                done += 1
        for mode in modes[done:]:  # fewer cycles than outages
            await asyncio.sleep(gap)
            await database_outage(cluster, outage_seconds, mode)

    return faults
