"""BrokerService: the semantics of queues, in one place, for every adapter.

Adapters hand it typed requests; it validates them against AWS's rules, calls the store, wakes
waiting receivers and shapes the answers. It holds no transaction across an await that waits for
a client: a long poll sleeps on the in-process wake-up hub, not on a database connection.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from broker.core import access, access_policies, message_rules, queue_attributes
from broker.core.identifiers import random_uuid
from broker.core.models import (
    Caller,
    EntryFailure,
    HandleEntry,
    MessageAttributes,
    MoveTask,
    Queue,
    ReceivedMessage,
    ReceiveRequest,
    SendEntry,
    SentMessage,
    queue_arn,
)
from broker.core.ports import (
    LeasedMessage,
    LeaseParams,
    NewMessage,
    NullObserver,
    Observer,
    Signal,
    Store,
    Stored,
    VisibilityChange,
)
from broker.core.receipts import Receipt, ReceiptCodec
from broker.core.wakeups import WakeupHub
from broker.errors import (
    BrokerError,
    InvalidAttributeName,
    InvalidAttributeValue,
    InvalidParameterValue,
    InvalidPolicyDocument,
    MessageNotInflight,
    MissingParameter,
    PurgeQueueInProgress,
    QueueAlreadyExists,
    QueueDeletedRecently,
    QueueNotFound,
    ReceiptHandleIsInvalid,
    ResourceNotFound,
    Throttled,
    Unavailable,
    UnsupportedOperation,
)

MAX_VISIBILITY_TIMEOUT = 43_200
MAX_WAIT_SECONDS = 20
MAX_TAGS = 50
SYSTEM_ATTRIBUTES = (
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
)


@dataclass(frozen=True)
class ServiceLimits:
    region: str = "us-east-1"
    max_message_bytes: int = 1_048_576
    queue_cache_seconds: float = 1.0
    poll_interval_seconds: float = 1.0
    delete_recreate_cooldown_seconds: int = 60
    purge_cooldown_seconds: int = 60
    max_long_polls: int = 1000
    """Receives parked at once in this process; one more that would park is throttled."""


class BrokerService:
    def __init__(
        self,
        store: Store,
        signal: Signal,
        hub: WakeupHub,
        limits: ServiceLimits,
        observer: Observer | None = None,
    ) -> None:
        self._store = store
        self._signal = signal
        self._hub = hub
        self.limits = limits
        self.observer: Observer = observer or NullObserver()
        self._cache: dict[tuple[str, str], tuple[float, Queue]] = {}
        self._codec: ReceiptCodec | None = None
        self._closing = False

    def use_receipt_secret(self, secret: bytes) -> None:
        """Set the key of receipt handles: shared by every process, so it comes from the store."""
        self._codec = ReceiptCodec(secret)

    def begin_shutdown(self) -> None:
        """Waiting receives answer now (with what they have, often nothing) instead of sleeping
        out their wait, so a draining process stops within moments."""
        self._closing = True
        self._hub.wake_all()

    @property
    def _receipts(self) -> ReceiptCodec:
        if self._codec is None:
            raise Unavailable("The broker is starting; retry the request.")
        return self._codec

    # -- queues ---------------------------------------------------------------------------------

    async def create_queue(
        self, caller: Caller, name: str, attributes: Mapping[str, str], tags: Mapping[str, str]
    ) -> Queue:
        fifo = attributes.get("FifoQueue", "false").lower() == "true"
        queue_attributes.validate_queue_name(name, fifo)
        given = queue_attributes.normalize(
            attributes, fifo=fifo, creating=True, max_message_bytes=self.limits.max_message_bytes
        )
        arn = queue_arn(self.limits.region, caller.account_id, name)
        await self._check_redrive(caller, given, fifo, arn)
        _check_policy(given)
        _check_tags(tags, existing=0)
        full = queue_attributes.with_defaults(given, fifo=fifo)
        cooldown = self.limits.delete_recreate_cooldown_seconds
        for _ in range(3):
            if cooldown and await self._store.recently_deleted(caller.account_id, name, cooldown):
                raise QueueDeletedRecently(
                    f"You must wait {cooldown} seconds after deleting a queue before you can "
                    "create another with the same name."
                )
            created = await self._store.create_queue(
                caller.account_id, name, self.limits.region, arn, fifo, full, tags
            )
            if created is not None:
                return self._remember(created)
            existing = await self._store.get_queue(caller.account_id, name)
            if existing is None:
                continue  # deleted between our insert and our read: try again
            for key, value in given.items():
                if key != "FifoQueue" and existing.attributes.get(key) != value:
                    raise QueueAlreadyExists(
                        "A queue already exists with the same name and a different value for "
                        f"attribute {key}"
                    )
            if fifo != existing.fifo:
                raise QueueAlreadyExists(
                    "A queue already exists with the same name and a different value for "
                    "attribute FifoQueue"
                )
            return self._remember(existing)
        raise QueueAlreadyExists(f"The queue {name} is being deleted and re-created concurrently.")

    async def get_queue(
        self,
        caller: Caller,
        name: str,
        owner_account_id: str | None = None,
        action: str | None = None,
    ) -> Queue:
        """The queue ``name`` of ``owner_account_id`` (default: the caller's account).

        ``action`` (``sqs:SendMessage``...) is what the caller is about to do: another
        account's queue, or any queue for a key with a policy, needs the queue's ``Policy`` and
        the key's policy to allow it (``AccessDenied``). Without an action only the caller's own
        account is reachable.
        """
        account = owner_account_id or caller.account_id
        if account != caller.account_id and action is None:
            raise QueueNotFound()
        key = (account, name)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            queue = cached[1]
        else:
            found = await self._store.get_queue(account, name)
            if found is None:
                self._cache.pop(key, None)
                raise QueueNotFound()
            queue = self._remember(found)
        if action is not None:
            access.authorize(
                caller, action, queue.arn, queue.account_id, queue.attributes.get("Policy")
            )
        return queue

    async def list_queues(
        self, caller: Caller, prefix: str | None, max_results: int | None, next_token: str | None
    ) -> tuple[list[Queue], str | None]:
        limit = _page_size(max_results)
        after = _decode_token(next_token) if next_token else ""
        queues = await self._store.list_queues(caller.account_id, prefix or "", after, limit + 1)
        return _page(queues, limit, max_results)

    async def delete_queue(self, caller: Caller, queue: Queue) -> None:
        await self._store.delete_queue(queue.id)
        self._forget(queue)

    async def get_queue_attributes(
        self, caller: Caller, queue: Queue, names: Sequence[str]
    ) -> dict[str, str]:
        wanted = set(names)
        if "All" in wanted:
            wanted = set(queue_attributes.READABLE)
        unknown = wanted - queue_attributes.READABLE
        if unknown:
            raise InvalidAttributeName(f"Unknown Attribute {sorted(unknown)[0]}.")
        queue = await self._fresh(queue)
        out = {k: v for k, v in queue.attributes.items() if k in wanted}
        if wanted & {
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        }:
            counts = await self._store.count_messages(queue.id)
            computed = {
                "ApproximateNumberOfMessages": counts.visible,
                "ApproximateNumberOfMessagesNotVisible": counts.in_flight,
                "ApproximateNumberOfMessagesDelayed": counts.delayed,
            }
            out.update({k: str(v) for k, v in computed.items() if k in wanted})
        if "CreatedTimestamp" in wanted:
            out["CreatedTimestamp"] = str(int(queue.created_at.timestamp()))
        if "LastModifiedTimestamp" in wanted:
            out["LastModifiedTimestamp"] = str(int(queue.modified_at.timestamp()))
        if "QueueArn" in wanted:
            out["QueueArn"] = queue.arn
        return out

    async def set_queue_attributes(
        self, caller: Caller, queue: Queue, attributes: Mapping[str, str]
    ) -> None:
        if not attributes:
            raise MissingParameter("The request must contain the parameter Attribute.Name.")
        given = queue_attributes.normalize(
            attributes,
            fifo=queue.fifo,
            creating=False,
            max_message_bytes=self.limits.max_message_bytes,
        )
        await self._check_redrive(caller, given, queue.fifo, queue.arn)
        _check_policy(given)
        unset = [
            k
            for k, v in given.items()
            if v == "" and k in {"RedrivePolicy", "RedriveAllowPolicy", "Policy", "KmsMasterKeyId"}
        ]
        set_ = {k: v for k, v in given.items() if k not in unset}
        updated = await self._store.update_queue_attributes(queue.id, set_, unset)
        if updated is None:
            self._forget(queue)
            raise QueueNotFound()
        self._remember(updated)

    async def add_permission(
        self,
        caller: Caller,
        queue: Queue,
        label: str,
        account_ids: Sequence[str],
        actions: Sequence[str],
    ) -> None:
        """AddPermission: a statement ``label`` in the queue's ``Policy`` sharing ``actions``."""

        def added(current: str | None) -> str:
            return access_policies.sqs_add_permission(
                current, queue_arn=queue.arn, label=label, account_ids=account_ids, actions=actions
            )

        await self._updated(queue, await self._store.change_queue_policy(queue.id, added))

    async def remove_permission(self, caller: Caller, queue: Queue, label: str) -> None:
        def removed(current: str | None) -> str | None:
            return access_policies.sqs_remove_permission(current, label=label)

        await self._updated(queue, await self._store.change_queue_policy(queue.id, removed))

    async def tag_queue(self, caller: Caller, queue: Queue, tags: Mapping[str, str]) -> None:
        if not tags:
            raise MissingParameter("The request must contain the parameter Tags.")
        current = await self._fresh(queue)
        _check_tags(tags, existing=len(set(current.tags) - set(tags)))
        await self._updated(queue, await self._store.tag_queue(queue.id, tags))

    async def untag_queue(self, caller: Caller, queue: Queue, keys: Sequence[str]) -> None:
        if not keys:
            raise MissingParameter("The request must contain the parameter TagKeys.")
        await self._updated(queue, await self._store.untag_queue(queue.id, keys))

    async def list_queue_tags(self, caller: Caller, queue: Queue) -> dict[str, str]:
        return dict((await self._fresh(queue)).tags)

    async def purge_queue(self, caller: Caller, queue: Queue) -> None:
        if not await self._store.purge_queue(queue.id, self.limits.purge_cooldown_seconds):
            raise PurgeQueueInProgress(
                f"Only one PurgeQueue operation on {queue.name} is allowed every "
                f"{self.limits.purge_cooldown_seconds} seconds."
            )

    async def list_dead_letter_source_queues(
        self, caller: Caller, queue: Queue, max_results: int | None, next_token: str | None
    ) -> tuple[list[Queue], str | None]:
        limit = _page_size(max_results)
        after = _decode_token(next_token) if next_token else ""
        queues = await self._store.list_dead_letter_sources(
            caller.account_id, queue.arn, after, limit + 1
        )
        return _page(queues, limit, max_results)

    # -- messages -------------------------------------------------------------------------------

    async def send_message(self, caller: Caller, queue: Queue, entry: SendEntry) -> SentMessage:
        message_rules.check_send(queue, entry, self.limits.max_message_bytes)
        [result] = await self._send(caller, queue, [entry])
        return result

    async def send_message_batch(
        self, caller: Caller, queue: Queue, entries: Sequence[SendEntry]
    ) -> list[SentMessage | EntryFailure]:
        message_rules.check_batch_ids([e.id for e in entries])
        message_rules.check_batch_size(entries)
        valid: list[SendEntry] = []
        results: dict[str, SentMessage | EntryFailure] = {}
        for entry in entries:
            try:
                message_rules.check_send(queue, entry, self.limits.max_message_bytes)
            except BrokerError as exc:
                results[entry.id] = EntryFailure(entry.id, exc)
            else:
                valid.append(entry)
        if valid:
            for sent in await self._send(caller, queue, valid):
                results[sent.id] = sent
        return [results[e.id] for e in entries]

    async def _send(
        self, caller: Caller, queue: Queue, entries: Sequence[SendEntry]
    ) -> list[SentMessage]:
        new = [self._new_message(queue, e) for e in entries]
        if queue.fifo:
            # A batch may repeat a deduplication id: later entries answer with the first's id.
            first: dict[tuple[str, str | None], int] = {}
            unique: list[NewMessage] = []
            position: list[int] = []
            for message in new:
                key = (message.deduplication_scope, message.deduplication_id)
                if key not in first:
                    first[key] = len(unique)
                    unique.append(message)
                position.append(first[key])
            stored_unique = await self._store_messages(
                queue, unique, caller.access_key_id or caller.account_id
            )
            stored = [stored_unique[i] for i in position]
        else:
            stored = await self._store_messages(
                queue, new, caller.access_key_id or caller.account_id
            )
        self._signal.sent(queue.id, len(entries))
        self.observer.messages_sent(queue, len(entries))
        return [
            SentMessage(
                id=entry.id,
                message_id=result.message_id,
                sequence_number=f"{result.sequence:020d}" if queue.fifo else None,
            )
            for entry, result in zip(entries, stored, strict=True)
        ]

    async def _store_messages(
        self, queue: Queue, messages: Sequence[NewMessage], sender_id: str
    ) -> list[Stored]:
        try:
            return await self._store.send_messages(queue, messages, sender_id)
        except QueueNotFound:
            self._forget(queue)  # deleted through another process since we cached it
            raise

    def _new_message(self, queue: Queue, entry: SendEntry) -> NewMessage:
        trace = entry.system_attributes.get("AWSTraceHeader")
        dedup = entry.deduplication_id
        scope = ""
        if queue.fifo:
            if dedup is None:
                dedup = hashlib.sha256(entry.body.encode()).hexdigest()
            if queue.settings.deduplication_scope == "messageGroup":
                scope = entry.group_id or ""
        delay = entry.delay_seconds
        return NewMessage(
            message_id=random_uuid(),
            body=entry.body,
            attributes=entry.attributes,
            trace_header=trace.string_value if trace is not None else None,
            delay_seconds=queue.settings.delay_seconds if delay is None else delay,
            group_id=entry.group_id,
            deduplication_id=dedup,
            deduplication_scope=scope,
        )

    async def receive_messages(
        self, caller: Caller, queue: Queue, request: ReceiveRequest
    ) -> list[ReceivedMessage]:
        if not 1 <= request.max_messages <= 10:
            raise InvalidParameterValue(
                f"Value {request.max_messages} for parameter MaxNumberOfMessages is invalid. "
                "Reason: Must be between 1 and 10, if provided."
            )
        wait = queue.settings.receive_message_wait_time_seconds
        if request.wait_seconds is not None:
            wait = request.wait_seconds
        if not 0 <= wait <= MAX_WAIT_SECONDS:
            raise InvalidParameterValue(
                f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 "
                f"and <= {MAX_WAIT_SECONDS}, if provided."
            )
        visibility = queue.settings.visibility_timeout
        if request.visibility_timeout is not None:
            visibility = request.visibility_timeout
        if not 0 <= visibility <= MAX_VISIBILITY_TIMEOUT:
            raise InvalidParameterValue(
                f"Value {visibility} for parameter VisibilityTimeout is invalid. Reason: Must "
                f"be >= 0 and <= {MAX_VISIBILITY_TIMEOUT}, if provided."
            )
        redrive = queue.settings.redrive_policy
        dlq = await self._queue_by_arn(redrive.dead_letter_target_arn) if redrive else None
        params = LeaseParams(
            queue=queue,
            limit=request.max_messages,
            visibility_timeout=visibility,
            max_receives=redrive.max_receive_count if redrive and dlq else 0,
            dead_letter_queue=dlq,
            attempt_id=request.receive_request_attempt_id if queue.fifo else None,
        )
        leased = await self._lease(params, wait)
        if leased:
            self.observer.messages_received(queue, len(leased))
        else:
            self.observer.receive_empty(queue)
        return [self._received(queue, m, request) for m in leased]

    async def _lease(self, params: LeaseParams, wait: float) -> list[LeasedMessage]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        queue_id = params.queue.id
        parked = False  # only a receive about to park for the first time can be refused
        with self._hub.waiter(queue_id) as waiter:
            while True:
                waiter.clear()
                lease = await self._store.lease_messages(params)
                if lease.dead_lettered and params.dead_letter_queue is not None:
                    self.observer.messages_dead_lettered(params.queue, lease.dead_lettered)
                    self._signal.sent(params.dead_letter_queue.id, lease.dead_lettered)
                if lease.messages:
                    if len(lease.messages) == params.limit:
                        self._hub.wake(queue_id)  # there may be more: pass the baton
                    return lease.messages
                if lease.dead_lettered:
                    continue  # progress was made; what is left may be deliverable
                remaining = deadline - loop.time()
                if remaining <= 0 or self._closing:
                    return []
                if not parked and self._hub.waiting > self.limits.max_long_polls:
                    # Shed load: every parked receive holds a connection and polls the database
                    # now and then. The SDKs retry RequestThrottled with a backoff.
                    raise Throttled(
                        "Too many receives are waiting for messages on this server; retry the "
                        "request."
                    )
                parked = True
                pause = min(remaining, self.limits.poll_interval_seconds)
                next_in = await self._store.seconds_until_visible(queue_id)
                if next_in is not None and next_in > 0:
                    pause = min(pause, next_in + 0.001)
                await waiter.wait(pause)

    def _received(
        self, queue: Queue, message: LeasedMessage, request: ReceiveRequest
    ) -> ReceivedMessage:
        handle = self._receipts.encode(Receipt(queue.id, message.row, message.receipt_token))
        return ReceivedMessage(
            message_id=message.message_id,
            receipt_handle=handle,
            body=message.body,
            attributes=select_attributes(message.attributes, request.attribute_names),
            system_attributes=self._system_attributes(
                queue, message, request.system_attribute_names
            ),
        )

    def _system_attributes(
        self, queue: Queue, message: LeasedMessage, names: Sequence[str]
    ) -> dict[str, str]:
        wanted = set(SYSTEM_ATTRIBUTES) if "All" in names else set(names)
        if not wanted:
            return {}
        values: dict[str, str | None] = {
            "SenderId": message.sender_id,
            "SentTimestamp": _epoch_ms(message.sent_at),
            "ApproximateReceiveCount": str(message.receive_count),
            "ApproximateFirstReceiveTimestamp": _epoch_ms(message.first_received_at),
            "SequenceNumber": f"{message.row:020d}" if queue.fifo else None,
            "MessageDeduplicationId": message.deduplication_id if queue.fifo else None,
            "MessageGroupId": message.group_id,
            "AWSTraceHeader": message.trace_header,
            "DeadLetterQueueSourceArn": message.dead_letter_source_arn,
        }
        return {k: v for k, v in values.items() if k in wanted and v is not None}

    async def delete_message(self, caller: Caller, queue: Queue, receipt_handle: str) -> None:
        receipt = self._receipt(queue, receipt_handle)
        deleted = await self._store.delete_messages(
            queue.id, [(receipt.message_row, receipt.token)]
        )
        if deleted:
            self.observer.messages_deleted(queue, len(deleted))
            if queue.fifo:
                self._signal.sent(queue.id, 1)  # the group may now deliver its next message

    async def delete_message_batch(
        self, caller: Caller, queue: Queue, entries: Sequence[HandleEntry]
    ) -> list[str | EntryFailure]:
        message_rules.check_batch_ids([e.id for e in entries])
        results: dict[str, str | EntryFailure] = {}
        receipts: list[tuple[int, int]] = []
        for entry in entries:
            try:
                receipt = self._receipt(queue, entry.receipt_handle)
            except ReceiptHandleIsInvalid as exc:
                results[entry.id] = EntryFailure(entry.id, exc)
            else:
                receipts.append((receipt.message_row, receipt.token))
                results[entry.id] = entry.id
        if receipts:
            deleted = await self._store.delete_messages(queue.id, receipts)
            if deleted:
                self.observer.messages_deleted(queue, len(deleted))
                if queue.fifo:
                    self._signal.sent(queue.id, len(deleted))
        return [results[e.id] for e in entries]

    async def change_message_visibility(
        self, caller: Caller, queue: Queue, receipt_handle: str, visibility_timeout: int
    ) -> None:
        [result] = await self._change_visibility(
            queue, [HandleEntry(receipt_handle, "", visibility_timeout)]
        )
        if isinstance(result, EntryFailure):
            raise result.error

    async def change_message_visibility_batch(
        self, caller: Caller, queue: Queue, entries: Sequence[HandleEntry]
    ) -> list[str | EntryFailure]:
        message_rules.check_batch_ids([e.id for e in entries])
        return await self._change_visibility(queue, entries)

    async def _change_visibility(
        self, queue: Queue, entries: Sequence[HandleEntry]
    ) -> list[str | EntryFailure]:
        results: list[str | EntryFailure | None] = []
        changes: list[tuple[int, VisibilityChange]] = []
        for index, entry in enumerate(entries):
            try:
                if not 0 <= entry.visibility_timeout <= MAX_VISIBILITY_TIMEOUT:
                    raise InvalidParameterValue(
                        f"Value {entry.visibility_timeout} for parameter VisibilityTimeout is "
                        f"invalid. Reason: Must be >= 0 and <= {MAX_VISIBILITY_TIMEOUT}."
                    )
                receipt = self._receipt(queue, entry.receipt_handle)
            except (InvalidParameterValue, ReceiptHandleIsInvalid) as exc:
                results.append(EntryFailure(entry.id, exc))
            else:
                results.append(None)
                changes.append(
                    (
                        index,
                        VisibilityChange(
                            receipt.message_row, receipt.token, entry.visibility_timeout
                        ),
                    )
                )
        if changes:
            outcomes = await self._store.change_visibility(queue.id, [c for _, c in changes])
            woke = False
            for (index, _), outcome in zip(changes, outcomes, strict=True):
                entry = entries[index]
                if outcome in ("changed", "shortened"):
                    results[index] = entry.id
                    woke = woke or outcome == "shortened"
                else:
                    results[index] = EntryFailure(entry.id, _visibility_error(entry, outcome))
            if woke:
                self._signal.sent(queue.id, 1)
        return [r for r in results if r is not None]

    def _receipt(self, queue: Queue, handle: str) -> Receipt:
        if not handle:
            raise MissingParameter("The request must contain the parameter ReceiptHandle.")
        receipt = self._receipts.decode(handle)
        if receipt.queue_id != queue.id:
            raise ReceiptHandleIsInvalid(
                f'The input receipt handle "{handle}" is not a valid receipt handle.'
            )
        return receipt

    # -- message move tasks ---------------------------------------------------------------------

    async def start_message_move_task(
        self,
        caller: Caller,
        source_arn: str,
        destination_arn: str | None,
        max_per_second: int | None,
    ) -> str:
        source = await self._owned_queue_by_arn(caller, source_arn, "SourceArn")
        if destination_arn:
            await self._owned_queue_by_arn(caller, destination_arn, "DestinationArn")
        if max_per_second is not None and not 1 <= max_per_second <= 500:
            raise InvalidParameterValue(
                f"Value {max_per_second} for parameter MaxNumberOfMessagesPerSecond is invalid. "
                "Reason: Must be between 1 and 500."
            )
        sources = await self._store.list_dead_letter_sources(caller.account_id, source_arn, "", 1)
        if not sources:
            raise InvalidParameterValue("Source queue must be configured as a Dead Letter Queue.")
        handle = base64.b64encode(
            json.dumps({"taskId": random_uuid(), "sourceArn": source_arn}).encode()
        ).decode("ascii")
        created = await self._store.create_move_task(
            handle, caller.account_id, source, destination_arn or None, max_per_second
        )
        if not created:
            raise UnsupportedOperation(
                "There is already a task running. Only one active task is allowed for each "
                "source queue arn at a given time."
            )
        return handle

    async def list_message_move_tasks(
        self, caller: Caller, source_arn: str, max_results: int | None
    ) -> list[MoveTask]:
        await self._owned_queue_by_arn(caller, source_arn, "SourceArn")
        limit = 1 if max_results is None else max_results
        if not 1 <= limit <= 10:
            raise InvalidParameterValue(
                f"Value {limit} for parameter MaxResults is invalid. Reason: Must be between 1 "
                "and 10."
            )
        return await self._store.list_move_tasks(caller.account_id, source_arn, limit)

    async def cancel_message_move_task(self, caller: Caller, task_handle: str) -> int:
        task = await self._store.get_move_task(task_handle)
        if task is None or not task.source_arn.split(":")[4:5] == [caller.account_id]:
            raise ResourceNotFound("Task does not exist.")
        moved = await self._store.cancel_move_task(task_handle)
        if moved is None:
            raise UnsupportedOperation(
                f"Task {task_handle} is {task.status.value}; only a RUNNING task can be cancelled."
            )
        return moved

    # -- internals ------------------------------------------------------------------------------

    async def _check_redrive(
        self, caller: Caller, attributes: Mapping[str, str], fifo: bool, source_arn: str
    ) -> None:
        policy = queue_attributes.parse_redrive_policy(attributes.get("RedrivePolicy", ""))
        if policy is None:
            return
        text = attributes["RedrivePolicy"]
        target = await self._queue_by_arn(policy.dead_letter_target_arn)
        if target is None or target.account_id != caller.account_id:
            raise InvalidParameterValue(
                f"Value {text} for parameter RedrivePolicy is invalid. Reason: Dead letter "
                "target does not exist."
            )
        if target.fifo != fifo:
            raise InvalidParameterValue(
                f"Value {text} for parameter RedrivePolicy is invalid. Reason: Dead-letter "
                "queue must be the same type of queue as the source."
            )
        permission, allowed = queue_attributes.parse_redrive_allow_policy(
            target.attributes.get("RedriveAllowPolicy", "")
        )
        if permission == "denyAll" or (permission == "byQueue" and source_arn not in allowed):
            raise InvalidParameterValue(
                f"Value {text} for parameter RedrivePolicy is invalid. Reason: Queue "
                f"{source_arn} is not allowed to use {target.arn} as a dead-letter queue."
            )

    async def _queue_by_arn(self, arn: str) -> Queue | None:
        parts = arn.split(":")
        if len(parts) == 6 and parts[:3] == ["arn", "aws", "sqs"]:
            cached = self._cache.get((parts[4], parts[5]))
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
        queue = await self._store.get_queue_by_arn(arn)
        return self._remember(queue) if queue else None

    async def _owned_queue_by_arn(self, caller: Caller, arn: str, parameter: str) -> Queue:
        queue = await self._queue_by_arn(arn)
        if queue is None or queue.account_id != caller.account_id:
            raise ResourceNotFound(
                f"The resource that you specified for the {parameter} parameter doesn't exist."
            )
        return queue

    async def _fresh(self, queue: Queue) -> Queue:
        current = await self._store.get_queue_by_id(queue.id)
        if current is None:
            self._forget(queue)
            raise QueueNotFound()
        return self._remember(current)

    async def _updated(self, queue: Queue, updated: Queue | None) -> None:
        if updated is None:
            self._forget(queue)
            raise QueueNotFound()
        self._remember(updated)

    def _remember(self, queue: Queue) -> Queue:
        expiry = time.monotonic() + self.limits.queue_cache_seconds
        self._cache[(queue.account_id, queue.name)] = (expiry, queue)
        return queue

    def _forget(self, queue: Queue) -> None:
        self._cache.pop((queue.account_id, queue.name), None)


def select_attributes(attributes: MessageAttributes, names: Sequence[str]) -> MessageAttributes:
    """The attributes a receive asked for: names, ``All``, ``.*`` or ``prefix.*``."""
    if not names or not attributes:
        return {}
    if "All" in names or ".*" in names:
        return dict(attributes)
    prefixes = tuple(n[:-2] for n in names if n.endswith(".*"))
    exact = set(names)
    return {
        k: v for k, v in attributes.items() if k in exact or (prefixes and k.startswith(prefixes))
    }


def _visibility_error(entry: HandleEntry, outcome: str) -> Exception:
    handle = entry.receipt_handle
    if outcome == "not_in_flight":
        return MessageNotInflight(
            "Message does not exist or is not available for visibility timeout change."
        )
    if outcome == "too_long":
        return InvalidParameterValue(
            f"Value {entry.visibility_timeout} for parameter VisibilityTimeout is invalid. "
            f"Reason: Total VisibilityTimeout for the message is beyond the limit "
            f"[{MAX_VISIBILITY_TIMEOUT} seconds]."
        )
    if outcome == "stale":
        return InvalidParameterValue(
            f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle "
            "has expired."
        )
    return InvalidParameterValue(
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not "
        "exist or is not available for visibility timeout change."
    )


def _check_tags(tags: Mapping[str, str], existing: int) -> None:
    if existing + len(tags) > MAX_TAGS:
        raise InvalidParameterValue(
            f"Too many tags added for queue. A queue can have at most {MAX_TAGS} tags."
        )
    for key, value in tags.items():
        if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            raise InvalidParameterValue(
                f"Tag key {key!r} is invalid: 1 to 128 characters, and not starting with aws:."
            )
        if len(value) > 256:
            raise InvalidParameterValue(
                f"Tag value for key {key!r} must be at most 256 characters."
            )


def _page_size(max_results: int | None) -> int:
    if max_results is None:
        return 1000
    if not 1 <= max_results <= 1000:
        raise InvalidParameterValue(
            f"Value {max_results} for parameter MaxResults is invalid. Reason: MaxResults must "
            "be an integer between 1 and 1000."
        )
    return max_results


def _page(
    queues: list[Queue], limit: int, max_results: int | None
) -> tuple[list[Queue], str | None]:
    # AWS hands out NextToken only to callers who asked for a page size.
    if len(queues) > limit and max_results is not None:
        page = queues[:limit]
        token = base64.urlsafe_b64encode(page[-1].name.encode()).decode("ascii")
        return page, token
    return queues[:limit], None


def _decode_token(token: str) -> str:
    try:
        name = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError, UnicodeError):
        name = ""
    if not name:
        raise InvalidParameterValue("Invalid NextToken value.")
    return name


def _epoch_ms(moment: datetime | None) -> str | None:
    return None if moment is None else str(int(moment.timestamp() * 1000))


def new_secret() -> bytes:
    return secrets.token_bytes(32)


def _check_policy(attributes: Mapping[str, str]) -> None:
    policy = attributes.get("Policy")
    if policy:
        try:
            access_policies.parse_policy(policy)
        except InvalidPolicyDocument as exc:
            raise InvalidAttributeValue(
                f"Invalid value for the parameter Policy. Reason: {exc.message}"
            ) from None
