"""EventBridge: PutEvents to a bus with N rules, each rule targeting one of ten queues.

Rule ``i`` matches ``{"source": ["bench.shop"], "detail": {"customer": ["c<i>"]}}``, so every
event matches exactly one rule whatever N is: the figure shows what the number of rules costs
(one compiled index per bus: it should not grow with N). Producers send PutEvents of 10 entries
over AWS JSON 1.1; the run reports entries/s, and the delivery latency measured one event at a
time, from the PutEvents request to the message received on its queue (long poll). The raw-SQL
baseline inserts the same rows (one per event, batches of 10) straight into a plain table: the
least any durable router must write.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
from psycopg import AsyncConnection

from bench.harness import percentile
from bench.sqs_client import SqsClient, signed_headers

QUEUES = 10
BUS = "bench"


@dataclass(frozen=True)
class EventsResult:
    rules: int
    entries: int
    seconds: float
    delivered: int
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.entries / self.seconds


async def _events(client: httpx.AsyncClient, url: str, action: str, body: object) -> dict[str, Any]:
    content = json.dumps(body).encode()
    headers = signed_headers(
        httpx.URL(url).netloc.decode(),
        "events",
        "application/x-amz-json-1.1",
        content,
        f"AWSEvents.{action}",
    )
    response = await client.post(url, content=content, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{action}: {response.status_code} {response.text}")
    result: dict[str, Any] = response.json()
    return result


def _entry(customer: int, sent: float = 0.0) -> dict[str, str]:
    return {
        "Source": "bench.shop",
        "DetailType": "OrderPlaced",
        "EventBusName": BUS,
        "Detail": json.dumps({"customer": f"c{customer}", "total": 42, "sent": sent}),
    }


async def setup(port: int, rules: int, suffix: str) -> list[str]:
    """The bus, its rules and their queues; the queue URLs."""
    url = f"http://127.0.0.1:{port}/"
    sqs = SqsClient("127.0.0.1", port)
    queue_urls: list[str] = []
    async with httpx.AsyncClient(timeout=60) as client:
        await _events(client, url, "CreateEventBus", {"Name": BUS})
        arns = []
        for q in range(QUEUES):
            queue_url = (await sqs.call("CreateQueue", {"QueueName": f"ev-{suffix}-{q}"}))[
                "QueueUrl"
            ]
            queue_urls.append(queue_url)
            arns.append(
                (
                    await sqs.call(
                        "GetQueueAttributes",
                        {"QueueUrl": queue_url, "AttributeNames": ["QueueArn"]},
                    )
                )["Attributes"]["QueueArn"]
            )
        for i in range(rules):
            pattern = {"source": ["bench.shop"], "detail": {"customer": [f"c{i}"]}}
            name = f"rule-{i}"
            await _events(
                client,
                url,
                "PutRule",
                {"Name": name, "EventBusName": BUS, "EventPattern": json.dumps(pattern)},
            )
            await _events(
                client,
                url,
                "PutTargets",
                {
                    "Rule": name,
                    "EventBusName": BUS,
                    "Targets": [{"Id": "q", "Arn": arns[i % QUEUES]}],
                },
            )
    await sqs.close()
    return queue_urls


async def run(port: int, rules: int, entries: int, producers: int, probes: int) -> EventsResult:
    queue_urls = await setup(port, rules, str(rules))
    url = f"http://127.0.0.1:{port}/"
    rng = random.Random(7)
    batches = [[_entry(rng.randrange(rules)) for _ in range(10)] for _ in range(entries // 10)]
    work = asyncio.Queue[list[dict[str, str]]]()
    for batch in batches:
        work.put_nowait(batch)
    async with httpx.AsyncClient(timeout=60) as client:

        async def producer() -> None:
            while not work.empty():
                batch = work.get_nowait()
                result = await _events(client, url, "PutEvents", {"Entries": batch})
                if result["FailedEntryCount"]:
                    raise RuntimeError(f"PutEvents failed entries: {result}")

        started = time.perf_counter()
        await asyncio.gather(*(producer() for _ in range(producers)))
        seconds = time.perf_counter() - started
        # Latency, one event at a time: PutEvents -> the message on its queue.
        sqs = SqsClient("127.0.0.1", port)
        for queue_url in queue_urls:
            await sqs.call("PurgeQueue", {"QueueUrl": queue_url})
        latencies: list[float] = []
        for _ in range(probes):
            customer = rng.randrange(rules)
            sent = time.perf_counter()
            await _events(client, url, "PutEvents", {"Entries": [_entry(customer)]})
            while True:
                got = await sqs.call(
                    "ReceiveMessage",
                    {"QueueUrl": queue_urls[customer % QUEUES], "WaitTimeSeconds": 5},
                )
                messages = got.get("Messages", [])
                if messages:
                    latencies.append((time.perf_counter() - sent) * 1000)
                    await sqs.call(
                        "DeleteMessage",
                        {
                            "QueueUrl": queue_urls[customer % QUEUES],
                            "ReceiptHandle": messages[0]["ReceiptHandle"],
                        },
                    )
                    break
        await sqs.close()
    return EventsResult(rules, len(batches) * 10, seconds, len(batches) * 10, latencies)


BASELINE_SCHEMA = """
DROP SCHEMA IF EXISTS bench_events CASCADE;
CREATE SCHEMA bench_events;
CREATE TABLE bench_events.messages (
    id bigserial PRIMARY KEY,
    queue integer NOT NULL,
    body text NOT NULL,
    visible_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON bench_events.messages (queue, visible_at);
"""
BASELINE_INSERT = (
    "INSERT INTO bench_events.messages (queue, body) SELECT * FROM unnest(%s::int[], %s::text[])"
)


async def baseline(database_url: str, entries: int, producers: int) -> float:
    """Rows per second: one row per event in batches of 10, ``producers`` connections."""
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(BASELINE_SCHEMA)
    body = json.dumps(_entry(1)) * 2  # about the size of an envelope
    per_producer = entries // producers // 10

    async def produce() -> None:
        async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
            for _ in range(per_producer):
                await conn.execute(BASELINE_INSERT, (list(range(10)), [body] * 10))

    started = time.perf_counter()
    await asyncio.gather(*(produce() for _ in range(producers)))
    seconds = time.perf_counter() - started
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("DROP SCHEMA bench_events CASCADE")
    return per_producer * producers * 10 / seconds


def latency_figures(latencies: list[float]) -> tuple[float, float]:
    return percentile(latencies, 50), percentile(latencies, 99)
