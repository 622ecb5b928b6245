"""Fan-out: Publish to a topic with 100 subscribed queues, each with its own filter policy.

Queue ``i`` subscribes with ``{"group": ["<i mod 10>"], "size": [{"numeric": [">=", <i>]}]}``
and every publish carries ``group`` (0-9) and ``size`` (0-99) attributes, so a publish matches
a varying share of the queues (about 5 of 100 on average). Reports publishes/s and queue
messages delivered/s (counted in the database after the run).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import psycopg

from bench.sqs_client import SqsClient, signed_headers

FORM = "application/x-www-form-urlencoded; charset=utf-8"


@dataclass(frozen=True)
class FanoutResult:
    publishes: int
    seconds: float
    delivered: int
    expected: int

    @property
    def publish_rate(self) -> float:
        return self.publishes / self.seconds

    @property
    def delivery_rate(self) -> float:
        return self.delivered / self.seconds


async def _sns(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> str:
    params = {**params, "Version": "2010-03-31"}
    body = urlencode(params).encode()
    headers = signed_headers(httpx.URL(url).netloc.decode("ascii"), "sns", FORM, body)
    response = await client.post(url, content=body, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{params['Action']}: {response.status_code} {response.text}")
    return response.text


def _between(text: str, tag: str) -> str:
    return text.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]


def _matches(queue: int, group: int, size: int) -> bool:
    return queue % 10 == group and size >= queue


async def run(
    port: int, database_url: str, queues: int, publishes: int, publishers: int
) -> FanoutResult:
    url = f"http://127.0.0.1:{port}/"
    sqs = SqsClient("127.0.0.1", port)
    async with httpx.AsyncClient(timeout=30) as client:
        topic = _between(
            await _sns(client, url, {"Action": "CreateTopic", "Name": "fanout"}), "TopicArn"
        )
        for i in range(queues):
            queue_url = (await sqs.call("CreateQueue", {"QueueName": f"fanout-{i}"}))["QueueUrl"]
            arn = (
                await sqs.call(
                    "GetQueueAttributes", {"QueueUrl": queue_url, "AttributeNames": ["QueueArn"]}
                )
            )["Attributes"]["QueueArn"]
            policy = {"group": [str(i % 10)], "size": [{"numeric": [">=", i]}]}
            await _sns(
                client,
                url,
                {
                    "Action": "Subscribe",
                    "TopicArn": topic,
                    "Protocol": "sqs",
                    "Endpoint": arn,
                    "Attributes.entry.1.key": "FilterPolicy",
                    "Attributes.entry.1.value": json.dumps(policy),
                },
            )
        await sqs.close()
        rng = random.Random(7)
        plan = [(rng.randrange(10), rng.randrange(100)) for _ in range(publishes)]
        expected = sum(_matches(q, g, s) for g, s in plan for q in range(queues))
        work = asyncio.Queue[tuple[int, int]]()
        for item in plan:
            work.put_nowait(item)

        async def publisher() -> None:
            while not work.empty():
                group, size = work.get_nowait()
                await _sns(
                    client,
                    url,
                    {
                        "Action": "Publish",
                        "TopicArn": topic,
                        "Message": json.dumps({"group": group, "size": size}),
                        "MessageAttributes.entry.1.Name": "group",
                        "MessageAttributes.entry.1.Value.DataType": "String",
                        "MessageAttributes.entry.1.Value.StringValue": str(group),
                        "MessageAttributes.entry.2.Name": "size",
                        "MessageAttributes.entry.2.Value.DataType": "Number",
                        "MessageAttributes.entry.2.Value.StringValue": str(size),
                    },
                )

        started = time.perf_counter()
        await asyncio.gather(*(publisher() for _ in range(publishers)))
        seconds = time.perf_counter() - started
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM broker.messages").fetchone()
    delivered = int(row[0]) if row else 0
    return FanoutResult(publishes, seconds, delivered, expected)
