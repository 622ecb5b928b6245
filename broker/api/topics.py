"""The topic, subscription and publish operations of the REST API, over ``TopicService``.

Declared like the queue operations (one table: routes and OpenAPI document both come from it).
Limits, validation and error codes are the SNS Query routes': a condition answers with the SNS
error name as ``code`` (``NotFound``, ``InvalidParameter``, ``ParameterValueInvalid``...), so a
client sees the same identity whichever protocol it speaks. See docs/rest-api.md.
"""

from __future__ import annotations

import re
from typing import Any

from broker.api.problems import entry_failure, topic_error_identity
from broker.api.queues import (
    ATTRIBUTES,
    STR,
    STRING_MAP,
    Answer,
    Call,
    Handler,
    Json,
    Operation,
    _batch_result,
    _entries,
    _object,
)
from broker.api.wire import Body, check_text, timestamp
from broker.core.models import EntryFailure
from broker.core.topic_errors import topic_not_found
from broker.core.topic_models import SQS_PROTOCOL, Published, PublishEntry, Subscription, Topic
from broker.core.topics import TopicService
from broker.errors import InvalidParameterValue, MissingParameter, TooManyEntriesInBatchRequest

MAX_BATCH_ENTRIES = 10
_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")


# --- helpers -------------------------------------------------------------------------------------


def _topics(call: Call) -> TopicService:
    if call.topics is None:  # the routes exist only with a topic service
        raise AssertionError("topic operation without a TopicService")
    return call.topics


def _arn(call: Call) -> str:
    """The ARN of path parameter ``{topic}``; a name no topic can have is a 404, not a 400."""
    name = call.path["topic"]
    if not _TOPIC_NAME.fullmatch(name.removesuffix(".fifo")):
        raise topic_not_found()
    return f"arn:aws:sns:{_topics(call).limits.region}:{call.caller.account_id}:{name}"


async def _topic(call: Call) -> Topic:
    return await _topics(call).topic(call.caller, _arn(call))


def _subscription_arn(call: Call) -> str:
    return check_text("subscription", call.path["subscription"])


def topic_summary(topic: Topic) -> Json:
    return {"name": topic.name, "arn": topic.arn, "fifo": topic.fifo}


def topic_json(topic: Topic, attributes: dict[str, str], tags: dict[str, str]) -> Json:
    return {
        **topic_summary(topic),
        "created_at": timestamp(topic.created_at),
        "attributes": attributes,
        "tags": tags,
    }


def subscription_json(subscription: Subscription) -> Json:
    return {
        "arn": subscription.arn,
        "topic_arn": subscription.topic_arn,
        "protocol": subscription.protocol,
        "endpoint": subscription.endpoint,
        "pending_confirmation": not subscription.confirmed,
        "attributes": dict(subscription.attributes),
    }


def _subscription_from_attributes(attributes: dict[str, str]) -> Json:
    return {
        "arn": attributes["SubscriptionArn"],
        "topic_arn": attributes["TopicArn"],
        "protocol": attributes["Protocol"],
        "endpoint": attributes["Endpoint"],
        "pending_confirmation": attributes.get("PendingConfirmation") == "true",
        "attributes": attributes,
    }


def _failed(failure: EntryFailure) -> Json:
    return entry_failure(failure.id, failure.error, failure.sender_fault, topic_error_identity)


# --- handlers ------------------------------------------------------------------------------------


async def list_topics(call: Call) -> Answer:
    topics, token = await _topics(call).list_topics(call.caller, call.query_str("next_token"))
    return 200, {"topics": [topic_summary(t) for t in topics], "next_token": token}


async def create_topic(call: Call) -> Answer:
    name = call.body.required_string("name")
    fifo = call.body.boolean("fifo")
    attributes = call.body.string_map("attributes")
    tags = call.body.string_map("tags")
    call.body.done()
    if fifo is not None:
        attributes.setdefault("FifoTopic", "true" if fifo else "false")
    elif name.endswith(".fifo"):
        attributes.setdefault("FifoTopic", "true")
    service = _topics(call)
    topic = await service.create_topic(call.caller, name, attributes, tags)
    current = await service.get_topic_attributes(call.caller, topic.arn)
    return 201, topic_json(topic, current, dict(topic.tags))


async def get_topic(call: Call) -> Answer:
    topic = await _topic(call)
    service = _topics(call)
    attributes = await service.get_topic_attributes(call.caller, topic.arn)
    tags = await service.list_tags(call.caller, topic.arn)
    return 200, topic_json(topic, attributes, tags)


async def delete_topic(call: Call) -> Answer:
    await _topics(call).delete_topic(call.caller, _arn(call))
    return 204, None


async def get_topic_attributes(call: Call) -> Answer:
    names = [check_text("name", n) for n in call.query.getlist("name")]
    attributes = await _topics(call).get_topic_attributes(call.caller, _arn(call))
    if names:
        attributes = {k: v for k, v in attributes.items() if k in names}
    return 200, {"attributes": attributes}


async def set_topic_attributes(call: Call) -> Answer:
    attributes = call.body.string_map("attributes")
    call.body.done()
    arn = _arn(call)
    service = _topics(call)
    await service.topic(call.caller, arn)
    for key, value in attributes.items():
        await service.set_topic_attributes(call.caller, arn, key, value)
    return 204, None


async def get_topic_tags(call: Call) -> Answer:
    return 200, {"tags": await _topics(call).list_tags(call.caller, _arn(call))}


async def tag_topic(call: Call) -> Answer:
    tags = call.body.string_map("tags")
    call.body.done()
    await _topics(call).tag_resource(call.caller, _arn(call), tags)
    return 204, None


async def untag_topic(call: Call) -> Answer:
    keys = [check_text("key", k) for k in call.query.getlist("key")]
    await _topics(call).untag_resource(call.caller, _arn(call), keys)
    return 204, None


async def subscribe(call: Call) -> Answer:
    body = call.body
    protocol = body.string("protocol")
    endpoint = body.string("endpoint")
    queue_name = body.string("queue")
    attributes = body.string_map("attributes")
    body.done()
    if queue_name is not None:
        if protocol not in (None, SQS_PROTOCOL) or endpoint is not None:
            raise InvalidParameterValue(
                "Give either queue, or protocol and endpoint: queue implies protocol sqs."
            )
        protocol = SQS_PROTOCOL
        endpoint = (await call.service.get_queue(call.caller, queue_name)).arn
    if protocol is None:
        raise MissingParameter("The request must contain the parameter protocol (or queue).")
    service = _topics(call)
    arn = await service.subscribe(
        call.caller, _arn(call), protocol, endpoint or "", attributes, True, call.base_url
    )
    current = await service.get_subscription_attributes(call.caller, arn)
    return 201, _subscription_from_attributes(current)


async def list_subscriptions(call: Call) -> Answer:
    found, token = await _topics(call).list_subscriptions(
        call.caller, _arn(call), call.query_str("next_token")
    )
    return 200, {"subscriptions": [subscription_json(s) for s in found], "next_token": token}


async def get_subscription(call: Call) -> Answer:
    attributes = await _topics(call).get_subscription_attributes(
        call.caller, _subscription_arn(call)
    )
    return 200, _subscription_from_attributes(attributes)


async def set_subscription_attributes(call: Call) -> Answer:
    attributes = call.body.string_map("attributes")
    call.body.done()
    arn = _subscription_arn(call)
    service = _topics(call)
    await service.get_subscription_attributes(call.caller, arn)
    for key, value in attributes.items():
        await service.set_subscription_attribute(call.caller, arn, key, value)
    return 204, None


async def unsubscribe(call: Call) -> Answer:
    await _topics(call).unsubscribe(call.caller, _subscription_arn(call), call.base_url)
    return 204, None


def _publish_entry(body: Body, entry_id: str = "") -> PublishEntry:
    entry = PublishEntry(
        message=body.required_string("message"),
        id=entry_id,
        subject=body.string("subject"),
        message_structure=body.string("message_structure"),
        attributes=body.attributes("attributes"),
        group_id=body.string("group_id"),
        deduplication_id=body.string("deduplication_id"),
    )
    body.done()
    return entry


def _published(result: Published) -> Json:
    return {"message_id": result.message_id, "sequence_number": result.sequence_number}


async def publish(call: Call) -> Answer:
    entry = _publish_entry(call.body)
    published = await _topics(call).publish(call.caller, _arn(call), entry, call.base_url)
    return 201, _published(published)


async def publish_batch(call: Call) -> Answer:
    items = call.body.entries("entries")
    call.body.done()
    if len(items) > MAX_BATCH_ENTRIES:
        raise TooManyEntriesInBatchRequest(
            "The batch request contains more entries than permissible."
        )
    entries = [_publish_entry(item, item.required_string("id")) for item in items]
    results = await _topics(call).publish_batch(call.caller, _arn(call), entries, call.base_url)
    successful = [{"id": r.id, **_published(r)} for r in results if isinstance(r, Published)]
    failed = [_failed(r) for r in results if isinstance(r, EntryFailure)]
    return 200, {"successful": successful, "failed": failed}


# --- the table -----------------------------------------------------------------------------------

T = "/v1/topics/{topic}"
S = "/v1/subscriptions/{subscription}"
_NEXT = (("next_token", STR, "From the previous page (100 per page)."),)
NULLABLE_STR: Json = {"type": ["string", "null"]}

TOPIC_SUMMARY: Json = {
    "type": "object",
    "required": ["name", "arn", "fifo"],
    "properties": {"name": STR, "arn": STR, "fifo": {"type": "boolean"}},
}
TOPIC: Json = {
    "type": "object",
    "required": ["name", "arn", "fifo", "created_at", "attributes", "tags"],
    "properties": {
        **TOPIC_SUMMARY["properties"],
        "created_at": {"type": "string", "format": "date-time"},
        "attributes": STRING_MAP,
        "tags": STRING_MAP,
    },
}
SUBSCRIPTION: Json = {
    "type": "object",
    "required": ["arn", "topic_arn", "protocol", "endpoint", "pending_confirmation", "attributes"],
    "properties": {
        "arn": STR,
        "topic_arn": STR,
        "protocol": {"type": "string", "examples": ["sqs", "http", "https"]},
        "endpoint": STR,
        "pending_confirmation": {"type": "boolean"},
        "attributes": {
            **STRING_MAP,
            "description": "SNS names: FilterPolicy, FilterPolicyScope, RawMessageDelivery, "
            "RedrivePolicy, DeliveryPolicy (all of them, defaults included, on a single "
            "subscription; the ones set, in a list).",
        },
    },
}
PUBLISH_MEMBERS: Json = {
    "message": {"type": "string", "description": "Up to 256 KiB (attributes included)."},
    "subject": {"type": "string", "description": "1-100 printable characters."},
    "attributes": ATTRIBUTES,
    "group_id": {"type": "string", "description": "FIFO topics: required."},
    "deduplication_id": {
        "type": "string",
        "description": "FIFO topics without ContentBasedDeduplication: required.",
    },
    "message_structure": {
        "enum": ["json"],
        "description": "`json`: `message` is an object of per-protocol messages with a `default`.",
    },
}
PUBLISHED: Json = {
    "type": "object",
    "required": ["message_id"],
    "properties": {"message_id": STR, "sequence_number": NULLABLE_STR},
}
_ENTRY_ID = {"type": "string", "description": "Unique in the batch: 1-80 of [A-Za-z0-9_-]."}


def _page(key: str, item: Json) -> Json:
    return _object({key: {"type": "array", "items": item}, "next_token": NULLABLE_STR})


def _op(id: str, method: str, path: str, summary: str, handler: Handler, **kw: Any) -> Operation:
    return Operation(id, method, path, summary, handler, identity=topic_error_identity, **kw)


TOPIC_OPERATIONS: tuple[Operation, ...] = (
    _op(
        "listTopics",
        "GET",
        "/v1/topics",
        "List topics",
        list_topics,
        tag="topics",
        query=_NEXT,
        response=_page("topics", TOPIC_SUMMARY),
        errors=(400, 401),
    ),
    _op(
        "createTopic",
        "POST",
        "/v1/topics",
        "Create a topic (idempotent)",
        create_topic,
        tag="topics",
        status=201,
        request=_object(
            {
                "name": {
                    "type": "string",
                    "description": "1-256 of [A-Za-z0-9_-]; `.fifo` for FIFO.",
                },
                "fifo": {"type": "boolean", "description": "Default: the `.fifo` suffix."},
                "attributes": {**STRING_MAP, "description": "SNS attribute names and values."},
                "tags": STRING_MAP,
            },
            ("name",),
        ),
        response=TOPIC,
        errors=(400, 401),
    ),
    _op(
        "getTopic",
        "GET",
        T,
        "A topic with all its attributes and tags",
        get_topic,
        tag="topics",
        response=TOPIC,
    ),
    _op(
        "deleteTopic",
        "DELETE",
        T,
        "Delete a topic and its subscriptions (idempotent)",
        delete_topic,
        tag="topics",
        status=204,
    ),
    _op(
        "getTopicAttributes",
        "GET",
        T + "/attributes",
        "Topic attributes",
        get_topic_attributes,
        tag="topics",
        query=(("name", STR, "Attribute name (repeatable); all when absent."),),
        response=_object({"attributes": STRING_MAP}),
    ),
    _op(
        "setTopicAttributes",
        "PATCH",
        T + "/attributes",
        "Set topic attributes (an empty value unsets)",
        set_topic_attributes,
        tag="topics",
        status=204,
        request=_object({"attributes": STRING_MAP}, ("attributes",)),
    ),
    _op(
        "getTopicTags",
        "GET",
        T + "/tags",
        "Topic tags",
        get_topic_tags,
        tag="topics",
        response=_object({"tags": STRING_MAP}),
    ),
    _op(
        "tagTopic",
        "PATCH",
        T + "/tags",
        "Add or replace topic tags",
        tag_topic,
        tag="topics",
        status=204,
        request=_object({"tags": STRING_MAP}, ("tags",)),
    ),
    _op(
        "untagTopic",
        "DELETE",
        T + "/tags",
        "Remove topic tags",
        untag_topic,
        tag="topics",
        status=204,
        query=(("key", STR, "Tag key to remove (repeatable)."),),
    ),
    _op(
        "subscribe",
        "POST",
        T + "/subscriptions",
        "Subscribe a queue or an HTTP/S endpoint",
        subscribe,
        tag="subscriptions",
        status=201,
        request=_object(
            {
                "protocol": {"enum": ["sqs", "http", "https"]},
                "endpoint": {"type": "string", "description": "A queue ARN, or a URL."},
                "queue": {
                    "type": "string",
                    "description": "A queue name: instead of protocol `sqs` and its ARN.",
                },
                "attributes": {
                    **STRING_MAP,
                    "description": "FilterPolicy (JSON text), FilterPolicyScope, "
                    "RawMessageDelivery, RedrivePolicy, DeliveryPolicy.",
                },
            }
        ),
        response=SUBSCRIPTION,
        description="HTTP/S subscriptions start pending: the endpoint is sent a "
        "SubscriptionConfirmation to confirm, as with SNS.",
    ),
    _op(
        "listSubscriptions",
        "GET",
        T + "/subscriptions",
        "The topic's subscriptions",
        list_subscriptions,
        tag="subscriptions",
        query=_NEXT,
        response=_page("subscriptions", SUBSCRIPTION),
    ),
    _op(
        "getSubscription",
        "GET",
        S,
        "A subscription with all its attributes",
        get_subscription,
        tag="subscriptions",
        response=SUBSCRIPTION,
        description="`{subscription}` is the subscription ARN (URL-encoded).",
    ),
    _op(
        "setSubscriptionAttributes",
        "PATCH",
        S + "/attributes",
        "Set subscription attributes (an empty value unsets)",
        set_subscription_attributes,
        tag="subscriptions",
        status=204,
        request=_object({"attributes": STRING_MAP}, ("attributes",)),
    ),
    _op(
        "unsubscribe",
        "DELETE",
        S,
        "Delete a subscription",
        unsubscribe,
        tag="subscriptions",
        status=204,
    ),
    _op(
        "publish",
        "POST",
        T + "/messages",
        "Publish a message to every matching subscription",
        publish,
        tag="publish",
        status=201,
        request=_object(PUBLISH_MEMBERS, ("message",)),
        response=PUBLISHED,
    ),
    _op(
        "publishBatch",
        "POST",
        T + "/messages/batch",
        "Publish up to 10 messages",
        publish_batch,
        tag="publish",
        request=_entries(_object({"id": _ENTRY_ID, **PUBLISH_MEMBERS}, ("id", "message"))),
        response=_batch_result({**PUBLISHED, "properties": {"id": STR, **PUBLISHED["properties"]}}),
    ),
)
