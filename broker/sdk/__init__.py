"""pgbroker's Python SDK: sync and async clients of the REST API, and a worker runtime.

Imports nothing from ``broker`` outside ``broker.sdk`` (and only ``httpx`` besides the standard
library), so it can be vendored or shipped alone::

    from broker.sdk import Client, Worker

    client = Client("http://127.0.0.1:9324", "key-id", "secret")
    client.queue("orders").send("hello", attributes={"kind": "greeting"})
    client.topic("events").publish("hello", attributes={"kind": "greeting"})
    Worker(client, "orders", lambda message: print(message.body), concurrency=4).run()

Buses (``client.bus(name).put_events``) arrive with that service. See docs/sdk.md.
"""

from broker.sdk import errors, tracing
from broker.sdk.aio import AsyncClient, AsyncMessage, AsyncQueue, AsyncTopic
from broker.sdk.client import Client, Message, Queue, Topic
from broker.sdk.errors import ApiError, BrokerClientError, TransportError
from broker.sdk.models import (
    BatchFailure,
    BatchResult,
    MessageAttribute,
    MessageData,
    MoveTask,
    PublishedMessage,
    PublishRequest,
    QueueInfo,
    SendRequest,
    SentMessage,
    SubscriptionInfo,
    TopicInfo,
)
from broker.sdk.transport import RetryPolicy
from broker.sdk.worker import LoggingHooks, Worker, WorkerHooks, exponential_backoff

__all__ = [
    "ApiError",
    "AsyncClient",
    "AsyncMessage",
    "AsyncQueue",
    "AsyncTopic",
    "BatchFailure",
    "BatchResult",
    "BrokerClientError",
    "Client",
    "LoggingHooks",
    "Message",
    "MessageAttribute",
    "MessageData",
    "MoveTask",
    "PublishRequest",
    "PublishedMessage",
    "Queue",
    "QueueInfo",
    "RetryPolicy",
    "SendRequest",
    "SentMessage",
    "SubscriptionInfo",
    "Topic",
    "TopicInfo",
    "TransportError",
    "Worker",
    "WorkerHooks",
    "errors",
    "exponential_backoff",
    "tracing",
]
