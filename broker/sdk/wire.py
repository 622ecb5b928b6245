"""The REST API's requests and answers, shared by the sync and async clients.

Each ``*_request`` returns a ``Req`` (method, path, query, JSON body); each ``parse_*`` turns the
decoded answer into SDK models. The clients only add the HTTP round trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from broker.sdk import tracing
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

BATCH_LIMIT = 10


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    body: dict[str, Any] | None = None
    wait_seconds: float = 0.0
    """How long the server may hold the request (long polls): added to the read timeout."""


def queue_path(name: str, suffix: str = "") -> str:
    return f"/v1/queues/{quote(name, safe='')}{suffix}"


def topic_path(name: str, suffix: str = "") -> str:
    return f"/v1/topics/{quote(name, safe='')}{suffix}"


def subscription_path(arn: str, suffix: str = "") -> str:
    return f"/v1/subscriptions/{quote(arn, safe='')}{suffix}"


def attributes_json(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    out = {k: MessageAttribute.of(v).to_json() for k, v in (attributes or {}).items()}
    if tracing.ATTRIBUTE not in out:
        current = tracing.current_traceparent()
        if current is not None:
            out[tracing.ATTRIBUTE] = {"data_type": "String", "string_value": current}
    return out


def send_body(
    body: str,
    attributes: Mapping[str, Any] | None,
    delay: int | None,
    group_id: str | None,
    deduplication_id: str | None,
) -> dict[str, Any]:
    if not isinstance(body, str):
        raise TypeError("a message body is a str")
    out: dict[str, Any] = {"body": body}
    attrs = attributes_json(attributes)
    if attrs:
        out["attributes"] = attrs
    if delay is not None:
        out["delay_seconds"] = delay
    if group_id is not None:
        out["group_id"] = group_id
    if deduplication_id is not None:
        out["deduplication_id"] = deduplication_id
    return out


def send_request(
    queue: str,
    body: str,
    attributes: Mapping[str, Any] | None = None,
    delay: int | None = None,
    group_id: str | None = None,
    deduplication_id: str | None = None,
) -> Req:
    return Req(
        "POST",
        queue_path(queue, "/messages"),
        body=send_body(body, attributes, delay, group_id, deduplication_id),
    )


def send_batch_requests(queue: str, items: Iterable[str | SendRequest]) -> list[Req]:
    """Batches of at most 10; entries without an id are numbered in order (``"0"``, ``"1"``...)."""
    entries: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        request = SendRequest(item) if isinstance(item, str) else item
        entry = send_body(
            request.body,
            request.attributes,
            request.delay,
            request.group_id,
            request.deduplication_id,
        )
        entries.append({"id": request.id or str(index), **entry})
    path = queue_path(queue, "/messages/batch")
    return [
        Req("POST", path, body={"entries": entries[i : i + BATCH_LIMIT]})
        for i in range(0, len(entries), BATCH_LIMIT)
    ]


def receive_request(
    queue: str,
    max_messages: int,
    wait_seconds: int | None,
    visibility_timeout: int | None,
    attribute_names: Sequence[str] | None = None,
) -> Req:
    body: dict[str, Any] = {"max_messages": max_messages}
    if wait_seconds is not None:
        body["wait_seconds"] = wait_seconds
    if visibility_timeout is not None:
        body["visibility_timeout"] = visibility_timeout
    if attribute_names is not None:
        body["attribute_names"] = list(attribute_names)
    return Req(
        "POST",
        queue_path(queue, "/messages/receive"),
        body=body,
        wait_seconds=float(wait_seconds if wait_seconds is not None else 20),
    )


def delete_request(queue: str, receipt_handle: str) -> Req:
    return Req("DELETE", queue_path(queue, "/messages/" + quote(receipt_handle, safe="")))


def visibility_request(queue: str, receipt_handle: str, seconds: int) -> Req:
    return Req(
        "PUT",
        queue_path(queue, "/messages/" + quote(receipt_handle, safe="") + "/visibility"),
        body={"visibility_timeout": seconds},
    )


def delete_batch_requests(queue: str, handles: Sequence[str]) -> list[Req]:
    entries = [{"id": str(i), "receipt_handle": h} for i, h in enumerate(handles)]
    path = queue_path(queue, "/messages/delete-batch")
    return [
        Req("POST", path, body={"entries": entries[i : i + BATCH_LIMIT]})
        for i in range(0, len(entries), BATCH_LIMIT)
    ]


def visibility_batch_requests(queue: str, handles: Sequence[str], seconds: int) -> list[Req]:
    entries = [
        {"id": str(i), "receipt_handle": h, "visibility_timeout": seconds}
        for i, h in enumerate(handles)
    ]
    path = queue_path(queue, "/messages/visibility-batch")
    return [
        Req("POST", path, body={"entries": entries[i : i + BATCH_LIMIT]})
        for i in range(0, len(entries), BATCH_LIMIT)
    ]


def _create_request(
    path: str,
    name: str,
    attributes: Mapping[str, str] | None,
    tags: Mapping[str, str] | None,
    fifo: bool | None,
) -> Req:
    """Queues and topics are created alike: a name, optional attributes, tags and FIFO flag."""
    body: dict[str, Any] = {"name": name}
    if attributes:
        body["attributes"] = dict(attributes)
    if tags:
        body["tags"] = dict(tags)
    if fifo is not None:
        body["fifo"] = fifo
    return Req("POST", path, body=body)


def create_queue_request(
    name: str,
    attributes: Mapping[str, str] | None,
    tags: Mapping[str, str] | None,
    fifo: bool | None,
) -> Req:
    return _create_request("/v1/queues", name, attributes, tags, fifo)


def list_queues_request(prefix: str | None, next_token: str | None) -> Req:
    query = [("limit", "1000")]
    if prefix:
        query.append(("prefix", prefix))
    if next_token:
        query.append(("next_token", next_token))
    return Req("GET", "/v1/queues", query=query)


def redrive_request(queue: str, destination: str | None, max_per_second: int | None) -> Req:
    body: dict[str, Any] = {}
    if destination:
        body["destination"] = destination
    if max_per_second is not None:
        body["max_per_second"] = max_per_second
    return Req("POST", queue_path(queue, "/redrive"), body=body)


# --- topics ------------------------------------------------------------------------------------


def create_topic_request(
    name: str,
    attributes: Mapping[str, str] | None,
    tags: Mapping[str, str] | None,
    fifo: bool | None,
) -> Req:
    return _create_request("/v1/topics", name, attributes, tags, fifo)


def list_topics_request(next_token: str | None) -> Req:
    return Req("GET", "/v1/topics", query=[("next_token", next_token)] if next_token else [])


def publish_body(request: PublishRequest) -> dict[str, Any]:
    if not isinstance(request.message, str):
        raise TypeError("a message is a str")
    out: dict[str, Any] = {"message": request.message}
    attrs = attributes_json(request.attributes)
    if attrs:
        out["attributes"] = attrs
    for key, value in (
        ("subject", request.subject),
        ("group_id", request.group_id),
        ("deduplication_id", request.deduplication_id),
        ("message_structure", request.message_structure),
    ):
        if value is not None:
            out[key] = value
    return out


def publish_request(topic: str, request: PublishRequest) -> Req:
    return Req("POST", topic_path(topic, "/messages"), body=publish_body(request))


def publish_batch_requests(topic: str, items: Iterable[str | PublishRequest]) -> list[Req]:
    """Batches of at most 10; entries without an id are numbered in order (``"0"``, ``"1"``...)."""
    entries: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        request = PublishRequest(item) if isinstance(item, str) else item
        entries.append({"id": request.id or str(index), **publish_body(request)})
    path = topic_path(topic, "/messages/batch")
    return [
        Req("POST", path, body={"entries": entries[i : i + BATCH_LIMIT]})
        for i in range(0, len(entries), BATCH_LIMIT)
    ]


def subscription_attributes(
    filter_policy: Mapping[str, Any] | str | None,
    raw: bool,
    attributes: Mapping[str, str] | None,
    filter_policy_scope: str | None = None,
) -> dict[str, str]:
    out = dict(attributes or {})
    if filter_policy is not None:
        out["FilterPolicy"] = (
            filter_policy if isinstance(filter_policy, str) else json.dumps(filter_policy)
        )
    if filter_policy_scope is not None:
        out["FilterPolicyScope"] = filter_policy_scope
    if raw:
        out["RawMessageDelivery"] = "true"
    return out


def subscribe_request(
    topic: str,
    protocol: str | None,
    endpoint: str | None,
    attributes: Mapping[str, str],
    queue: str | None = None,
) -> Req:
    body: dict[str, Any] = {}
    if queue is not None:
        body["queue"] = queue
    else:
        body["protocol"] = protocol
        body["endpoint"] = endpoint
    if attributes:
        body["attributes"] = dict(attributes)
    return Req("POST", topic_path(topic, "/subscriptions"), body=body)


def subscribe_queue_request(
    topic: str,
    queue: str,
    filter_policy: Mapping[str, Any] | str | None,
    raw: bool,
    attributes: Mapping[str, str] | None,
    filter_policy_scope: str | None = None,
) -> Req:
    """``queue`` is a queue name, or a queue ARN (``arn:aws:sqs:...``)."""
    attrs = subscription_attributes(filter_policy, raw, attributes, filter_policy_scope)
    if queue.startswith("arn:"):
        return subscribe_request(topic, "sqs", queue, attrs)
    return subscribe_request(topic, None, None, attrs, queue=queue)


def subscribe_http_request(
    topic: str,
    url: str,
    filter_policy: Mapping[str, Any] | str | None,
    raw: bool,
    attributes: Mapping[str, str] | None,
    filter_policy_scope: str | None = None,
) -> Req:
    protocol = url.split(":", 1)[0].lower()
    if protocol not in ("http", "https"):
        raise ValueError(f"an HTTP subscription needs an http:// or https:// URL, not {url!r}")
    attrs = subscription_attributes(filter_policy, raw, attributes, filter_policy_scope)
    return subscribe_request(topic, protocol, url, attrs)


def list_subscriptions_request(topic: str, next_token: str | None) -> Req:
    query = [("next_token", next_token)] if next_token else []
    return Req("GET", topic_path(topic, "/subscriptions"), query=query)


def subscription_arn(subscription: str | SubscriptionInfo) -> str:
    return subscription if isinstance(subscription, str) else subscription.arn


# --- answers -----------------------------------------------------------------------------------


def parse_sent(data: Mapping[str, Any]) -> SentMessage:
    return SentMessage(
        message_id=data["message_id"],
        md5_of_body=data["md5_of_body"],
        md5_of_message_attributes=data.get("md5_of_message_attributes"),
        sequence_number=data.get("sequence_number"),
        id=data.get("id"),
    )


def parse_failures(data: Mapping[str, Any]) -> list[BatchFailure]:
    return [
        BatchFailure(f["id"], f["code"], f["detail"], int(f["status"]), bool(f["sender_fault"]))
        for f in data.get("failed", [])
    ]


def merge(results: Iterable[BatchResult]) -> BatchResult:
    successful: list[Any] = []
    failed: list[BatchFailure] = []
    for result in results:
        successful.extend(result.successful)
        failed.extend(result.failed)
    return BatchResult(successful, failed)


def parse_send_batch(data: Mapping[str, Any]) -> BatchResult:
    return BatchResult([parse_sent(s) for s in data["successful"]], parse_failures(data))


def parse_handle_batch(data: Mapping[str, Any], handles: Sequence[str], offset: int) -> BatchResult:
    """Entry ids are positions: answer with the receipt handles themselves."""
    successful = [handles[int(s["id"])] for s in data["successful"]]
    return BatchResult(successful, parse_failures(data))


def parse_messages(data: Mapping[str, Any]) -> list[MessageData]:
    return [
        MessageData(
            message_id=m["message_id"],
            receipt_handle=m["receipt_handle"],
            body=m["body"],
            md5_of_body=m["md5_of_body"],
            attributes={
                k: MessageAttribute.from_json(v) for k, v in (m.get("attributes") or {}).items()
            },
            system_attributes=dict(m.get("system_attributes") or {}),
            md5_of_message_attributes=m.get("md5_of_message_attributes"),
        )
        for m in data["messages"]
    ]


def parse_queue(data: Mapping[str, Any]) -> QueueInfo:
    return QueueInfo(
        name=data["name"],
        url=data["url"],
        arn=data["arn"],
        fifo=bool(data["fifo"]),
        attributes=dict(data.get("attributes") or {}),
        tags=dict(data.get("tags") or {}),
        created_at=data.get("created_at"),
    )


def parse_move_tasks(data: Mapping[str, Any]) -> list[MoveTask]:
    return [MoveTask(**task) for task in data["tasks"]]


def parse_topic(data: Mapping[str, Any]) -> TopicInfo:
    return TopicInfo(
        name=data["name"],
        arn=data["arn"],
        fifo=bool(data["fifo"]),
        attributes=dict(data.get("attributes") or {}),
        tags=dict(data.get("tags") or {}),
        created_at=data.get("created_at"),
    )


def parse_published(data: Mapping[str, Any]) -> PublishedMessage:
    return PublishedMessage(
        message_id=data["message_id"],
        sequence_number=data.get("sequence_number"),
        id=data.get("id"),
    )


def parse_publish_batch(data: Mapping[str, Any]) -> BatchResult:
    return BatchResult([parse_published(s) for s in data["successful"]], parse_failures(data))


def parse_subscription(data: Mapping[str, Any]) -> SubscriptionInfo:
    return SubscriptionInfo(
        arn=data["arn"],
        topic_arn=data["topic_arn"],
        protocol=data["protocol"],
        endpoint=data["endpoint"],
        pending_confirmation=bool(data.get("pending_confirmation")),
        attributes=dict(data.get("attributes") or {}),
    )
