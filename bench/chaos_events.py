"""Event-bus routing under faults: PutEvents to a bus whose rules route to SQS queues, while
broker processes are killed, paused and cut off.

Each rule is the EventBridge twin of a topic workload's SQS subscription (the same wants, written
as event patterns on ``detail``), so ``FanoutChecker`` judges it the same way: every acknowledged
event reaches every queue whose rule matches it at least once, and no queue gets one its rule
refuses. An event is retried through another process after a retriable failure with the same
body id (PutEvents has no deduplication: at least once is the promise).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bench.chaos import Cluster, Retriable, RetryingClient, cancel
from bench.chaos_checker import FanoutChecker
from bench.chaos_topics import (
    COLORS,
    SUBSCRIPTIONS,
    ClusterClient,
    WrongAnswer,
    drained,
    receive_until_stopped,
)

EVENTS_CONTENT_TYPE = "application/x-amz-json-1.1"
SOURCE = "chaos.shop"

# The topic workload's SQS subscriptions, as rules: filter policies on message attributes become
# patterns on the event's detail.
PATTERNS: dict[str, dict[str, Any]] = {
    "red": {"source": [SOURCE], "detail": {"color": ["red"]}},
    "warm-small": {
        "source": [SOURCE],
        "detail": {"color": ["red", "green"], "size": [{"numeric": ["<", 50]}]},
    },
    "everything": {"source": [SOURCE]},
}
RULES = [spec for spec in SUBSCRIPTIONS if spec.name in PATTERNS]
# Entry errors a sender retries; any other refused entry is a wrong answer.
RETRIABLE_ENTRY_ERRORS = ("InternalFailure", "ThrottlingException")


class EventsClient(ClusterClient):
    """EventBridge over AWS JSON 1.1; on a retriable failure it moves to another live process."""

    async def once(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(params).encode()
        response = await self._post(
            action, "events", EVENTS_CONTENT_TYPE, body, f"AWSEvents.{action}"
        )
        reply: dict[str, Any] = response.json()
        return reply

    async def call(self, action: str, params: dict[str, Any], deadline: float) -> dict[str, Any]:
        return await self._retrying(lambda: self.once(action, params), deadline)


@dataclass
class EventWorkload:
    producers: int = 3
    consumers_per_queue: int = 1
    drain_timeout: float = 60.0
    stats: dict[str, int] = field(default_factory=dict)
    wrong_answers: list[str] = field(default_factory=list)


async def _route(
    events: EventsClient, sqs: RetryingClient, bus: str, suffix: str
) -> dict[str, str]:
    """The bus's rules, each targeting its own queue; the queue URL of each rule."""
    deadline = time.monotonic() + 60
    queues: dict[str, str] = {}
    for spec in RULES:
        reply = await sqs.call(
            "CreateQueue", {"QueueName": f"bus-{spec.name}-{suffix}"}, 5.0, deadline
        )
        queues[spec.name] = reply["QueueUrl"]
        arn = await sqs.call(
            "GetQueueAttributes",
            {"QueueUrl": reply["QueueUrl"], "AttributeNames": ["QueueArn"]},
            5.0,
            deadline,
        )
        rule = {
            "Name": spec.name,
            "EventBusName": bus,
            "EventPattern": json.dumps(PATTERNS[spec.name]),
        }
        await events.call("PutRule", rule, deadline)
        target = {"Id": "queue", "Arn": arn["Attributes"]["QueueArn"]}
        await events.call(
            "PutTargets", {"Rule": spec.name, "EventBusName": bus, "Targets": [target]}, deadline
        )
    return queues


async def run(
    cluster: Cluster,
    checker: FanoutChecker,
    duration: float,
    faults: Callable[[Cluster], Coroutine[Any, Any, None]],
    workload: EventWorkload | None = None,
) -> dict[str, int]:
    """Producers put events on one bus for ``duration`` seconds while ``faults(cluster)`` runs,
    then consumers drain the rules' queues until every expected delivery arrived (or the drain
    times out). The caller runs ``checker.check()``."""
    w = workload or EventWorkload()
    suffix = uuid.uuid4().hex[:8]
    bus = f"chaos-{suffix}"
    setup_events = EventsClient(cluster, 0)
    setup_sqs = RetryingClient(cluster, 0)
    try:
        await setup_events.call("CreateEventBus", {"Name": bus}, time.monotonic() + 30)
        queues = await _route(setup_events, setup_sqs, bus, suffix)
    finally:
        await setup_events.close()
        setup_sqs.close()
    for spec in RULES:
        checker.subscribe(spec.name, spec.wants)

    producing = asyncio.Event()
    producing.set()
    consuming = asyncio.Event()
    consuming.set()
    stats = {"events_acked": 0, "put_retries": 0, "queue_deliveries": 0}
    clients: list[RetryingClient] = []

    async def put_once(events: EventsClient, entry: dict[str, str]) -> bool:
        """Whether the event was acknowledged; raises on a wrong answer."""
        try:
            reply = await events.once("PutEvents", {"Entries": [entry]})
        except Retriable:
            return False
        if not reply.get("FailedEntryCount"):
            return True
        code = reply["Entries"][0].get("ErrorCode", "")
        if code in RETRIABLE_ENTRY_ERRORS:
            return False
        raise WrongAnswer(f"PutEvents entry refused: {reply}")

    async def produce(index: int) -> None:
        events = EventsClient(cluster, index)
        rng = random.Random(index)
        seq = 0
        while producing.is_set():
            body_id = f"e{index}-{seq}"
            detail = {"id": body_id, "color": rng.choice(COLORS), "size": rng.randrange(100)}
            entry = {
                "Source": SOURCE,
                "DetailType": "OrderPlaced",
                "EventBusName": bus,
                "Detail": json.dumps(detail),
            }
            while True:  # the same body id until acknowledged
                try:
                    if await put_once(events, entry):
                        break
                except WrongAnswer as exc:
                    w.wrong_answers.append(str(exc))
                stats["put_retries"] += 1
                if not producing.is_set():
                    await events.close()
                    return  # never acknowledged: not the checker's business
                await asyncio.sleep(0.05)  # retry backoff
            checker.published(body_id, {"color": detail["color"], "size": detail["size"]})
            stats["events_acked"] += 1
            seq += 1
        await events.close()

    async def consume(name: str, url: str) -> None:
        client = RetryingClient(cluster, len(clients))
        clients.append(client)

        def record(messages: list[dict[str, Any]]) -> None:
            for message in messages:
                detail = json.loads(message["Body"])["detail"]
                checker.delivered(name, detail["id"], detail)
            stats["queue_deliveries"] += len(messages)

        await receive_until_stopped(client, url, consuming, record)

    producers = [asyncio.create_task(produce(i)) for i in range(w.producers)]
    consumers = [
        asyncio.create_task(consume(name, url))
        for name, url in queues.items()
        for _ in range(w.consumers_per_queue)
    ]
    fault_task = asyncio.create_task(faults(cluster))
    try:
        await asyncio.gather(fault_task, asyncio.sleep(duration))
        producing.clear()
        await asyncio.gather(*producers)
        stats["drained"] = int(await drained(checker, w.drain_timeout))
        consuming.clear()
        await asyncio.gather(*consumers)
    finally:  # a failed fault must not leave clients running forever
        await cancel([fault_task, *producers, *consumers])
        for client in clients:
            client.close()
    stats["wrong_answers"] = len(w.wrong_answers)
    w.stats = stats
    return stats
