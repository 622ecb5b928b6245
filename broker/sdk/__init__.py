"""pgbroker's Python SDK: sync and async clients of the REST API, and a worker runtime.

Imports nothing from ``broker`` outside ``broker.sdk`` (and only ``httpx`` besides the standard
library), so it can be vendored or shipped alone::

    from broker.sdk import Client, Worker

    client = Client("http://127.0.0.1:9324", "key-id", "secret")
    client.queue("orders").send("hello", attributes={"kind": "greeting"})
    Worker(client, "orders", lambda message: print(message.body), concurrency=4).run()

Topics (``client.topic(name).publish``) and buses (``client.bus(name).put_events``) arrive with
those services. See docs/sdk.md.
"""

from broker.sdk import errors, tracing
from broker.sdk.aio import AsyncClient, AsyncMessage, AsyncQueue
from broker.sdk.client import Client, Message, Queue
from broker.sdk.errors import ApiError, BrokerClientError, TransportError
from broker.sdk.models import (
    BatchFailure,
    BatchResult,
    MessageAttribute,
    MessageData,
    MoveTask,
    QueueInfo,
    SendRequest,
    SentMessage,
)
from broker.sdk.transport import RetryPolicy
from broker.sdk.worker import LoggingHooks, Worker, WorkerHooks, exponential_backoff

__all__ = [
    "ApiError",
    "AsyncClient",
    "AsyncMessage",
    "AsyncQueue",
    "BatchFailure",
    "BatchResult",
    "BrokerClientError",
    "Client",
    "LoggingHooks",
    "Message",
    "MessageAttribute",
    "MessageData",
    "MoveTask",
    "Queue",
    "QueueInfo",
    "RetryPolicy",
    "SendRequest",
    "SentMessage",
    "TransportError",
    "Worker",
    "WorkerHooks",
    "errors",
    "exponential_backoff",
    "tracing",
]
