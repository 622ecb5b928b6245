"""The synchronous client: ``Client`` -> ``Queue`` -> ``Message``, and ``Client`` -> ``Topic``."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from broker.sdk import wire
from broker.sdk.models import (
    BatchResult,
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
from broker.sdk.transport import (
    ClientConfig,
    Retrier,
    RetryPolicy,
    Sleep,
    build_request,
    decode,
    should_retry,
    transport_error,
)


class Client:
    """A pooled, retrying connection to a broker's REST API.

    ``Client("http://127.0.0.1:9324", "key-id", "secret")``; use as a context manager or call
    ``close()``. Thread-safe: share one client between threads.
    """

    def __init__(
        self,
        endpoint_url: str,
        access_key_id: str,
        secret_access_key: str,
        *,
        region: str = "us-east-1",
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 20,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.config = ClientConfig(
            endpoint_url,
            access_key_id,
            secret_access_key,
            region,
            timeout,
            retry or RetryPolicy(),
            max_connections,
        )
        self._http = httpx.Client(limits=self.config.limits, transport=transport)
        self._sleep = sleep
        self._rng = random.Random()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def call(self, req: wire.Req) -> Any:
        """Send one request, with retries; the decoded JSON answer."""
        retrier = Retrier(self.config.retry, self._rng)
        while True:
            try:
                response = self._http.send(build_request(self.config, self._http, req))
            except httpx.TransportError as exc:
                delay = retrier.next_delay()
                if delay is None:
                    raise transport_error(exc) from exc
                self._sleep(delay)
                continue
            if should_retry(response):
                delay = retrier.next_delay()
                if delay is not None:
                    self._sleep(delay)
                    continue
            return decode(response)

    # -- queues -------------------------------------------------------------------------------

    def queue(self, name: str) -> Queue:
        """A handle on queue ``name`` (no request is made)."""
        return Queue(self, name)

    def create_queue(
        self,
        name: str,
        attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        fifo: bool | None = None,
    ) -> Queue:
        """Create (or find the identical) queue; ``fifo`` defaults to the ``.fifo`` suffix."""
        if fifo is None and name.endswith(".fifo"):
            fifo = True
        self.call(wire.create_queue_request(name, attributes, tags, fifo))
        return Queue(self, name)

    def list_queues(self, prefix: str | None = None) -> list[QueueInfo]:
        out: list[QueueInfo] = []
        token: str | None = None
        while True:
            data = self.call(wire.list_queues_request(prefix, token))
            out.extend(wire.parse_queue(q) for q in data["queues"])
            token = data.get("next_token")
            if not token:
                return out

    # -- topics -------------------------------------------------------------------------------

    def topic(self, name: str) -> Topic:
        """A handle on topic ``name`` (no request is made)."""
        return Topic(self, name)

    def create_topic(
        self,
        name: str,
        attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        fifo: bool | None = None,
    ) -> Topic:
        """Create (or find the identical) topic; ``fifo`` defaults to the ``.fifo`` suffix."""
        topic = Topic(self, name)
        topic.create(attributes, tags, fifo)
        return topic

    def list_topics(self) -> list[TopicInfo]:
        out: list[TopicInfo] = []
        token: str | None = None
        while True:
            data = self.call(wire.list_topics_request(token))
            out.extend(wire.parse_topic(t) for t in data["topics"])
            token = data.get("next_token")
            if not token:
                return out

    def subscription(self, arn: str) -> SubscriptionInfo:
        """A subscription (by ARN) with all its attributes."""
        return wire.parse_subscription(self.call(wire.Req("GET", wire.subscription_path(arn))))

    def set_subscription_attributes(self, arn: str, attributes: Mapping[str, str]) -> None:
        """Set FilterPolicy, RawMessageDelivery... (an empty value unsets)."""
        req = wire.Req(
            "PATCH",
            wire.subscription_path(arn, "/attributes"),
            body={"attributes": dict(attributes)},
        )
        self.call(req)

    def unsubscribe(self, subscription: str | SubscriptionInfo) -> None:
        self.call(wire.Req("DELETE", wire.subscription_path(wire.subscription_arn(subscription))))


class Topic:
    """A topic: publish to it, subscribe queues and HTTP/S endpoints to it."""

    def __init__(self, client: Client, name: str) -> None:
        self.client = client
        self.name = name

    def __repr__(self) -> str:
        return f"Topic({self.name!r})"

    def create(
        self,
        attributes: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        fifo: bool | None = None,
    ) -> TopicInfo:
        """Create this topic (idempotent when the attributes match)."""
        req = wire.create_topic_request(self.name, attributes, tags, fifo)
        return wire.parse_topic(self.client.call(req))

    def info(self) -> TopicInfo:
        return wire.parse_topic(self.client.call(wire.Req("GET", wire.topic_path(self.name))))

    def attributes(self) -> dict[str, str]:
        data = self.client.call(wire.Req("GET", wire.topic_path(self.name, "/attributes")))
        return dict(data["attributes"])

    def set_attributes(self, attributes: Mapping[str, str]) -> None:
        req = wire.Req(
            "PATCH",
            wire.topic_path(self.name, "/attributes"),
            body={"attributes": dict(attributes)},
        )
        self.client.call(req)

    def delete(self) -> None:
        """Delete the topic and its subscriptions (idempotent)."""
        self.client.call(wire.Req("DELETE", wire.topic_path(self.name)))

    def publish(
        self,
        message: str,
        subject: str | None = None,
        attributes: Mapping[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        *,
        message_structure: str | None = None,
    ) -> PublishedMessage:
        """Publish ``message`` to every matching subscription; ``attributes`` values: str,
        int/float (Number), bytes (Binary) or ``MessageAttribute``."""
        request = PublishRequest(
            message, subject, attributes, group_id, deduplication_id, message_structure
        )
        return wire.parse_published(self.client.call(wire.publish_request(self.name, request)))

    def publish_batch(self, messages: Iterable[str | PublishRequest]) -> BatchResult:
        """Publish any number of messages, 10 per request; failures are in ``.failed``."""
        return wire.merge(
            wire.parse_publish_batch(self.client.call(req))
            for req in wire.publish_batch_requests(self.name, messages)
        )

    def subscribe_queue(
        self,
        queue: str,
        filter_policy: Mapping[str, Any] | str | None = None,
        raw: bool = False,
        *,
        filter_policy_scope: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> SubscriptionInfo:
        """Subscribe queue ``queue`` (a name or an ARN); idempotent."""
        req = wire.subscribe_queue_request(
            self.name, queue, filter_policy, raw, attributes, filter_policy_scope
        )
        return wire.parse_subscription(self.client.call(req))

    def subscribe_http(
        self,
        url: str,
        filter_policy: Mapping[str, Any] | str | None = None,
        raw: bool = False,
        *,
        filter_policy_scope: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> SubscriptionInfo:
        """Subscribe an HTTP/S endpoint: pending until it confirms (SNS's handshake)."""
        req = wire.subscribe_http_request(
            self.name, url, filter_policy, raw, attributes, filter_policy_scope
        )
        return wire.parse_subscription(self.client.call(req))

    def subscriptions(self) -> list[SubscriptionInfo]:
        out: list[SubscriptionInfo] = []
        token: str | None = None
        while True:
            data = self.client.call(wire.list_subscriptions_request(self.name, token))
            out.extend(wire.parse_subscription(s) for s in data["subscriptions"])
            token = data.get("next_token")
            if not token:
                return out

    def unsubscribe(self, subscription: str | SubscriptionInfo) -> None:
        self.client.unsubscribe(subscription)


class Queue:
    def __init__(self, client: Client, name: str) -> None:
        self.client = client
        self.name = name

    def __repr__(self) -> str:
        return f"Queue({self.name!r})"

    def send(
        self,
        body: str,
        attributes: Mapping[str, Any] | None = None,
        delay: int | None = None,
        *,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> SentMessage:
        """Send ``body``; ``attributes`` values: str, int/float (Number), bytes (Binary) or
        ``MessageAttribute``."""
        req = wire.send_request(self.name, body, attributes, delay, group_id, deduplication_id)
        return wire.parse_sent(self.client.call(req))

    def send_batch(self, messages: Iterable[str | SendRequest]) -> BatchResult:
        """Send any number of messages, 10 per request; failures are in ``.failed``."""
        return wire.merge(
            wire.parse_send_batch(self.client.call(req))
            for req in wire.send_batch_requests(self.name, messages)
        )

    def receive(
        self,
        max_messages: int = 10,
        wait_seconds: int | None = 20,
        visibility_timeout: int | None = None,
    ) -> list[Message]:
        """Up to ``max_messages``, waiting up to ``wait_seconds`` for the first."""
        req = wire.receive_request(self.name, max_messages, wait_seconds, visibility_timeout)
        return [Message(self, m) for m in wire.parse_messages(self.client.call(req))]

    def delete_message(self, receipt_handle: str) -> None:
        self.client.call(wire.delete_request(self.name, receipt_handle))

    def change_visibility(self, receipt_handle: str, seconds: int) -> None:
        self.client.call(wire.visibility_request(self.name, receipt_handle, seconds))

    def delete_batch(self, handles: Sequence[str | MessageData]) -> BatchResult:
        """Delete messages (or receipt handles); ``.successful`` lists the handles deleted."""
        ids = [h if isinstance(h, str) else h.receipt_handle for h in handles]
        return wire.merge(
            wire.parse_handle_batch(self.client.call(req), ids, 0)
            for req in wire.delete_batch_requests(self.name, ids)
        )

    def change_visibility_batch(
        self, handles: Sequence[str | MessageData], seconds: int
    ) -> BatchResult:
        ids = [h if isinstance(h, str) else h.receipt_handle for h in handles]
        return wire.merge(
            wire.parse_handle_batch(self.client.call(req), ids, 0)
            for req in wire.visibility_batch_requests(self.name, ids, seconds)
        )

    def info(self) -> QueueInfo:
        return wire.parse_queue(self.client.call(wire.Req("GET", wire.queue_path(self.name))))

    def set_attributes(self, attributes: Mapping[str, str]) -> None:
        req = wire.Req(
            "PATCH",
            wire.queue_path(self.name, "/attributes"),
            body={"attributes": dict(attributes)},
        )
        self.client.call(req)

    def tag(self, tags: Mapping[str, str]) -> None:
        req = wire.Req("PATCH", wire.queue_path(self.name, "/tags"), body={"tags": dict(tags)})
        self.client.call(req)

    def untag(self, keys: Iterable[str]) -> None:
        query = [("key", k) for k in keys]
        self.client.call(wire.Req("DELETE", wire.queue_path(self.name, "/tags"), query=query))

    def purge(self) -> None:
        self.client.call(wire.Req("POST", wire.queue_path(self.name, "/purge")))

    def delete(self) -> None:
        self.client.call(wire.Req("DELETE", wire.queue_path(self.name)))

    def redrive(self, destination: str | None = None, max_per_second: int | None = None) -> str:
        """Start moving this dead-letter queue's messages back; the task handle."""
        data = self.client.call(wire.redrive_request(self.name, destination, max_per_second))
        return str(data["task_handle"])

    def redrive_tasks(self, limit: int = 1) -> list[MoveTask]:
        req = wire.Req("GET", wire.queue_path(self.name, "/redrive"), query=[("limit", str(limit))])
        return wire.parse_move_tasks(self.client.call(req))

    def cancel_redrive(self, task_handle: str) -> int:
        req = wire.Req(
            "POST", wire.queue_path(self.name, "/redrive/cancel"), body={"task_handle": task_handle}
        )
        return int(self.client.call(req)["moved"])


class Message(MessageData):
    """A received message: its data plus ``delete()`` and ``change_visibility(seconds)``."""

    def __init__(self, queue: Queue, data: MessageData) -> None:
        super().__init__(**{f: getattr(data, f) for f in data.__dataclass_fields__})
        object.__setattr__(self, "queue", queue)

    queue: Queue

    def delete(self) -> None:
        self.queue.delete_message(self.receipt_handle)

    def change_visibility(self, seconds: int) -> None:
        self.queue.change_visibility(self.receipt_handle, seconds)
