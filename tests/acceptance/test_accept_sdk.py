"""broker.sdk against a real ``broker serve``: clients, the worker runtime, heartbeats, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from accept_support import ACCESS_KEY, ROOT, SECRET_KEY, md5_of_body, wait_until

from broker.sdk import (
    AsyncClient,
    Client,
    MessageData,
    RetryPolicy,
    SendRequest,
    Worker,
    WorkerHooks,
    errors,
    tracing,
)


@pytest.fixture(scope="module")
def client(broker_url: str) -> Iterator[Client]:
    with Client(broker_url, ACCESS_KEY, SECRET_KEY, retry=RetryPolicy(max_attempts=1)) as c:
        yield c


def test_sync_client_round_trip(client: Client, queue_name: str, sqs: Any) -> None:
    queue = client.create_queue(queue_name, attributes={"VisibilityTimeout": "30"})
    sent = queue.send("hello", attributes={"kind": "greeting", "n": 3})
    assert sent.md5_of_body == md5_of_body("hello")
    # The message boto3 sees is the one the SDK sent (same service, same store).
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], VisibilityTimeout=0)
    [boto_message] = got["Messages"]
    assert boto_message["MessageId"] == sent.message_id
    assert boto_message["MD5OfMessageAttributes"] == sent.md5_of_message_attributes
    assert boto_message["MessageAttributes"]["n"] == {"DataType": "Number", "StringValue": "3"}

    [message] = queue.receive(max_messages=10, wait_seconds=1)
    assert (message.body, message.attributes["kind"].value) == ("hello", "greeting")
    message.change_visibility(0)
    [again] = queue.receive(wait_seconds=1)
    assert again.receive_count == 3
    again.delete()
    assert queue.receive(wait_seconds=0) == []

    result = queue.send_batch(["a", SendRequest("b", attributes={"x": "y"}, id="bee")])
    assert result.ok and [s.id for s in result.successful] == ["0", "bee"]
    names = [q.name for q in client.list_queues(prefix=queue_name)]
    assert names == [queue_name]
    queue.purge()
    queue.delete()
    with pytest.raises(errors.QueueDoesNotExist):
        queue.info()


def test_fifo_queue_through_the_sdk(client: Client, queue_name: str) -> None:
    queue = client.create_queue(
        queue_name + ".fifo", attributes={"ContentBasedDeduplication": "true"}
    )
    first = queue.send("one", group_id="g")
    duplicate = queue.send("one", group_id="g")
    assert first.message_id == duplicate.message_id and first.sequence_number
    with pytest.raises(errors.MissingParameter):
        queue.send("no group")


def test_unreachable_endpoint_is_a_transport_error() -> None:
    with (
        Client(
            "http://127.0.0.1:9",
            "k",
            "s",
            timeout=2,
            retry=RetryPolicy(max_attempts=2, base_delay=0),
        ) as dead,
        pytest.raises(errors.TransportError),
    ):
        dead.queue("q").send("x")


async def test_async_client(broker_url: str, queue_name: str) -> None:
    async with AsyncClient(broker_url, ACCESS_KEY, SECRET_KEY) as client:
        queue = await client.create_queue(queue_name)
        waiting = asyncio.create_task(queue.receive(wait_seconds=20))
        await queue.send("wake up")
        [message] = await asyncio.wait_for(waiting, 10)
        assert message.body == "wake up"
        await message.delete()
        await queue.delete()


class Recorder(WorkerHooks):
    def __init__(self) -> None:
        self.heartbeats = 0
        self.failures: list[int] = []
        self.lock = threading.Lock()

    def on_heartbeat(self, count: int) -> None:
        self.heartbeats += count

    def on_failure(
        self, message: MessageData, error: BaseException, seconds: float, retry_in: int
    ) -> None:
        self.failures.append(message.receive_count)


@pytest.fixture
def run_worker() -> Iterator[Any]:
    """Run workers in threads; stop them (and wait) at the end of the test."""
    running: list[tuple[Worker, threading.Thread]] = []

    def start(worker: Worker) -> Worker:
        thread = threading.Thread(target=worker.run, kwargs={"install_signal_handlers": False})
        thread.start()
        running.append((worker, thread))
        return worker

    yield start
    for worker, thread in running:
        worker.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()


def test_worker_processes_retries_and_propagates_traces(
    client: Client, queue_name: str, run_worker: Any
) -> None:
    queue = client.create_queue(queue_name)
    replies = client.create_queue(queue_name + "-replies")
    seen: list[str] = []
    attempts: dict[str, int] = {}
    lock = threading.Lock()

    def handle(message: MessageData) -> None:
        with lock:
            attempts[message.body] = attempts.get(message.body, 0) + 1
            if message.body == "flaky" and attempts["flaky"] == 1:
                raise RuntimeError("first attempt fails")
            seen.append(message.body)
        if message.body == "traced":
            client.queue(replies.name).send("reply")  # carries the handler's trace context

    hooks = Recorder()
    parent = tracing.new_traceparent()
    queue.send("traced", attributes={"traceparent": parent})
    queue.send_batch([f"m{i}" for i in range(20)] + ["flaky"])
    run_worker(
        Worker(
            client,
            queue_name,
            handle,
            concurrency=4,
            wait_seconds=1,
            hooks=hooks,
            backoff=lambda count: 0,
        )
    )
    wait_until(lambda: len(seen) == 22, timeout=30, what="22 messages handled")
    assert sorted(seen) == sorted(["traced", "flaky", *(f"m{i}" for i in range(20))])
    assert hooks.failures == [1]
    [reply] = replies.receive(wait_seconds=5)
    assert tracing.trace_id(reply.traceparent or "") == tracing.trace_id(parent)
    assert reply.traceparent != parent  # a child span, same trace
    wait_until(
        lambda: queue.info().attributes["ApproximateNumberOfMessagesNotVisible"] == "0",
        timeout=10,
        what="all deleted",
    )
    assert queue.info().attributes["ApproximateNumberOfMessages"] == "0"


def test_heartbeat_keeps_a_slow_message_invisible(
    client: Client, queue_name: str, run_worker: Any
) -> None:
    """A handler slower than the visibility timeout keeps its message: nobody else receives it
    while the heartbeat extends the lease, and it is deleted once, after the handler returns."""
    queue = client.create_queue(queue_name, attributes={"VisibilityTimeout": "2"})
    started = threading.Event()
    release = threading.Event()
    calls: list[str] = []

    def slow(message: MessageData) -> None:
        calls.append(message.message_id)
        started.set()
        assert release.wait(30)

    hooks = Recorder()
    worker = run_worker(
        Worker(
            client,
            queue_name,
            slow,
            visibility_timeout=2,
            heartbeat_interval=0.5,
            wait_seconds=1,
            hooks=hooks,
        )
    )
    sent = queue.send("slow")
    assert started.wait(10)
    # Two visibility timeouts of a competing long poll (a server-side wait) see nothing.
    assert queue.receive(wait_seconds=4, max_messages=10) == []
    assert hooks.heartbeats >= 3
    release.set()
    wait_until(lambda: worker.processed == 1, timeout=10, what="deleted after the handler")
    assert calls == [sent.message_id]
    assert queue.receive(wait_seconds=0) == []


WORKER_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, time
    from broker.sdk import Client, Worker

    endpoint, queue, log_path, mode = sys.argv[1:5]
    log = open(log_path, "a", buffering=1)

    def handle(message):
        log.write(f"start {message.body}\\n")
        time.sleep(0.2)  # the work
        log.write(f"done {message.body}\\n")

    async def stuck(message):
        log.write(f"start {message.body}\\n")
        await asyncio.sleep(120)  # never finishes before the shutdown timeout
        log.write(f"done {message.body}\\n")

    client = Client(endpoint, "AKIDEXAMPLE", "secret")
    worker = Worker(
        client, queue, handle if mode == "finish" else stuck, concurrency=4,
        visibility_timeout=60, wait_seconds=1,
        shutdown_timeout=20 if mode == "finish" else 0.5,
    )
    log.write("ready\\n")
    worker.run()
    log.write(f"exited processed={worker.processed}\\n")
    """
)


@pytest.mark.parametrize("mode", ["finish", "release"])
def test_sigterm_loses_nothing(
    client: Client, queue_name: str, broker_url: str, tmp_path: Path, mode: str
) -> None:
    """SIGTERM with messages in flight: each message is processed once or is back in the queue,
    receivable at once (not after its visibility timeout)."""
    queue = client.create_queue(queue_name)
    bodies = {f"m{i}" for i in range(40)}
    assert queue.send_batch(sorted(bodies)).ok
    log_path = tmp_path / "worker.log"
    log_path.touch()
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER_SCRIPT, broker_url, queue_name, str(log_path), mode],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:

        def lines() -> list[str]:
            return log_path.read_text().splitlines()

        def in_flight() -> bool:
            text = lines()
            starts = sum(1 for line in text if line.startswith("start"))
            dones = sum(1 for line in text if line.startswith("done"))
            return starts > dones and (mode == "release" or dones >= 4)

        wait_until(in_flight, timeout=30, interval=0.01, what="messages in flight")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    text = lines()
    assert text[-1].startswith("exited")
    done = [line.split()[1] for line in text if line.startswith("done")]
    assert len(done) == len(set(done)), "a message was processed twice"
    if mode == "release":
        assert done == []
    # Everything not processed is receivable now (visibility timeout 60 s: released, not lost).
    remaining: list[str] = []
    while batch := queue.receive(max_messages=10, wait_seconds=0, visibility_timeout=300):
        remaining.extend(m.body for m in batch)
    assert len(remaining) == len(set(remaining))
    assert set(done) | set(remaining) == bodies
    assert not set(done) & set(remaining)
    assert int(text[-1].split("=")[1]) == len(done)


def test_sdk_imports_nothing_heavy() -> None:
    code = (
        "import sys, broker.sdk, broker.sdk.outbox; "
        "bad = [m for m in ('psycopg', 'starlette', 'broker.core', 'broker.protocols', 'orjson') "
        "if m in sys.modules]; print(json.dumps(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == []
