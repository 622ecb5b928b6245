"""The synchronous client: ``Client`` -> ``Queue`` -> ``Message``."""

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
    QueueInfo,
    SendRequest,
    SentMessage,
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
