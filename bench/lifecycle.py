"""Lifecycle: producers send, consumers receive and delete, through the SQS HTTP API.

Either a fixed number of messages (then nothing may be lost or duplicated) or a fixed duration
(for scenarios whose cost grows with time, such as a held transaction): then producers and
consumers both stop at the deadline and the rate counts what was consumed by then, so a backlog
left by producers that outrun consumers does not stretch the run. Bodies are 256 bytes and
carry their id and send time, so the consumer measures end-to-end latency.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

from bench.harness import percentile
from bench.sqs_client import SqsClient

BODY_BYTES = 256
SLICE_SECONDS = 5.0
"""The width of one slice of ``LifecycleResult.timeline``."""


@dataclass
class LifecycleResult:
    completed: int
    seconds: float
    latency_p50_ms: float
    latency_p99_ms: float
    lost: int
    duplicates: int
    requests: int
    timeline: list[float]
    """Messages received per second in each ``SLICE_SECONDS`` slice of the run: a cost that
    grows with time (dead tuples under a held snapshot) shows as a falling rate."""

    @property
    def rate(self) -> float:
        return self.completed / self.seconds


async def create_queue(port: int, name: str | None = None) -> str:
    client = SqsClient("127.0.0.1", port)
    reply = await client.call("CreateQueue", {"QueueName": name or f"bench-{uuid.uuid4().hex[:8]}"})
    await client.close()
    return str(reply["QueueUrl"])


async def run(
    ports: list[int],
    batch: int,
    producers: int,
    consumers: int,
    *,
    total: int | None = None,
    duration: float | None = None,
    queue_url: str | None = None,
    backlog: int = 0,
) -> LifecycleResult:
    """``total`` messages, or as many as fit in ``duration`` seconds. With ``backlog``, the queue
    already holds that many messages: consumers take those first, so loss is not checked."""
    url = queue_url or await create_queue(ports[0])
    started = time.perf_counter()
    deadline = started + duration if duration else None
    sent: set[str] = set()
    received: list[str] = []
    latencies: list[float] = []
    producing = producers
    requests = 0
    per_slice: dict[int, int] = {}
    per_producer = (total or 0) // producers

    async def produce(index: int) -> None:
        nonlocal producing, requests
        client = SqsClient("127.0.0.1", ports[index % len(ports)])
        count = 0
        while (deadline is None and count < per_producer) or (
            deadline is not None and time.perf_counter() < deadline
        ):
            ids = [f"{index}-{count + i}" for i in range(batch)]
            now = time.time()
            bodies = [f"{i}|{now:.6f}|".ljust(BODY_BYTES, "x") for i in ids]
            if batch == 1:
                await client.call("SendMessage", {"QueueUrl": url, "MessageBody": bodies[0]})
            else:
                entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)]
                await client.call("SendMessageBatch", {"QueueUrl": url, "Entries": entries})
            requests += 1
            sent.update(ids)
            count += batch
        producing -= 1
        await client.close()

    def finished() -> bool:
        if deadline is not None:
            return time.perf_counter() >= deadline
        if producing:
            return False
        return len(received) >= len(sent) + backlog

    async def consume(index: int) -> None:
        nonlocal requests
        client = SqsClient("127.0.0.1", ports[index % len(ports)])
        while not finished():
            reply = await client.call(
                "ReceiveMessage",
                {"QueueUrl": url, "MaxNumberOfMessages": batch, "WaitTimeSeconds": 1},
            )
            requests += 1
            messages = reply.get("Messages", [])
            at = int((time.perf_counter() - started) / SLICE_SECONDS)
            per_slice[at] = per_slice.get(at, 0) + len(messages)
            now = time.time()
            for message in messages:
                ident, stamp, _ = message["Body"].split("|", 2)
                received.append(ident)
                if stamp:
                    latencies.append((now - float(stamp)) * 1000)
            if batch == 1:
                for message in messages:
                    await client.call(
                        "DeleteMessage",
                        {"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]},
                    )
                    requests += 1
            elif messages:
                entries = [
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ]
                await client.call("DeleteMessageBatch", {"QueueUrl": url, "Entries": entries})
                requests += 1
        await client.close()

    await asyncio.gather(
        *(produce(i) for i in range(producers)), *(consume(i) for i in range(consumers))
    )
    elapsed = time.perf_counter() - started
    mine = [r for r in received if r in sent] if backlog else received
    checked = not backlog and deadline is None  # else messages are legitimately left over
    return LifecycleResult(
        completed=len(received),
        seconds=duration if duration else elapsed,
        latency_p50_ms=percentile(latencies, 50),
        latency_p99_ms=percentile(latencies, 99),
        lost=len(sent - set(mine)) if checked else 0,
        duplicates=len(mine) - len(set(mine)),
        requests=requests,
        # whole slices only: the last one is cut short by the end of the run
        timeline=[per_slice.get(i, 0) / SLICE_SECONDS for i in range(int(elapsed / SLICE_SECONDS))],
    )
