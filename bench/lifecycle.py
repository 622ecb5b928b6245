"""Lifecycle: producers send, consumers receive and delete, through the SQS HTTP API."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

from bench.harness import percentile
from bench.sqs_client import SqsClient


@dataclass
class LifecycleResult:
    rate: float
    latency_p50_ms: float
    latency_p99_ms: float
    lost: int
    duplicates: int


async def run(
    port: int | list[int], total: int, batch: int, producers: int, consumers: int,
    queue_name: str | None = None,
) -> LifecycleResult:
    ports = port if isinstance(port, list) else [port]
    admin = SqsClient("127.0.0.1", ports[0])
    name = queue_name or f"bench-{uuid.uuid4().hex[:8]}"
    url = (await admin.call("CreateQueue", {"QueueName": name}))["QueueUrl"]
    await admin.close()
    sent: set[str] = set()
    received: list[str] = []
    latencies: list[float] = []
    per_producer = total // producers
    expected = per_producer * producers
    padding = "x" * 200

    async def produce(index: int) -> None:
        client = SqsClient("127.0.0.1", ports[index % len(ports)])
        for start in range(0, per_producer, batch):
            ids = [f"{index}-{start + i}" for i in range(batch)]
            now = time.time()
            bodies = [f"{i}|{now:.6f}|{padding}" for i in ids]
            if batch == 1:
                await client.call("SendMessage", {"QueueUrl": url, "MessageBody": bodies[0]})
            else:
                entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)]
                await client.call("SendMessageBatch", {"QueueUrl": url, "Entries": entries})
            sent.update(ids)
        await client.close()

    async def consume(index: int) -> None:
        client = SqsClient("127.0.0.1", ports[index % len(ports)])
        while len(received) < expected:
            reply = await client.call(
                "ReceiveMessage",
                {"QueueUrl": url, "MaxNumberOfMessages": batch, "WaitTimeSeconds": 1},
            )
            messages = reply.get("Messages", [])
            now = time.time()
            for message in messages:
                ident, stamp, _ = message["Body"].split("|", 2)
                received.append(ident)
                latencies.append((now - float(stamp)) * 1000)
            if batch == 1:
                for message in messages:
                    await client.call("DeleteMessage", {"QueueUrl": url,
                                                        "ReceiptHandle": message["ReceiptHandle"]})
            elif messages:
                entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                           for i, m in enumerate(messages)]
                await client.call("DeleteMessageBatch", {"QueueUrl": url, "Entries": entries})
        await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(produce(i) for i in range(producers)),
                         *(consume(i) for i in range(consumers)))
    elapsed = time.perf_counter() - started
    return LifecycleResult(
        rate=len(received) / elapsed,
        latency_p50_ms=percentile(latencies, 50),
        latency_p99_ms=percentile(latencies, 99),
        lost=len(sent - set(received)),
        duplicates=len(received) - len(set(received)),
    )
