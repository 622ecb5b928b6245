"""Topic fan-out under faults: publishes to a topic with filtered SQS subscriptions and one HTTP
subscription (a loopback subscriber), while broker processes are killed, paused and cut off.

Every acknowledged publish must reach every subscription whose filter policy it matches at least
once, and no subscription may get a publish its policy refuses (``bench/chaos_checker.py``,
``FanoutChecker``). Publishes are retried through another process after a retriable failure with
the same body id (a standard topic has no deduplication, so a retried publish may be delivered
twice: at least once is the promise).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx

from bench.chaos import RETRIABLE_ERRORS, Cluster, Retriable, RetryingClient, cancel
from bench.chaos_checker import FanoutChecker
from bench.sqs_client import signed_headers

SNS_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
T = TypeVar("T")
COLORS = ("red", "green", "blue")

Attributes = Mapping[str, Any]


@dataclass(frozen=True)
class SubscriptionSpec:
    """One subscription and, independently of the broker's matcher, which publishes it wants."""

    name: str
    protocol: str  # "sqs" or "http"
    policy: dict[str, Any] | None
    wants: Callable[[Attributes], bool]


SUBSCRIPTIONS = (
    SubscriptionSpec("red", "sqs", {"color": ["red"]}, lambda a: a["color"] == "red"),
    SubscriptionSpec(
        "warm-small",
        "sqs",
        {"color": ["red", "green"], "size": [{"numeric": ["<", 50]}]},
        lambda a: a["color"] in ("red", "green") and a["size"] < 50,
    ),
    SubscriptionSpec("everything", "sqs", None, lambda a: True),
    SubscriptionSpec(
        "http-blue-or-large",
        "http",
        # One policy key matching either condition is not expressible; ``$or`` is.
        {"$or": [{"color": ["blue"]}, {"size": [{"numeric": [">=", 90]}]}]},
        lambda a: a["color"] == "blue" or a["size"] >= 90,
    ),
)


# The loopback endpoint is not what is under test, yet under load a POST to it can fail (a
# connection reset while the broker reuses a kept-alive connection); SNS's default policy drops a
# delivery after 3 retries, so the HTTP subscription retries for longer, and quickly.
HTTP_DELIVERY_POLICY = {
    "healthyRetryPolicy": {
        "numRetries": 50,
        "numNoDelayRetries": 3,
        "minDelayTarget": 1,
        "maxDelayTarget": 5,
        "backoffFunction": "linear",
    }
}


class HttpSubscriber:
    """A loopback HTTP endpoint recording every notification (answering 200 to all)."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        self.confirmations: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints: fewer connections

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                document = json.loads(self.rfile.read(length))
                with subscriber._lock:
                    if document.get("Type") == "SubscriptionConfirmation":
                        subscriber.confirmations.append(document)
                    else:
                        subscriber.notifications.append(document)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default listen backlog (5) overflows under fan-out
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/notify"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            taken, self.notifications = self.notifications, []
        return taken

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class ClusterClient:
    """An AWS protocol over HTTP to one live broker of the cluster; on a retriable failure it
    moves to another process."""

    def __init__(self, cluster: Cluster, index: int) -> None:
        self._cluster = cluster
        self._index = index
        self._http = httpx.AsyncClient(timeout=3.0)

    async def _post(
        self, what: str, service: str, content_type: str, body: bytes, target: str | None = None
    ) -> httpx.Response:
        """One signed ``POST /``: the 200 answer, else ``Retriable`` or ``WrongAnswer``."""
        ports = self._cluster.ports
        if not ports:
            raise Retriable("no live broker")
        host = f"127.0.0.1:{ports[self._index % len(ports)]}"
        headers = signed_headers(host, service, content_type, body, target)
        try:
            response = await self._http.post(f"http://{host}/", content=body, headers=headers)
        except (httpx.HTTPError, *RETRIABLE_ERRORS) as exc:
            self._index += 1
            raise Retriable(repr(exc)) from exc
        if response.status_code >= 500 or "Throttl" in response.text:
            self._index += 1
            raise Retriable(response.text)
        if response.status_code != 200:
            raise WrongAnswer(f"{what}: {response.status_code} {response.text}")
        return response

    async def _retrying(self, attempt: Callable[[], Awaitable[T]], deadline: float) -> T:
        """``attempt()`` until it answers, retrying until ``deadline`` (monotonic)."""
        while True:
            try:
                return await attempt()
            except Retriable:
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.1)  # retry backoff

    async def close(self) -> None:
        await self._http.aclose()


class SnsClient(ClusterClient):
    """SNS over the Query protocol; on a retriable failure it moves to another live process."""

    async def once(self, params: dict[str, str]) -> str:
        body = urlencode({**params, "Version": "2010-03-31"}).encode()
        response = await self._post(params["Action"], "sns", SNS_CONTENT_TYPE, body)
        return response.text

    async def call(self, params: dict[str, str], deadline: float) -> str:
        return await self._retrying(lambda: self.once(params), deadline)


class WrongAnswer(Exception):
    pass


def between(text: str, tag: str) -> str:
    return text.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]


@dataclass
class TopicWorkload:
    publishers: int = 3
    consumers_per_queue: int = 1
    drain_timeout: float = 60.0
    stats: dict[str, int] = field(default_factory=dict)
    wrong_answers: list[str] = field(default_factory=list)


async def _subscribe(
    sns: SnsClient,
    sqs: RetryingClient,
    topic: str,
    suffix: str,
    subscriber: HttpSubscriber,
) -> dict[str, str]:
    """Create the subscriptions; the SQS queue URL of each SQS one."""
    deadline = time.monotonic() + 60
    queues: dict[str, str] = {}
    for spec in SUBSCRIPTIONS:
        params = {"Action": "Subscribe", "TopicArn": topic, "Protocol": spec.protocol}
        entry = 1
        if spec.protocol == "sqs":
            reply = await sqs.call(
                "CreateQueue", {"QueueName": f"fan-{spec.name}-{suffix}"}, 5.0, deadline
            )
            queues[spec.name] = reply["QueueUrl"]
            arn = await sqs.call(
                "GetQueueAttributes",
                {"QueueUrl": reply["QueueUrl"], "AttributeNames": ["QueueArn"]},
                5.0,
                deadline,
            )
            params["Endpoint"] = arn["Attributes"]["QueueArn"]
            params.update(
                {
                    "Attributes.entry.1.key": "RawMessageDelivery",
                    "Attributes.entry.1.value": "true",
                }
            )
            entry = 2
        else:
            params["Endpoint"] = subscriber.url
            params["Attributes.entry.1.key"] = "DeliveryPolicy"
            params["Attributes.entry.1.value"] = json.dumps(HTTP_DELIVERY_POLICY)
            entry = 2
        if spec.policy is not None:
            params[f"Attributes.entry.{entry}.key"] = "FilterPolicy"
            params[f"Attributes.entry.{entry}.value"] = json.dumps(spec.policy)
        await sns.call(params, deadline)
    # The HTTP endpoint confirms by following SubscribeURL, as real subscribers do.
    while not subscriber.confirmations:
        if time.monotonic() > deadline:
            raise AssertionError("no subscription confirmation reached the HTTP subscriber")
        await asyncio.sleep(0.05)  # polling an observable condition
    async with httpx.AsyncClient(timeout=5.0) as client:
        confirm = subscriber.confirmations[0]["SubscribeURL"]
        (await client.get(confirm)).raise_for_status()
    return queues


async def run(
    cluster: Cluster,
    checker: FanoutChecker,
    duration: float,
    faults: Callable[[Cluster], Coroutine[Any, Any, None]],
    workload: TopicWorkload | None = None,
) -> dict[str, int]:
    """Publishers on one topic for ``duration`` seconds while ``faults(cluster)`` runs, then
    consumers and the HTTP subscriber drain until every expected delivery arrived (or the drain
    times out). The caller runs ``checker.check()``."""
    w = workload or TopicWorkload()
    suffix = uuid.uuid4().hex[:8]
    subscriber = HttpSubscriber()
    setup_sns = SnsClient(cluster, 0)
    setup_sqs = RetryingClient(cluster, 0)
    topic = between(
        await setup_sns.call(
            {"Action": "CreateTopic", "Name": f"chaos-{suffix}"}, time.monotonic() + 30
        ),
        "TopicArn",
    )
    queues = await _subscribe(setup_sns, setup_sqs, topic, suffix, subscriber)
    await setup_sns.close()
    setup_sqs.close()
    for spec in SUBSCRIPTIONS:
        checker.subscribe(spec.name, spec.wants)

    publishing = asyncio.Event()
    publishing.set()
    consuming = asyncio.Event()
    consuming.set()
    stats = {"publishes_acked": 0, "publish_retries": 0, "queue_deliveries": 0}
    stats["http_deliveries"] = 0
    clients: list[RetryingClient] = []

    async def publish(index: int) -> None:
        sns = SnsClient(cluster, index)
        rng = random.Random(index)
        seq = 0
        while publishing.is_set():
            body_id = f"p{index}-{seq}"
            color, size = rng.choice(COLORS), rng.randrange(100)
            attributes = {"color": color, "size": size}
            params = {
                "Action": "Publish",
                "TopicArn": topic,
                "Message": json.dumps({"id": body_id, **attributes}),
                "MessageAttributes.entry.1.Name": "color",
                "MessageAttributes.entry.1.Value.DataType": "String",
                "MessageAttributes.entry.1.Value.StringValue": color,
                "MessageAttributes.entry.2.Name": "size",
                "MessageAttributes.entry.2.Value.DataType": "Number",
                "MessageAttributes.entry.2.Value.StringValue": str(size),
            }
            while True:  # the same body id until acknowledged
                try:
                    await sns.once(params)
                    break
                except WrongAnswer as exc:
                    w.wrong_answers.append(str(exc))
                except Retriable:
                    pass
                stats["publish_retries"] += 1
                if not publishing.is_set():
                    await sns.close()
                    return  # never acknowledged: not the checker's business
                await asyncio.sleep(0.05)  # retry backoff
            checker.published(body_id, attributes)
            stats["publishes_acked"] += 1
            seq += 1
        await sns.close()

    async def consume(name: str, url: str) -> None:
        client = RetryingClient(cluster, len(clients))
        clients.append(client)

        def record(messages: list[dict[str, Any]]) -> None:
            for message in messages:
                body = json.loads(message["Body"])
                checker.delivered(name, body["id"], body)
            stats["queue_deliveries"] += len(messages)

        await receive_until_stopped(client, url, consuming, record)

    async def collect_http() -> None:
        (spec,) = [s for s in SUBSCRIPTIONS if s.protocol == "http"]
        while consuming.is_set():
            for note in subscriber.take():
                body = json.loads(note["Message"])
                checker.delivered(spec.name, body["id"], body)
                stats["http_deliveries"] += 1
            await asyncio.sleep(0.05)  # polling the subscriber's record

    publishers = [asyncio.create_task(publish(i)) for i in range(w.publishers)]
    consumers = [
        asyncio.create_task(consume(name, url))
        for name, url in queues.items()
        for _ in range(w.consumers_per_queue)
    ]
    collector = asyncio.create_task(collect_http())
    fault_task = asyncio.create_task(faults(cluster))
    try:
        await asyncio.gather(fault_task, asyncio.sleep(duration))
        publishing.clear()
        await asyncio.gather(*publishers)
        stats["drained"] = int(await drained(checker, w.drain_timeout))
        consuming.clear()
        await asyncio.gather(*consumers, collector)
    finally:  # a failed fault must not leave clients running forever
        await cancel([fault_task, *publishers, *consumers, collector])
        for client in clients:
            client.close()
        subscriber.close()
    stats["wrong_answers"] = len(w.wrong_answers)
    w.stats = stats
    return stats


async def receive_until_stopped(
    client: RetryingClient,
    url: str,
    consuming: asyncio.Event,
    record: Callable[[list[dict[str, Any]]], None],
) -> None:
    """Receive batches from ``url`` until ``consuming`` is cleared; ``record`` and delete each."""
    while consuming.is_set():
        try:
            reply = await client.once(
                "ReceiveMessage",
                {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1},
                4.0,
            )
        except Retriable:
            await asyncio.sleep(0.05)  # retry backoff
            continue
        messages = reply.get("Messages", [])
        record(messages)
        if messages:
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ]
            # A delete that never lands means a redelivery: at least once still holds.
            with contextlib.suppress(Retriable):
                await client.call(
                    "DeleteMessageBatch",
                    {"QueueUrl": url, "Entries": entries},
                    3.0,
                    time.monotonic() + 10,
                )


async def drained(checker: FanoutChecker, limit: float) -> bool:
    """Poll until no expected delivery is missing; whether that happened within ``limit`` s."""
    deadline = time.monotonic() + limit
    while checker.check().missing_total:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.2)  # polling an observable condition
    return True
