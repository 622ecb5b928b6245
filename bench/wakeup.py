"""Long-poll wake-up latency: idle receivers wait; one send at a time; time from the send's
acknowledgement (its commit) to the message arriving at a receiver."""

from __future__ import annotations

import asyncio
import time

from bench.harness import percentile
from bench.lifecycle import create_queue
from bench.sqs_client import SqsClient


async def run(
    send_port: int, receive_ports: list[int], receivers: int, sends: int
) -> dict[str, float]:
    url = await create_queue(send_port)
    arrivals: asyncio.Queue[float] = asyncio.Queue()
    stop = False

    async def receive(index: int) -> None:
        client = SqsClient("127.0.0.1", receive_ports[index % len(receive_ports)])
        while not stop:
            reply = await client.call(
                "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 20}
            )
            for message in reply.get("Messages", []):
                arrivals.put_nowait(time.perf_counter())
                await client.call(
                    "DeleteMessage", {"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]}
                )
        await client.close()

    tasks = [asyncio.create_task(receive(i)) for i in range(receivers)]
    sender = SqsClient("127.0.0.1", send_port)
    await sender.call("GetQueueUrl", {"QueueName": url.rsplit("/", 1)[1]})
    await asyncio.sleep(1.0)  # let every receiver park in its long poll before measuring
    latencies: list[float] = []
    for _ in range(sends):
        await sender.call("SendMessage", {"QueueUrl": url, "MessageBody": "ping"})
        acknowledged = time.perf_counter()
        arrived = await asyncio.wait_for(arrivals.get(), 30)
        latencies.append((arrived - acknowledged) * 1000)
        await asyncio.sleep(0.02)  # the receiver deletes and parks again
    stop = True
    for _ in range(receivers):  # release the parked receivers
        await sender.call("SendMessage", {"QueueUrl": url, "MessageBody": "stop"})
    await asyncio.gather(*tasks, return_exceptions=True)
    await sender.close()
    return {
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
    }
