"""The SNS actions: decode Query parameters, call the TopicService, shape the result.

Results are JSON-shaped dicts laid out as the SNS XML is: lists under ``member``, maps as
``entry`` items with ``key``/``value``, so ``query_protocol`` writes them unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from broker.core.models import Caller, EntryFailure
from broker.core.topic_models import Published, PublishEntry, Subscription
from broker.core.topics import TopicService
from broker.errors import BrokerError, TooManyEntriesInBatchRequest
from broker.protocols.aws.json_protocol import JsonObject, JsonValue
from broker.protocols.aws.sns.faults import INTERNAL_ERROR, sns_fault
from broker.protocols.aws.sns.params import SnsParams

MAX_BATCH_ENTRIES = 10


@dataclass(frozen=True)
class SnsCall:
    service: TopicService
    caller: Caller | None
    """None for the unsigned ConfirmSubscription / Unsubscribe links subscribers follow."""
    base_url: str

    @property
    def signed_caller(self) -> Caller:
        if self.caller is None:
            raise AssertionError("only ConfirmSubscription and Unsubscribe run unsigned")
        return self.caller


Handler = Callable[[SnsCall, SnsParams], Awaitable[JsonObject | None]]


def _map(values: Mapping[str, str]) -> JsonObject:
    return {"entry": [{"key": k, "value": v} for k, v in values.items()]}


def _members(items: list[JsonValue]) -> JsonObject:
    return {"member": items}


def _subscription(s: Subscription) -> JsonObject:
    return {
        "SubscriptionArn": s.arn if s.confirmed else "PendingConfirmation",
        "Owner": s.account_id,
        "Protocol": s.protocol,
        "Endpoint": s.endpoint,
        "TopicArn": s.topic_arn,
    }


def _with_token(result: JsonObject, token: str | None) -> JsonObject:
    if token:
        result["NextToken"] = token
    return result


async def create_topic(call: SnsCall, p: SnsParams) -> JsonObject:
    topic = await call.service.create_topic(
        call.signed_caller, p.required("Name"), p.string_map("Attributes"), p.tags()
    )
    return {"TopicArn": topic.arn}


async def delete_topic(call: SnsCall, p: SnsParams) -> None:
    await call.service.delete_topic(call.signed_caller, p.required("TopicArn"))


async def list_topics(call: SnsCall, p: SnsParams) -> JsonObject:
    topics, token = await call.service.list_topics(call.signed_caller, p.string("NextToken"))
    items: list[JsonValue] = [{"TopicArn": t.arn} for t in topics]
    return _with_token({"Topics": _members(items)}, token)


async def get_topic_attributes(call: SnsCall, p: SnsParams) -> JsonObject:
    attributes = await call.service.get_topic_attributes(call.signed_caller, p.required("TopicArn"))
    return {"Attributes": _map(attributes)}


async def set_topic_attributes(call: SnsCall, p: SnsParams) -> None:
    await call.service.set_topic_attributes(
        call.signed_caller,
        p.required("TopicArn"),
        p.required("AttributeName"),
        p.string("AttributeValue") or "",
    )


async def subscribe(call: SnsCall, p: SnsParams) -> JsonObject:
    arn = await call.service.subscribe(
        call.signed_caller,
        p.required("TopicArn"),
        p.required("Protocol"),
        p.string("Endpoint") or "",
        p.string_map("Attributes"),
        p.boolean("ReturnSubscriptionArn"),
        call.base_url,
    )
    return {"SubscriptionArn": arn}


async def confirm_subscription(call: SnsCall, p: SnsParams) -> JsonObject:
    arn = await call.service.confirm_subscription(p.required("TopicArn"), p.required("Token"))
    return {"SubscriptionArn": arn}


async def unsubscribe(call: SnsCall, p: SnsParams) -> None:
    await call.service.unsubscribe(call.caller, p.required("SubscriptionArn"), call.base_url)


async def list_subscriptions(call: SnsCall, p: SnsParams) -> JsonObject:
    found, token = await call.service.list_subscriptions(
        call.signed_caller, None, p.string("NextToken")
    )
    items: list[JsonValue] = [_subscription(s) for s in found]
    return _with_token({"Subscriptions": _members(items)}, token)


async def list_subscriptions_by_topic(call: SnsCall, p: SnsParams) -> JsonObject:
    found, token = await call.service.list_subscriptions(
        call.signed_caller, p.required("TopicArn"), p.string("NextToken")
    )
    items: list[JsonValue] = [_subscription(s) for s in found]
    return _with_token({"Subscriptions": _members(items)}, token)


async def get_subscription_attributes(call: SnsCall, p: SnsParams) -> JsonObject:
    attributes = await call.service.get_subscription_attributes(
        call.signed_caller, p.required("SubscriptionArn")
    )
    return {"Attributes": _map(attributes)}


async def set_subscription_attributes(call: SnsCall, p: SnsParams) -> None:
    await call.service.set_subscription_attribute(
        call.signed_caller,
        p.required("SubscriptionArn"),
        p.required("AttributeName"),
        p.string("AttributeValue") or "",
    )


def _entry(p: SnsParams, entry_id: str = "") -> PublishEntry:
    return PublishEntry(
        message=p.required("Message"),
        id=entry_id,
        subject=p.string("Subject"),
        message_structure=p.string("MessageStructure"),
        attributes=p.attributes(),
        group_id=p.string("MessageGroupId"),
        deduplication_id=p.string("MessageDeduplicationId"),
    )


def _published(result: Published) -> JsonObject:
    out: JsonObject = {"MessageId": result.message_id}
    if result.sequence_number is not None:
        out["SequenceNumber"] = result.sequence_number
    return out


async def publish(call: SnsCall, p: SnsParams) -> JsonObject:
    arn = p.string("TopicArn") or p.string("TargetArn")
    if arn is None:
        if p.string("PhoneNumber"):
            raise_not_supported("Publish to a PhoneNumber (SMS)")
        p.required("TopicArn")
    assert arn is not None
    result = await call.service.publish(call.signed_caller, arn, _entry(p), call.base_url)
    return _published(result)


async def publish_batch(call: SnsCall, p: SnsParams) -> JsonObject:
    members = p.members("PublishBatchRequestEntries")
    if len(members) > MAX_BATCH_ENTRIES:
        raise TooManyEntriesInBatchRequest(
            "The batch request contains more entries than permissible."
        )
    entries = [_entry(m, m.string("Id") or "") for m in members]
    results = await call.service.publish_batch(
        call.signed_caller, p.required("TopicArn"), entries, call.base_url
    )
    successful: list[JsonValue] = []
    failed: list[JsonValue] = []
    for result in results:
        if isinstance(result, EntryFailure):
            failed.append(_failure(result))
        else:
            successful.append({"Id": result.id, **_published(result)})
    return {"Successful": _members(successful), "Failed": _members(failed)}


def _failure(failure: EntryFailure) -> JsonObject:
    error = failure.error
    if isinstance(error, BrokerError):
        fault = sns_fault(error)
        return {
            "Id": failure.id,
            "Code": fault.query_code,
            "Message": error.message,
            "SenderFault": fault.sender,
        }
    return {
        "Id": failure.id,
        "Code": INTERNAL_ERROR.query_code,
        "Message": str(error),
        "SenderFault": False,
    }


async def tag_resource(call: SnsCall, p: SnsParams) -> JsonObject:
    await call.service.tag_resource(call.signed_caller, p.required("ResourceArn"), p.tags())
    return {}  # the model has an (empty) TagResourceResult element


async def untag_resource(call: SnsCall, p: SnsParams) -> JsonObject:
    await call.service.untag_resource(
        call.signed_caller, p.required("ResourceArn"), p.string_list("TagKeys")
    )
    return {}


async def list_tags_for_resource(call: SnsCall, p: SnsParams) -> JsonObject:
    tags = await call.service.list_tags(call.signed_caller, p.required("ResourceArn"))
    items: list[JsonValue] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return {"Tags": _members(items)}


async def add_permission(call: SnsCall, p: SnsParams) -> JsonObject:
    await call.service.add_permission(
        call.signed_caller,
        p.required("TopicArn"),
        p.required("Label"),
        p.string_list("AWSAccountId"),
        p.string_list("ActionName"),
    )
    return {}


async def remove_permission(call: SnsCall, p: SnsParams) -> JsonObject:
    await call.service.remove_permission(
        call.signed_caller, p.required("TopicArn"), p.required("Label")
    )
    return {}


class NotSupported(Exception):
    """An SNS action this broker does not offer (SMS, mobile push, data protection...)."""


def raise_not_supported(what: str) -> None:
    raise NotSupported(
        f"{what} is not supported by this broker: it offers topics with sqs, http and https "
        "subscriptions."
    )


ACTIONS: dict[str, Handler] = {
    "CreateTopic": create_topic,
    "DeleteTopic": delete_topic,
    "ListTopics": list_topics,
    "GetTopicAttributes": get_topic_attributes,
    "SetTopicAttributes": set_topic_attributes,
    "Subscribe": subscribe,
    "ConfirmSubscription": confirm_subscription,
    "Unsubscribe": unsubscribe,
    "ListSubscriptions": list_subscriptions,
    "ListSubscriptionsByTopic": list_subscriptions_by_topic,
    "GetSubscriptionAttributes": get_subscription_attributes,
    "SetSubscriptionAttributes": set_subscription_attributes,
    "Publish": publish,
    "PublishBatch": publish_batch,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
    "AddPermission": add_permission,
    "RemovePermission": remove_permission,
}

UNSIGNED_ACTIONS = frozenset({"ConfirmSubscription", "Unsubscribe"})
"""Actions a subscriber reaches by following a link in a message, without credentials."""

NOT_SUPPORTED_ACTIONS = frozenset(
    {
        "GetDataProtectionPolicy",
        "PutDataProtectionPolicy",
        "CreatePlatformApplication",
        "DeletePlatformApplication",
        "GetPlatformApplicationAttributes",
        "SetPlatformApplicationAttributes",
        "ListPlatformApplications",
        "CreatePlatformEndpoint",
        "DeleteEndpoint",
        "GetEndpointAttributes",
        "SetEndpointAttributes",
        "ListEndpointsByPlatformApplication",
        "CheckIfPhoneNumberIsOptedOut",
        "ListPhoneNumbersOptedOut",
        "OptInPhoneNumber",
        "GetSMSAttributes",
        "SetSMSAttributes",
        "GetSMSSandboxAccountStatus",
        "CreateSMSSandboxPhoneNumber",
        "DeleteSMSSandboxPhoneNumber",
        "VerifySMSSandboxPhoneNumber",
        "ListSMSSandboxPhoneNumbers",
        "ListOriginationNumbers",
    }
)
