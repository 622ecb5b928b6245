"""The queue and message operations of the REST API: parse, call ``BrokerService``, shape.

Each operation is declared once (method, path, schemas, handler): the router and the OpenAPI
document are both generated from ``QUEUE_OPERATIONS``, so the two cannot drift apart. Topics have
their own list (``broker.api.topics.TOPIC_OPERATIONS``); buses will join as ``/v1/buses/...``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams

from broker.api.problems import entry_failure, error_identity
from broker.api.wire import (
    Body,
    check_text,
    invalid,
    move_task_json,
    queue_json,
    queue_summary,
    received_json,
)
from broker.core.models import (
    Caller,
    EntryFailure,
    HandleEntry,
    Queue,
    ReceiveRequest,
    SendEntry,
    SentMessage,
)
from broker.core.service import BrokerService
from broker.core.topics import TopicService
from broker.errors import BrokerError, QueueNotFound
from broker.protocols.aws.sqs.md5 import md5_of_attributes, md5_of_body
from broker.protocols.aws.sqs.queue_urls import queue_url

Json = dict[str, Any]


@dataclass
class Call:
    """One REST request, as the handlers see it."""

    service: BrokerService
    caller: Caller
    base_url: str
    path: Mapping[str, str]
    query: QueryParams
    body: Body
    topics: TopicService | None = None
    """The topic service (None when the broker serves no topics: no topic route exists then)."""

    async def queue(self) -> Queue:
        name = self.path["queue"]
        if "\x00" in name:
            raise QueueNotFound()
        return await self.service.get_queue(self.caller, name)

    def url(self, queue: Queue) -> str:
        return queue_url(self.base_url, queue)

    def query_int(self, name: str) -> int | None:
        text = self.query.get(name)
        if text is None:
            return None
        try:
            value = int(text)
        except ValueError:
            raise invalid(name, "must be an integer.") from None
        if not -(2**31) <= value < 2**31:
            raise invalid(name, "is out of range.")
        return value

    def query_str(self, name: str) -> str | None:
        text = self.query.get(name)
        return None if text is None else check_text(name, text)


Answer = tuple[int, Json | None]
Handler = Callable[[Call], Awaitable[Answer]]
Identity = Callable[[BrokerError], tuple[int, str, str]]
"""(REST status, code, AWS Query code) of a broker condition, per service."""


@dataclass(frozen=True)
class Operation:
    id: str
    method: str
    path: str
    summary: str
    handler: Handler
    tag: str = "queues"
    status: int = 200
    request: Json | None = None
    response: Json | None = None
    query: tuple[tuple[str, Json, str], ...] = ()
    description: str = ""
    errors: tuple[int, ...] = field(default=(400, 401, 404))
    identity: Identity = error_identity
    """How a ``BrokerError`` is named: SQS codes for queues, SNS codes for topics."""


# --- JSON schemas (OpenAPI 3.1 = JSON Schema 2020-12) ------------------------------------------

STR: Json = {"type": "string"}
INT: Json = {"type": "integer"}
STRING_MAP: Json = {"type": "object", "additionalProperties": STR}
ATTRIBUTE: Json = {
    "type": "object",
    "description": "A message attribute: String, Number or Binary (optionally `.label`led).",
    "required": ["data_type"],
    "properties": {
        "data_type": {"type": "string", "examples": ["String", "Number", "Binary"]},
        "string_value": STR,
        "binary_value": {"type": "string", "contentEncoding": "base64"},
    },
    "additionalProperties": False,
}
ATTRIBUTES: Json = {
    "type": "object",
    "additionalProperties": {"$ref": "#/components/schemas/MessageAttribute"},
}
SEND_MEMBERS: Json = {
    "body": {"type": "string", "description": "1 byte to 1 MiB of XML-safe Unicode."},
    "attributes": {"$ref": "#/components/schemas/MessageAttributes"},
    "system_attributes": {
        "$ref": "#/components/schemas/MessageAttributes",
        "description": "Only AWSTraceHeader.",
    },
    "delay_seconds": {"type": "integer", "minimum": 0, "maximum": 900},
    "group_id": {"type": "string", "description": "FIFO queues: required."},
    "deduplication_id": {"type": "string", "description": "FIFO queues."},
}
SENT: Json = {
    "type": "object",
    "required": ["message_id", "md5_of_body"],
    "properties": {
        "message_id": STR,
        "md5_of_body": STR,
        "md5_of_message_attributes": {"type": ["string", "null"]},
        "md5_of_message_system_attributes": {"type": ["string", "null"]},
        "sequence_number": {"type": ["string", "null"]},
    },
}
QUEUE_SUMMARY: Json = {
    "type": "object",
    "required": ["name", "url", "arn", "fifo"],
    "properties": {
        "name": STR,
        "url": {"type": "string", "description": "The SQS queue URL (for AWS SDKs)."},
        "arn": STR,
        "fifo": {"type": "boolean"},
    },
}
QUEUE: Json = {
    "type": "object",
    "required": ["name", "url", "arn", "fifo", "attributes", "tags", "created_at"],
    "properties": {
        **QUEUE_SUMMARY["properties"],
        "created_at": {"type": "string", "format": "date-time"},
        "attributes": STRING_MAP,
        "tags": STRING_MAP,
    },
}
MESSAGE: Json = {
    "type": "object",
    "required": ["message_id", "receipt_handle", "body", "md5_of_body", "attributes"],
    "properties": {
        "message_id": STR,
        "receipt_handle": STR,
        "body": STR,
        "md5_of_body": STR,
        "attributes": {"$ref": "#/components/schemas/MessageAttributes"},
        "md5_of_message_attributes": {"type": ["string", "null"]},
        "system_attributes": STRING_MAP,
    },
}
FAILED: Json = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["id", "code", "detail", "status", "sender_fault"],
        "properties": {
            "id": STR,
            "status": INT,
            "code": STR,
            "aws_code": STR,
            "detail": STR,
            "sender_fault": {"type": "boolean"},
        },
    },
}


def _batch_result(success: Json) -> Json:
    return {
        "type": "object",
        "required": ["successful", "failed"],
        "properties": {"successful": {"type": "array", "items": success}, "failed": FAILED},
    }


def _object(properties: Json, required: tuple[str, ...] = ()) -> Json:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def _entries(item: Json) -> Json:
    return _object(
        {"entries": {"type": "array", "items": item, "minItems": 1, "maxItems": 10}},
        ("entries",),
    )


MOVE_TASK: Json = {
    "type": "object",
    "properties": {
        "task_handle": STR,
        "status": {"enum": ["RUNNING", "COMPLETED", "CANCELLING", "CANCELLED", "FAILED"]},
        "source_arn": STR,
        "destination_arn": {"type": ["string", "null"]},
        "max_per_second": {"type": ["integer", "null"]},
        "moved": INT,
        "to_move": INT,
        "failure_reason": {"type": ["string", "null"]},
        "started_at": {"type": "string", "format": "date-time"},
    },
}

# --- handlers ----------------------------------------------------------------------------------


async def list_queues(call: Call) -> Answer:
    queues, token = await call.service.list_queues(
        call.caller, call.query_str("prefix"), call.query_int("limit"), call.query_str("next_token")
    )
    return 200, {"queues": [queue_summary(q, call.url(q)) for q in queues], "next_token": token}


async def create_queue(call: Call) -> Answer:
    name = call.body.required_string("name")
    attributes = call.body.string_map("attributes")
    fifo = call.body.boolean("fifo")
    tags = call.body.string_map("tags")
    call.body.done()
    if fifo is not None:
        attributes.setdefault("FifoQueue", "true" if fifo else "false")
    queue = await call.service.create_queue(call.caller, name, attributes, tags)
    return 201, queue_json(queue, call.url(queue), queue.attributes, queue.tags)


async def get_queue(call: Call) -> Answer:
    queue = await call.queue()
    attributes = await call.service.get_queue_attributes(call.caller, queue, ["All"])
    tags = await call.service.list_queue_tags(call.caller, queue)
    return 200, queue_json(queue, call.url(queue), attributes, tags)


async def delete_queue(call: Call) -> Answer:
    await call.service.delete_queue(call.caller, await call.queue())
    return 204, None


async def get_attributes(call: Call) -> Answer:
    queue = await call.queue()
    names = [check_text("name", n) for n in call.query.getlist("name")] or ["All"]
    return 200, {"attributes": await call.service.get_queue_attributes(call.caller, queue, names)}


async def set_attributes(call: Call) -> Answer:
    attributes = call.body.string_map("attributes")
    call.body.done()
    queue = await call.queue()
    await call.service.set_queue_attributes(call.caller, queue, attributes)
    return 204, None


async def get_tags(call: Call) -> Answer:
    return 200, {"tags": await call.service.list_queue_tags(call.caller, await call.queue())}


async def tag_queue(call: Call) -> Answer:
    tags = call.body.string_map("tags")
    call.body.done()
    await call.service.tag_queue(call.caller, await call.queue(), tags)
    return 204, None


async def untag_queue(call: Call) -> Answer:
    keys = [check_text("key", k) for k in call.query.getlist("key")]
    await call.service.untag_queue(call.caller, await call.queue(), keys)
    return 204, None


async def purge_queue(call: Call) -> Answer:
    await call.service.purge_queue(call.caller, await call.queue())
    return 204, None


async def dead_letter_sources(call: Call) -> Answer:
    queue = await call.queue()
    queues, token = await call.service.list_dead_letter_source_queues(
        call.caller, queue, call.query_int("limit"), call.query_str("next_token")
    )
    return 200, {"queues": [queue_summary(q, call.url(q)) for q in queues], "next_token": token}


def _send_entry(body: Body, entry_id: str = "") -> SendEntry:
    entry = SendEntry(
        body=body.required_string("body"),
        id=entry_id,
        attributes=body.attributes("attributes"),
        system_attributes=body.attributes("system_attributes"),
        delay_seconds=body.integer("delay_seconds"),
        group_id=body.string("group_id"),
        deduplication_id=body.string("deduplication_id"),
    )
    body.done()
    return entry


def _sent(entry: SendEntry, sent: SentMessage) -> Json:
    return {
        "message_id": sent.message_id,
        "md5_of_body": md5_of_body(entry.body),
        "md5_of_message_attributes": md5_of_attributes(entry.attributes),
        "md5_of_message_system_attributes": md5_of_attributes(entry.system_attributes),
        "sequence_number": sent.sequence_number,
    }


async def send_message(call: Call) -> Answer:
    entry = _send_entry(call.body)
    queue = await call.queue()
    return 201, _sent(entry, await call.service.send_message(call.caller, queue, entry))


def _failed(failure: EntryFailure) -> Json:
    return entry_failure(failure.id, failure.error, failure.sender_fault)


async def send_batch(call: Call) -> Answer:
    items = call.body.entries("entries")
    call.body.done()
    entries = []
    for item in items:
        entry_id = item.required_string("id")
        entries.append(_send_entry(item, entry_id))
    queue = await call.queue()
    results = await call.service.send_message_batch(call.caller, queue, entries)
    by_id = {e.id: e for e in entries}
    successful = [
        {"id": r.id, **_sent(by_id[r.id], r)} for r in results if isinstance(r, SentMessage)
    ]
    failed = [_failed(r) for r in results if isinstance(r, EntryFailure)]
    return 200, {"successful": successful, "failed": failed}


async def receive_messages(call: Call) -> Answer:
    body = call.body
    request = ReceiveRequest(
        max_messages=body.integer("max_messages") or 1,
        visibility_timeout=body.integer("visibility_timeout"),
        wait_seconds=body.integer("wait_seconds"),
        attribute_names=tuple(body.string_list("attribute_names") or ["All"]),
        system_attribute_names=tuple(body.string_list("system_attribute_names") or ["All"]),
        receive_request_attempt_id=body.string("receive_request_attempt_id"),
    )
    body.done()
    queue = await call.queue()
    messages = await call.service.receive_messages(call.caller, queue, request)
    return 200, {"messages": [received_json(m) for m in messages]}


async def delete_message(call: Call) -> Answer:
    handle = check_text("receipt_handle", call.path["receipt_handle"])
    await call.service.delete_message(call.caller, await call.queue(), handle)
    return 204, None


async def delete_batch(call: Call) -> Answer:
    items = call.body.entries("entries")
    call.body.done()
    entries = []
    for item in items:
        entries.append(
            HandleEntry(item.required_string("receipt_handle"), item.required_string("id"))
        )
        item.done()
    results = await call.service.delete_message_batch(call.caller, await call.queue(), entries)
    return 200, _handle_results(results)


def _handle_results(results: list[str | EntryFailure]) -> Json:
    return {
        "successful": [{"id": r} for r in results if isinstance(r, str)],
        "failed": [_failed(r) for r in results if isinstance(r, EntryFailure)],
    }


async def change_visibility(call: Call) -> Answer:
    handle = check_text("receipt_handle", call.path["receipt_handle"])
    timeout = call.body.required_integer("visibility_timeout")
    call.body.done()
    queue = await call.queue()
    await call.service.change_message_visibility(call.caller, queue, handle, timeout)
    return 204, None


async def change_visibility_batch(call: Call) -> Answer:
    items = call.body.entries("entries")
    call.body.done()
    entries = []
    for item in items:
        entries.append(
            HandleEntry(
                item.required_string("receipt_handle"),
                item.required_string("id"),
                item.required_integer("visibility_timeout"),
            )
        )
        item.done()
    queue = await call.queue()
    results = await call.service.change_message_visibility_batch(call.caller, queue, entries)
    return 200, _handle_results(results)


async def start_redrive(call: Call) -> Answer:
    destination_name = call.body.string("destination")
    rate = call.body.integer("max_per_second")
    call.body.done()
    source = await call.queue()
    destination = None
    if destination_name:
        if "\x00" in destination_name:
            raise QueueNotFound()
        destination = (await call.service.get_queue(call.caller, destination_name)).arn
    handle = await call.service.start_message_move_task(call.caller, source.arn, destination, rate)
    return 202, {"task_handle": handle}


async def list_redrives(call: Call) -> Answer:
    queue = await call.queue()
    tasks = await call.service.list_message_move_tasks(
        call.caller, queue.arn, call.query_int("limit")
    )
    return 200, {"tasks": [move_task_json(t) for t in tasks]}


async def cancel_redrive(call: Call) -> Answer:
    handle = call.body.required_string("task_handle")
    call.body.done()
    await call.queue()
    moved = await call.service.cancel_message_move_task(call.caller, handle)
    return 200, {"moved": moved}


# --- the table -----------------------------------------------------------------------------------

Q = "/v1/queues/{queue}"
M = Q + "/messages"
_PAGE = (
    ("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, "Page size."),
    ("next_token", STR, "From the previous page."),
)
_ENTRY_ID = {"type": "string", "description": "Unique in the batch: 1-80 of [A-Za-z0-9_-]."}

QUEUE_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "listQueues",
        "GET",
        "/v1/queues",
        "List queues",
        list_queues,
        query=(("prefix", STR, "Only names starting with this."), *_PAGE),
        response=_object(
            {
                "queues": {"type": "array", "items": QUEUE_SUMMARY},
                "next_token": {"type": ["string", "null"]},
            }
        ),
        errors=(400, 401),
    ),
    Operation(
        "createQueue",
        "POST",
        "/v1/queues",
        "Create a queue (idempotent)",
        create_queue,
        status=201,
        request=_object(
            {
                "name": {
                    "type": "string",
                    "description": "1-80 of [A-Za-z0-9_-]; `.fifo` for FIFO.",
                },
                "fifo": {"type": "boolean"},
                "attributes": {**STRING_MAP, "description": "SQS attribute names and values."},
                "tags": STRING_MAP,
            },
            ("name",),
        ),
        response=QUEUE,
        errors=(400, 401, 409),
    ),
    Operation(
        "getQueue",
        "GET",
        Q,
        "A queue with all its attributes and tags",
        get_queue,
        response=QUEUE,
    ),
    Operation("deleteQueue", "DELETE", Q, "Delete a queue", delete_queue, status=204),
    Operation(
        "getQueueAttributes",
        "GET",
        Q + "/attributes",
        "Queue attributes",
        get_attributes,
        query=(("name", STR, "Attribute name (repeatable); all when absent."),),
        response=_object({"attributes": STRING_MAP}),
    ),
    Operation(
        "setQueueAttributes",
        "PATCH",
        Q + "/attributes",
        "Set queue attributes",
        set_attributes,
        status=204,
        request=_object({"attributes": STRING_MAP}, ("attributes",)),
    ),
    Operation(
        "getQueueTags",
        "GET",
        Q + "/tags",
        "Queue tags",
        get_tags,
        response=_object({"tags": STRING_MAP}),
    ),
    Operation(
        "tagQueue",
        "PATCH",
        Q + "/tags",
        "Add or replace tags",
        tag_queue,
        status=204,
        request=_object({"tags": STRING_MAP}, ("tags",)),
    ),
    Operation(
        "untagQueue",
        "DELETE",
        Q + "/tags",
        "Remove tags",
        untag_queue,
        status=204,
        query=(("key", STR, "Tag key to remove (repeatable)."),),
    ),
    Operation(
        "purgeQueue",
        "POST",
        Q + "/purge",
        "Delete every message",
        purge_queue,
        status=204,
        errors=(400, 401, 404, 409),
    ),
    Operation(
        "listDeadLetterSourceQueues",
        "GET",
        Q + "/dead-letter-sources",
        "Queues whose dead-letter queue this is",
        dead_letter_sources,
        query=_PAGE,
        response=_object(
            {
                "queues": {"type": "array", "items": QUEUE_SUMMARY},
                "next_token": {"type": ["string", "null"]},
            }
        ),
    ),
    Operation(
        "sendMessage",
        "POST",
        M,
        "Send a message",
        send_message,
        tag="messages",
        status=201,
        request=_object(SEND_MEMBERS, ("body",)),
        response=SENT,
    ),
    Operation(
        "sendMessageBatch",
        "POST",
        M + "/batch",
        "Send up to 10 messages",
        send_batch,
        tag="messages",
        request=_entries(_object({"id": _ENTRY_ID, **SEND_MEMBERS}, ("id", "body"))),
        response=_batch_result({**SENT, "properties": {"id": STR, **SENT["properties"]}}),
    ),
    Operation(
        "receiveMessages",
        "POST",
        M + "/receive",
        "Receive (long-poll) up to 10 messages",
        receive_messages,
        tag="messages",
        request=_object(
            {
                "max_messages": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                "wait_seconds": {"type": "integer", "minimum": 0, "maximum": 20},
                "visibility_timeout": {"type": "integer", "minimum": 0, "maximum": 43200},
                "attribute_names": {
                    "type": "array",
                    "items": STR,
                    "description": "Default all (`All`).",
                },
                "system_attribute_names": {
                    "type": "array",
                    "items": STR,
                    "description": "Default all (`All`).",
                },
                "receive_request_attempt_id": STR,
            }
        ),
        response=_object({"messages": {"type": "array", "items": MESSAGE}}),
        description="Waits up to `wait_seconds` (default: the queue's "
        'ReceiveMessageWaitTimeSeconds) for a message; answers `{"messages": []}` after that.',
    ),
    Operation(
        "deleteMessage",
        "DELETE",
        M + "/{receipt_handle}",
        "Delete a received message",
        delete_message,
        tag="messages",
        status=204,
    ),
    Operation(
        "deleteMessageBatch",
        "POST",
        M + "/delete-batch",
        "Delete up to 10 messages",
        delete_batch,
        tag="messages",
        request=_entries(
            _object({"id": _ENTRY_ID, "receipt_handle": STR}, ("id", "receipt_handle"))
        ),
        response=_batch_result(_object({"id": STR})),
    ),
    Operation(
        "changeMessageVisibility",
        "PUT",
        M + "/{receipt_handle}/visibility",
        "Change a received message's visibility timeout",
        change_visibility,
        tag="messages",
        status=204,
        request=_object(
            {"visibility_timeout": {"type": "integer", "minimum": 0, "maximum": 43200}},
            ("visibility_timeout",),
        ),
    ),
    Operation(
        "changeMessageVisibilityBatch",
        "POST",
        M + "/visibility-batch",
        "Change the visibility timeout of up to 10 messages",
        change_visibility_batch,
        tag="messages",
        request=_entries(
            _object(
                {
                    "id": _ENTRY_ID,
                    "receipt_handle": STR,
                    "visibility_timeout": {"type": "integer", "minimum": 0, "maximum": 43200},
                },
                ("id", "receipt_handle", "visibility_timeout"),
            )
        ),
        response=_batch_result(_object({"id": STR})),
    ),
    Operation(
        "startRedrive",
        "POST",
        Q + "/redrive",
        "Move this dead-letter queue's messages back (to their sources or `destination`)",
        start_redrive,
        tag="redrive",
        status=202,
        request=_object(
            {
                "destination": {
                    "type": "string",
                    "description": "Queue name; default the sources.",
                },
                "max_per_second": {"type": "integer", "minimum": 1, "maximum": 500},
            }
        ),
        response=_object({"task_handle": STR}),
        errors=(400, 401, 404),
    ),
    Operation(
        "listRedrives",
        "GET",
        Q + "/redrive",
        "Recent move tasks of this queue",
        list_redrives,
        tag="redrive",
        query=(("limit", {"type": "integer", "minimum": 1, "maximum": 10}, "Default 1."),),
        response=_object({"tasks": {"type": "array", "items": MOVE_TASK}}),
    ),
    Operation(
        "cancelRedrive",
        "POST",
        Q + "/redrive/cancel",
        "Cancel a running move task",
        cancel_redrive,
        tag="redrive",
        request=_object({"task_handle": STR}, ("task_handle",)),
        response=_object({"moved": INT}),
    ),
)

SCHEMAS: Json = {"MessageAttribute": ATTRIBUTE, "MessageAttributes": ATTRIBUTES}
