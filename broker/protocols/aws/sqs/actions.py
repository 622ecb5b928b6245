"""The SQS actions: decode parameters, call the service, build the JSON-shaped result.

Every action works for both wire formats: parameters come through ``Params`` and results are
JSON-shaped dicts that ``query_protocol`` can flatten into XML. ``None`` means no output members.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from broker.core.access_policies import sqs_action
from broker.core.models import (
    Caller,
    EntryFailure,
    HandleEntry,
    MessageAttributeValue,
    MoveTask,
    MoveTaskStatus,
    Queue,
    ReceivedMessage,
    ReceiveRequest,
    SendEntry,
    SentMessage,
)
from broker.core.service import BrokerService
from broker.errors import BrokerError
from broker.protocols.aws.json_protocol import JsonObject, JsonValue
from broker.protocols.aws.sqs.faults import entry_error_code
from broker.protocols.aws.sqs.md5 import md5_of_attributes, md5_of_body
from broker.protocols.aws.sqs.params import Params
from broker.protocols.aws.sqs.queue_urls import parse_queue_url, queue_url

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SqsCall:
    """What a handler needs besides its parameters."""

    service: BrokerService
    caller: Caller
    base_url: str
    action: str = ""
    """The operation (``SendMessageBatch``...), authorised as its IAM action on the queue."""

    async def queue(self, params: Params) -> Queue:
        account_id, name = parse_queue_url(params.required_string("QueueUrl"))
        return await self.service.get_queue(
            self.caller, name, owner_account_id=account_id, action=sqs_action(self.action)
        )

    def url(self, queue: Queue) -> str:
        return queue_url(self.base_url, queue)


Handler = Callable[[SqsCall, Params], Awaitable[JsonObject | None]]


def _without_none(result: Mapping[str, JsonValue]) -> JsonObject:
    return {k: v for k, v in result.items() if v is not None}


# --- queues -------------------------------------------------------------------------------


async def create_queue(call: SqsCall, p: Params) -> JsonObject:
    queue = await call.service.create_queue(
        call.caller,
        p.required_string("QueueName"),
        p.string_map("Attributes"),
        p.string_map("tags"),
    )
    return {"QueueUrl": call.url(queue)}


async def get_queue_url(call: SqsCall, p: Params) -> JsonObject:
    queue = await call.service.get_queue(
        call.caller,
        p.required_string("QueueName"),
        owner_account_id=p.string("QueueOwnerAWSAccountId") or None,
        action=sqs_action("GetQueueUrl"),
    )
    return {"QueueUrl": call.url(queue)}


async def list_queues(call: SqsCall, p: Params) -> JsonObject:
    queues, next_token = await call.service.list_queues(
        call.caller, p.string("QueueNamePrefix"), p.integer("MaxResults"), p.string("NextToken")
    )
    # SQS leaves QueueUrls out when nothing matches (SDK users write .get("QueueUrls", [])).
    urls: list[JsonValue] = [call.url(q) for q in queues]
    return _without_none({"QueueUrls": urls or None, "NextToken": next_token})


async def delete_queue(call: SqsCall, p: Params) -> None:
    await call.service.delete_queue(call.caller, await call.queue(p))


async def get_queue_attributes(call: SqsCall, p: Params) -> JsonObject:
    queue = await call.queue(p)
    values = await call.service.get_queue_attributes(
        call.caller, queue, p.string_list("AttributeNames")
    )
    return {"Attributes": dict(values)} if values else {}


async def set_queue_attributes(call: SqsCall, p: Params) -> None:
    queue = await call.queue(p)
    await call.service.set_queue_attributes(call.caller, queue, p.string_map("Attributes"))


async def purge_queue(call: SqsCall, p: Params) -> None:
    await call.service.purge_queue(call.caller, await call.queue(p))


async def tag_queue(call: SqsCall, p: Params) -> None:
    queue = await call.queue(p)
    await call.service.tag_queue(call.caller, queue, p.string_map("Tags"))


async def untag_queue(call: SqsCall, p: Params) -> None:
    queue = await call.queue(p)
    await call.service.untag_queue(call.caller, queue, p.string_list("TagKeys"))


async def list_queue_tags(call: SqsCall, p: Params) -> JsonObject:
    tags = await call.service.list_queue_tags(call.caller, await call.queue(p))
    return {"Tags": dict(tags)} if tags else {}


async def list_dead_letter_source_queues(call: SqsCall, p: Params) -> JsonObject:
    queue = await call.queue(p)
    queues, next_token = await call.service.list_dead_letter_source_queues(
        call.caller, queue, p.integer("MaxResults"), p.string("NextToken")
    )
    # The model names this member in lower camel case and marks it required.
    urls: list[JsonValue] = [call.url(q) for q in queues]
    return _without_none({"queueUrls": urls, "NextToken": next_token})


async def add_permission(call: SqsCall, p: Params) -> None:
    queue = await call.queue(p)
    await call.service.add_permission(
        call.caller,
        queue,
        p.required_string("Label"),
        p.string_list("AWSAccountIds"),
        p.string_list("Actions"),
    )


async def remove_permission(call: SqsCall, p: Params) -> None:
    queue = await call.queue(p)
    await call.service.remove_permission(call.caller, queue, p.required_string("Label"))


# --- messages -----------------------------------------------------------------------------


def _send_entry(p: Params, entry_id: str = "") -> SendEntry:
    return SendEntry(
        body=p.required_string("MessageBody"),
        id=entry_id,
        attributes=p.attribute_map("MessageAttributes"),
        system_attributes=p.attribute_map("MessageSystemAttributes"),
        delay_seconds=p.integer("DelaySeconds"),
        group_id=p.string("MessageGroupId"),
        deduplication_id=p.string("MessageDeduplicationId"),
    )


def _sent(entry: SendEntry, sent: SentMessage) -> JsonObject:
    return _without_none(
        {
            "MessageId": sent.message_id,
            "MD5OfMessageBody": md5_of_body(entry.body),
            "MD5OfMessageAttributes": md5_of_attributes(entry.attributes),
            "MD5OfMessageSystemAttributes": md5_of_attributes(entry.system_attributes),
            "SequenceNumber": sent.sequence_number,
        }
    )


def _failure(failure: EntryFailure) -> JsonObject:
    code, sender = entry_error_code(failure.error)
    if isinstance(failure.error, BrokerError):
        message = failure.error.message
    else:
        # An unexpected failure: log it, and keep its text out of the response.
        logger.error("batch entry %s failed", failure.id, exc_info=failure.error)
        message = "An internal error occurred."
    return {
        "Id": failure.id,
        "SenderFault": failure.sender_fault and sender,
        "Code": code,
        "Message": message,
    }


async def send_message(call: SqsCall, p: Params) -> JsonObject:
    queue = await call.queue(p)
    entry = _send_entry(p)
    return _sent(entry, await call.service.send_message(call.caller, queue, entry))


async def send_message_batch(call: SqsCall, p: Params) -> JsonObject:
    queue = await call.queue(p)
    entries = [
        _send_entry(e, e.required_string("Id"))
        for e in p.entries("Entries", "SendMessageBatchRequestEntry")
    ]
    results = await call.service.send_message_batch(call.caller, queue, entries)
    by_id = {e.id: e for e in entries}
    successful: list[JsonValue] = []
    failed: list[JsonValue] = []
    for result in results:
        if isinstance(result, EntryFailure):
            failed.append(_failure(result))
        else:
            successful.append({"Id": result.id, **_sent(by_id[result.id], result)})
    return {"Successful": successful, "Failed": failed}


def _attribute_value(value: MessageAttributeValue) -> JsonObject:
    encoded: JsonObject = {}
    if value.string_value is not None:
        encoded["StringValue"] = value.string_value
    if value.binary_value is not None:
        encoded["BinaryValue"] = base64.b64encode(value.binary_value).decode("ascii")
    encoded["DataType"] = value.data_type
    return encoded


def _received(message: ReceivedMessage) -> JsonObject:
    encoded: JsonObject = {
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": md5_of_body(message.body),
        "Body": message.body,
    }
    if message.system_attributes:
        encoded["Attributes"] = dict(message.system_attributes)
    if message.attributes:
        # Over the attributes returned, which is what SDK validators hash.
        encoded["MD5OfMessageAttributes"] = md5_of_attributes(message.attributes)
        encoded["MessageAttributes"] = {
            name: _attribute_value(value) for name, value in message.attributes.items()
        }
    return encoded


def _unique(names: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


async def receive_message(call: SqsCall, p: Params) -> JsonObject:
    queue = await call.queue(p)
    max_messages = p.integer("MaxNumberOfMessages")
    request = ReceiveRequest(
        max_messages=1 if max_messages is None else max_messages,
        visibility_timeout=p.integer("VisibilityTimeout"),
        wait_seconds=p.integer("WaitTimeSeconds"),
        attribute_names=_unique(p.string_list("MessageAttributeNames")),
        # AttributeNames is the deprecated MessageSystemAttributeNames; SDKs send either.
        system_attribute_names=_unique(
            [*p.string_list("MessageSystemAttributeNames"), *p.string_list("AttributeNames")]
        ),
        receive_request_attempt_id=p.string("ReceiveRequestAttemptId"),
    )
    messages = await call.service.receive_messages(call.caller, queue, request)
    # With nothing received SQS sends no message list at all.
    return {"Messages": [_received(m) for m in messages]} if messages else {}


async def delete_message(call: SqsCall, p: Params) -> None:
    queue = await call.queue(p)
    await call.service.delete_message(call.caller, queue, p.required_string("ReceiptHandle"))


async def change_message_visibility(call: SqsCall, p: Params) -> None:
    queue = await call.queue(p)
    await call.service.change_message_visibility(
        call.caller,
        queue,
        p.required_string("ReceiptHandle"),
        p.required_integer("VisibilityTimeout"),
    )


def _handle_results(results: Sequence[str | EntryFailure]) -> JsonObject:
    successful: list[JsonValue] = []
    failed: list[JsonValue] = []
    for result in results:
        if isinstance(result, EntryFailure):
            failed.append(_failure(result))
        else:
            successful.append({"Id": result})
    return {"Successful": successful, "Failed": failed}


async def delete_message_batch(call: SqsCall, p: Params) -> JsonObject:
    queue = await call.queue(p)
    entries = [
        HandleEntry(receipt_handle=e.required_string("ReceiptHandle"), id=e.required_string("Id"))
        for e in p.entries("Entries", "DeleteMessageBatchRequestEntry")
    ]
    return _handle_results(await call.service.delete_message_batch(call.caller, queue, entries))


async def change_message_visibility_batch(call: SqsCall, p: Params) -> JsonObject:
    queue = await call.queue(p)
    entries = [
        HandleEntry(
            receipt_handle=e.required_string("ReceiptHandle"),
            id=e.required_string("Id"),
            # Optional in the model; absent means 0 (visible again now), HandleEntry's default.
            visibility_timeout=e.integer("VisibilityTimeout") or 0,
        )
        for e in p.entries("Entries", "ChangeMessageVisibilityBatchRequestEntry")
    ]
    results = await call.service.change_message_visibility_batch(call.caller, queue, entries)
    return _handle_results(results)


# --- message move tasks -------------------------------------------------------------------


async def start_message_move_task(call: SqsCall, p: Params) -> JsonObject:
    handle = await call.service.start_message_move_task(
        call.caller,
        p.required_string("SourceArn"),
        p.string("DestinationArn"),
        p.integer("MaxNumberOfMessagesPerSecond"),
    )
    return {"TaskHandle": handle}


def _move_task(task: MoveTask) -> JsonObject:
    return _without_none(
        {
            # The model returns the handle for running tasks only.
            "TaskHandle": task.handle if task.status is MoveTaskStatus.RUNNING else None,
            "Status": task.status.value,
            "SourceArn": task.source_arn,
            "DestinationArn": task.destination_arn,
            "MaxNumberOfMessagesPerSecond": task.max_per_second,
            "ApproximateNumberOfMessagesMoved": task.moved,
            "ApproximateNumberOfMessagesToMove": task.to_move,
            "FailureReason": task.failure_reason,
            "StartedTimestamp": int(task.started_at.timestamp() * 1000),
        }
    )


async def list_message_move_tasks(call: SqsCall, p: Params) -> JsonObject:
    tasks = await call.service.list_message_move_tasks(
        call.caller, p.required_string("SourceArn"), p.integer("MaxResults")
    )
    return {"Results": [_move_task(t) for t in tasks]}


async def cancel_message_move_task(call: SqsCall, p: Params) -> JsonObject:
    moved = await call.service.cancel_message_move_task(
        call.caller, p.required_string("TaskHandle")
    )
    return {"ApproximateNumberOfMessagesMoved": moved}


ACTIONS: Mapping[str, Handler] = {
    "CreateQueue": create_queue,
    "GetQueueUrl": get_queue_url,
    "ListQueues": list_queues,
    "DeleteQueue": delete_queue,
    "GetQueueAttributes": get_queue_attributes,
    "SetQueueAttributes": set_queue_attributes,
    "PurgeQueue": purge_queue,
    "TagQueue": tag_queue,
    "UntagQueue": untag_queue,
    "ListQueueTags": list_queue_tags,
    "ListDeadLetterSourceQueues": list_dead_letter_source_queues,
    "AddPermission": add_permission,
    "RemovePermission": remove_permission,
    "SendMessage": send_message,
    "SendMessageBatch": send_message_batch,
    "ReceiveMessage": receive_message,
    "DeleteMessage": delete_message,
    "DeleteMessageBatch": delete_message_batch,
    "ChangeMessageVisibility": change_message_visibility,
    "ChangeMessageVisibilityBatch": change_message_visibility_batch,
    "StartMessageMoveTask": start_message_move_task,
    "ListMessageMoveTasks": list_message_move_tasks,
    "CancelMessageMoveTask": cancel_message_move_task,
}
