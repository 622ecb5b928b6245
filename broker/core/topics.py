"""TopicService: the semantics of SNS topics and subscriptions, for every adapter.

A publish is one store transaction: every matching queue subscription gets its row in
``broker.messages`` and every HTTP/S subscription its row in the outbox, or none does. Each
process caches a topic's compiled subscriptions for ``cache_seconds`` (changes made through this
process apply to the next publish at once; other processes see them within the TTL).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from broker.core import access, access_policies, delivery_policy, message_rules, topic_attributes
from broker.core.envelopes import Envelopes, envelope_attributes
from broker.core.models import Caller, EntryFailure, MessageAttributes
from broker.core.ports import (
    FilterIndex,
    FilterLanguage,
    FilterMatcher,
    NullTopicObserver,
    Signal,
    Signer,
    TopicObserver,
    TopicStore,
)
from broker.core.topic_attributes import invalid
from broker.core.topic_errors import (
    TagLimitExceeded,
    resource_not_found,
    subscription_not_found,
    topic_not_found,
)
from broker.core.topic_models import (
    HTTP_PROTOCOLS,
    SQS_PROTOCOL,
    HttpDelivery,
    PendingPublication,
    Publication,
    PublicationResult,
    Published,
    PublishEntry,
    QueueDelivery,
    Route,
    Subscription,
    Topic,
    TopicMessage,
    topic_arn,
)
from broker.errors import (
    BatchRequestTooLong,
    BrokerError,
    EmptyBatchRequest,
    InvalidPattern,
    InvalidPolicyDocument,
    InvalidRequest,
    NotFound,
)

PAGE_SIZE = 100
INDEX_THRESHOLD = 16
"""Above this many filtered subscriptions a topic matches through a PatternIndex."""
PENDING = "pending confirmation"
ATTRIBUTES_SCOPE = "MessageAttributes"
BODY_SCOPE = "MessageBody"


@dataclass(frozen=True)
class TopicLimits:
    region: str = "us-east-1"
    cache_seconds: float = 1.0
    max_message_bytes: int = topic_attributes.MAX_MESSAGE_BYTES
    confirmation_seconds: int = 48 * 3600
    """How long a confirmation token is valid, and an unconfirmed subscription lives (AWS: 48
    hours since 2023, when unconfirmed subscriptions went from 72 hours to 48)."""


class _Routing:
    """A topic's confirmed subscriptions with their filter policies compiled."""

    def __init__(self, routes: Sequence[Route], language: FilterLanguage) -> None:
        self.unfiltered: list[Route] = []
        self._by_arn: dict[str, Route] = {}
        filters: dict[str, dict[str, FilterMatcher]] = {ATTRIBUTES_SCOPE: {}, BODY_SCOPE: {}}
        for route in routes:
            policy = route.subscription.attributes.get("FilterPolicy", "")
            if not policy:
                self.unfiltered.append(route)
                continue
            scope = route.subscription.attributes.get("FilterPolicyScope", ATTRIBUTES_SCOPE)
            self._by_arn[route.subscription.arn] = route
            filters[scope][route.subscription.arn] = language.compile(policy, scope)
        self._filters = filters
        self._indexes: dict[str, FilterIndex] = {
            scope: language.index(matchers, scope)
            for scope, matchers in filters.items()
            if len(matchers) > INDEX_THRESHOLD
        }

    def matching(self, message: str, attributes: MessageAttributes) -> list[Route]:
        matched = list(self.unfiltered)
        if not self._by_arn:
            return matched
        documents: dict[str, object] = {}
        if self._filters[ATTRIBUTES_SCOPE]:
            documents[ATTRIBUTES_SCOPE] = envelope_attributes(attributes)
        if self._filters[BODY_SCOPE]:
            try:
                documents[BODY_SCOPE] = json.loads(message)
            except ValueError:
                documents[BODY_SCOPE] = None  # not JSON: no body policy can match
        for scope, document in documents.items():
            index = self._indexes.get(scope)
            if index is not None:
                arns = index.matching_ids(document)
            else:
                arns = {a for a, m in self._filters[scope].items() if m.matches(document)}
            matched.extend(self._by_arn[a] for a in sorted(arns))
        return matched

    @property
    def filtered(self) -> int:
        """How many subscriptions have a filter policy (the rest take every message)."""
        return len(self._by_arn)


class TopicService:
    def __init__(
        self,
        store: TopicStore,
        signal: Signal,
        signer: Signer,
        language: FilterLanguage,
        limits: TopicLimits,
    ) -> None:
        self._store = store
        self._signal = signal
        self._envelopes = Envelopes(_CachedSigner(signer))
        self._language = language
        self.limits = limits
        self.deliveries_pending: Callable[[], None] = _nothing
        """Called after a commit that added outbox rows (the app points it at the deliverer)."""
        self.observer: TopicObserver = NullTopicObserver()
        self._topics: dict[str, tuple[float, Topic]] = {}
        self._routing: dict[int, tuple[float, _Routing]] = {}

    # -- topics -----------------------------------------------------------------------------

    async def create_topic(
        self, caller: Caller, name: str, attributes: Mapping[str, str], tags: Mapping[str, str]
    ) -> Topic:
        fifo = attributes.get("FifoTopic", "false").lower() == "true"
        topic_attributes.check_topic_name(name, fifo)
        topic_attributes.check_topic_attributes(attributes, fifo, creating=True)
        _check_policy(attributes.get("Policy", ""))
        topic_attributes.check_tags(tags)
        if len(tags) > topic_attributes.MAX_TAGS:
            raise TagLimitExceeded("Could not complete request: tag quota of per resource exceeded")
        given = {k: v for k, v in attributes.items() if k != "FifoTopic"}
        if fifo:
            given["FifoTopic"] = "true"
        arn = topic_arn(self.limits.region, caller.account_id, name)
        for _ in range(3):
            created = await self._store.create_topic(
                caller.account_id, name, arn, fifo, given, tags
            )
            if created is not None:
                return self._remember(created)
            existing = await self._store.get_topic(arn)
            if existing is None:
                continue  # deleted between our insert and our read
            if any(existing.attributes.get(k, "") != v for k, v in given.items()):
                raise invalid("Attributes Reason: Topic already exists with different attributes")
            if tags and dict(existing.tags) != dict(tags):
                raise invalid("Tags Reason: Topic already exists with different tags")
            return self._remember(existing)
        raise invalid("Topic is being deleted and re-created concurrently")

    async def topic(self, caller: Caller, arn: str, action: str | None = None) -> Topic:
        """The topic ``arn``; another account's (or any, for a key with a policy) only when the
        topic's ``Policy`` and the key's allow ``action`` (``sns:Publish``...)."""
        _check_arn(arn, "TopicArn")
        cached = self._topics.get(arn)
        if cached is not None and cached[0] > time.monotonic():
            topic = cached[1]
        else:
            found = await self._store.get_topic(arn)
            if found is None:
                self._topics.pop(arn, None)
                raise topic_not_found()
            topic = self._remember(found)
        if action is None:
            if topic.account_id != caller.account_id:
                raise topic_not_found()
            return topic
        policy = topic.attributes.get("Policy") or _default_policy(topic)
        access.authorize(caller, action, topic.arn, topic.account_id, policy)
        return topic

    async def delete_topic(self, caller: Caller, arn: str) -> None:
        _check_arn(arn, "TopicArn")
        topic = await self._store.get_topic(arn)
        if topic is None or topic.account_id != caller.account_id:
            return  # DeleteTopic is idempotent
        await self._store.delete_topic(topic.id)
        self._forget(topic)

    async def list_topics(
        self, caller: Caller, next_token: str | None
    ) -> tuple[list[Topic], str | None]:
        after = _decode_token(next_token) if next_token else ""
        topics = await self._store.list_topics(caller.account_id, after, PAGE_SIZE + 1)
        if len(topics) > PAGE_SIZE:
            topics = topics[:PAGE_SIZE]
            return topics, _encode_token(topics[-1].arn)
        return topics, None

    async def get_topic_attributes(self, caller: Caller, arn: str) -> dict[str, str]:
        topic = await self._fresh(caller, arn, "sns:GetTopicAttributes")
        confirmed, pending = await self._store.subscription_counts(topic.id)
        policy, _ = delivery_policy.topic_policy(topic.attributes.get("DeliveryPolicy", ""))
        out = {
            "TopicArn": topic.arn,
            "Owner": topic.account_id,
            "Policy": _default_policy(topic),
            "DisplayName": "",
            "SubscriptionsConfirmed": str(confirmed),
            "SubscriptionsPending": str(pending),
            "SubscriptionsDeleted": "0",
            "EffectiveDeliveryPolicy": _topic_effective_policy(policy),
        }
        if topic.fifo:
            out["FifoTopic"] = "true"
            out["ContentBasedDeduplication"] = "false"
        out.update(topic.attributes)
        return out

    async def set_topic_attributes(self, caller: Caller, arn: str, name: str, value: str) -> None:
        topic = await self._fresh(caller, arn, "sns:SetTopicAttributes")
        topic_attributes.check_topic_attributes({name: value}, topic.fifo, creating=False)
        if name == "Policy":
            _check_policy(value)
        unset = [name] if value == "" else []
        updated = await self._store.update_topic_attributes(
            topic.id, {} if unset else {name: value}, unset
        )
        if updated is None:
            self._forget(topic)
            raise topic_not_found()
        self._remember(updated)

    async def add_permission(
        self,
        caller: Caller,
        arn: str,
        label: str,
        account_ids: Sequence[str],
        actions: Sequence[str],
    ) -> None:
        """AddPermission: a statement ``label`` in the topic's ``Policy`` letting the accounts
        call the actions (``Publish``, ``Subscribe``...) on the topic."""
        topic = await self._fresh(caller, arn, "sns:AddPermission")
        if not label or not _LABEL.fullmatch(label):
            raise invalid("Label")
        if not account_ids or not all(_ACCOUNT_ID.fullmatch(a) for a in account_ids):
            raise invalid("AWSAccountId")
        if not actions or not all(_ACTION_NAME.fullmatch(a) for a in actions):
            raise invalid("ActionName")
        principals = [access_policies.root_arn(a) for a in account_ids]
        statement = {
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": [f"SNS:{a}" for a in actions],
            "Resource": topic.arn,
        }

        def added(current: str | None) -> str:
            document = json.loads(current or _default_policy(topic))
            statements = document["Statement"]
            if not isinstance(statements, list):
                statements = document["Statement"] = [statements]
            if any(s.get("Sid") == label for s in statements):
                raise invalid("Statement already exists")
            statements.append(statement)
            return _checked_policy(json.dumps(document, separators=(",", ":")))

        self._updated(topic, await self._store.change_topic_policy(topic.id, added))

    async def remove_permission(self, caller: Caller, arn: str, label: str) -> None:
        topic = await self._fresh(caller, arn, "sns:RemovePermission")

        def removed(current: str | None) -> str | None:
            document = json.loads(current or _default_policy(topic))
            statements = document["Statement"]
            statements = statements if isinstance(statements, list) else [statements]
            kept = [s for s in statements if s.get("Sid") != label]
            if not label or len(kept) == len(statements):
                raise invalid("Label")
            if not kept:
                return None
            document["Statement"] = kept
            return _checked_policy(json.dumps(document, separators=(",", ":")))

        self._updated(topic, await self._store.change_topic_policy(topic.id, removed))

    # -- tags -------------------------------------------------------------------------------

    async def _tagged(self, caller: Caller, arn: str) -> Topic:
        try:
            return await self._fresh(caller, arn)
        except NotFound:
            raise resource_not_found() from None

    async def tag_resource(self, caller: Caller, arn: str, tags: Mapping[str, str]) -> None:
        topic = await self._tagged(caller, arn)
        topic_attributes.check_tags(tags)
        if len(set(topic.tags) | set(tags)) > topic_attributes.MAX_TAGS:
            raise TagLimitExceeded("Could not complete request: tag quota of per resource exceeded")
        self._updated(topic, await self._store.tag_topic(topic.id, tags))

    async def untag_resource(self, caller: Caller, arn: str, keys: Sequence[str]) -> None:
        topic = await self._tagged(caller, arn)
        self._updated(topic, await self._store.untag_topic(topic.id, keys))

    async def list_tags(self, caller: Caller, arn: str) -> dict[str, str]:
        return dict((await self._tagged(caller, arn)).tags)

    # -- subscriptions ----------------------------------------------------------------------

    async def subscribe(
        self,
        caller: Caller,
        arn: str,
        protocol: str,
        endpoint: str,
        attributes: Mapping[str, str],
        return_arn: bool,
        base_url: str,
    ) -> str:
        topic = await self.topic(caller, arn, "sns:Subscribe")
        protocol = protocol.lower()
        _check_endpoint(topic, protocol, endpoint)
        given = self._checked_subscription_attributes(topic, protocol, attributes, {})
        http = protocol in HTTP_PROTOCOLS
        token = secrets.token_hex(64) if http else None
        sub_arn = f"{topic.arn}:{uuid.uuid4()}"
        subscription, created = await self._store.create_subscription(
            topic, sub_arn, protocol, endpoint, given, token
        )
        if not created and any(subscription.attributes.get(k) != v for k, v in given.items()):
            raise invalid(
                "Attributes Reason: Subscription already exists with different attributes"
            )
        if http and not subscription.confirmed:
            await self._confirmation(topic, subscription, "SubscriptionConfirmation", base_url)
        self._routing.pop(topic.id, None)
        if subscription.confirmed or return_arn:
            return subscription.arn
        return PENDING

    async def confirm_subscription(self, arn: str, token: str) -> str:
        """Confirm by token; open to unsigned requests (the SubscribeURL a subscriber GETs)."""
        _check_arn(arn, "TopicArn")
        subscription = await self._store.find_by_token(arn, token, self.limits.confirmation_seconds)
        if subscription is None:
            raise invalid("Token")
        if not subscription.confirmed:
            confirmed = await self._store.confirm_subscription(subscription.id)
            if confirmed is None:
                raise subscription_not_found()
            self._routing.pop(subscription.topic_id, None)
        return subscription.arn

    async def expire_unconfirmed(self, limit: int) -> int:
        """The janitor's step: delete up to ``limit`` unconfirmed subscriptions whose token has
        expired (nothing is ever routed to them, so the routing caches need no change)."""
        return await self._store.delete_unconfirmed_subscriptions(
            self.limits.confirmation_seconds, limit
        )

    async def unsubscribe(self, caller: Caller | None, arn: str, base_url: str) -> None:
        """``caller`` None: the unsigned UnsubscribeURL, which the subscription ARN authorises."""
        subscription = await self._subscription(caller, arn)
        if subscription.protocol in HTTP_PROTOCOLS and subscription.confirmed:
            topic = await self._store.get_topic(subscription.topic_arn)
            if topic is not None:
                await self._confirmation(topic, subscription, "UnsubscribeConfirmation", base_url)
        await self._store.delete_subscription(subscription.id)
        self._routing.pop(subscription.topic_id, None)

    async def list_subscriptions(
        self, caller: Caller, topic_arn_: str | None, next_token: str | None
    ) -> tuple[list[Subscription], str | None]:
        topic_id = (
            (await self._fresh(caller, topic_arn_, "sns:ListSubscriptionsByTopic")).id
            if topic_arn_
            else None
        )
        after = 0
        if next_token:
            decoded = _decode_token(next_token)
            if not decoded.isdigit():
                raise invalid("NextToken")
            after = int(decoded)
        found = await self._store.list_subscriptions(
            caller.account_id, topic_id, after, PAGE_SIZE + 1
        )
        if len(found) > PAGE_SIZE:
            found = found[:PAGE_SIZE]
            return found, _encode_token(str(found[-1].id))
        return found, None

    async def get_subscription_attributes(self, caller: Caller, arn: str) -> dict[str, str]:
        subscription = await self._subscription(caller, arn)
        out = {
            "SubscriptionArn": subscription.arn,
            "TopicArn": subscription.topic_arn,
            "Owner": subscription.account_id,
            "Protocol": subscription.protocol,
            "Endpoint": subscription.endpoint,
            "ConfirmationWasAuthenticated": "true" if subscription.token is None else "false",
            "PendingConfirmation": "false" if subscription.confirmed else "true",
            "RawMessageDelivery": "false",
        }
        out.update(subscription.attributes)
        if "FilterPolicy" in out:
            out.setdefault("FilterPolicyScope", ATTRIBUTES_SCOPE)
        if subscription.protocol in HTTP_PROTOCOLS:
            topic = await self._store.get_topic(subscription.topic_arn)
            topic_text = topic.attributes.get("DeliveryPolicy", "") if topic else ""
            out["EffectiveDeliveryPolicy"] = delivery_policy.effective_policy(
                topic_text, subscription.attributes.get("DeliveryPolicy", "")
            ).to_json()
        return out

    async def set_subscription_attribute(
        self, caller: Caller, arn: str, name: str, value: str
    ) -> None:
        subscription = await self._subscription(caller, arn)
        topic = await self._store.get_topic(subscription.topic_arn)
        if topic is None:
            raise subscription_not_found()
        given = self._checked_subscription_attributes(
            topic, subscription.protocol, {name: value}, subscription.attributes
        )
        unset = [name] if value == "" else []
        if name == "FilterPolicy" and value == "":
            unset.append("FilterPolicyScope")
        updated = await self._store.update_subscription_attributes(
            subscription.id, {k: v for k, v in given.items() if k not in unset}, unset
        )
        if updated is None:
            raise subscription_not_found()
        self._routing.pop(subscription.topic_id, None)

    def _checked_subscription_attributes(
        self,
        topic: Topic,
        protocol: str,
        attributes: Mapping[str, str],
        current: Mapping[str, str],
    ) -> dict[str, str]:
        given: dict[str, str] = {}
        for name, value in attributes.items():
            if name not in topic_attributes.SUBSCRIPTION_SETTABLE:
                raise invalid("AttributeName")
            if name == "RawMessageDelivery":
                if protocol not in HTTP_PROTOCOLS and protocol != SQS_PROTOCOL:
                    raise invalid("Attributes Reason: RawMessageDelivery is not supported")
                value = topic_attributes.check_boolean(name, value)
            elif name == "FilterPolicyScope" and value not in (ATTRIBUTES_SCOPE, BODY_SCOPE):
                raise invalid(
                    f"FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody "
                    "or MessageAttributes"
                )
            elif name == "RedrivePolicy":
                topic_attributes.redrive_target(value)
            elif name == "DeliveryPolicy" and value:
                delivery_policy.check_subscription_policy(value)
            given[name] = value
        merged = {**current, **given}
        policy = merged.get("FilterPolicy", "")
        if policy:
            try:
                self._language.compile(policy, merged.get("FilterPolicyScope", ATTRIBUTES_SCOPE))
            except InvalidPattern as exc:
                raise invalid(f"FilterPolicy: {exc.message}") from None
        return given

    async def _subscription(self, caller: Caller | None, arn: str) -> Subscription:
        if len(arn.split(":")) != 7 or not arn.startswith("arn:aws:sns:"):
            raise invalid("SubscriptionArn")
        subscription = await self._store.get_subscription(arn)
        if subscription is None or (
            caller is not None and subscription.account_id != caller.account_id
        ):
            raise subscription_not_found()
        return subscription

    async def _confirmation(
        self, topic: Topic, subscription: Subscription, kind: str, base_url: str
    ) -> None:
        message_id = str(uuid.uuid4())
        body = self._envelopes.confirmation(
            kind=kind,
            message_id=message_id,
            topic_arn=topic.arn,
            subscription_arn=subscription.arn,
            token=subscription.token or secrets.token_hex(64),
            moment=datetime.now(UTC),
            signature_version=topic.attributes.get("SignatureVersion", "1"),
            base_url=base_url,
        )
        policy = delivery_policy.effective_policy(
            topic.attributes.get("DeliveryPolicy", ""),
            subscription.attributes.get("DeliveryPolicy", ""),
        )
        await self._store.enqueue_deliveries(
            [
                HttpDelivery(
                    entry=0,
                    subscription_id=subscription.id,
                    subscription_arn=subscription.arn,
                    topic_arn=topic.arn,
                    endpoint=subscription.endpoint,
                    message_type=kind,
                    message_id=message_id,
                    body=body,
                    raw=False,
                    policy=policy.to_json(),
                )
            ]
        )
        self.deliveries_pending()

    # -- publishing -------------------------------------------------------------------------

    async def publish(
        self, caller: Caller, arn: str, entry: PublishEntry, base_url: str
    ) -> Published:
        topic = await self.topic(caller, arn, "sns:Publish")
        self._check_entry(topic, entry)
        [published] = await self._publish(caller, topic, [entry], base_url)
        return published

    async def publish_batch(
        self, caller: Caller, arn: str, entries: Sequence[PublishEntry], base_url: str
    ) -> list[Published | EntryFailure]:
        topic = await self.topic(caller, arn, "sns:Publish")
        if not entries:
            raise EmptyBatchRequest("The batch request doesn't contain any entries")
        message_rules.check_batch_ids([e.id for e in entries])
        total = sum(len(e.message.encode()) for e in entries)
        if total > self.limits.max_message_bytes:
            raise BatchRequestTooLong(
                "The length of all the messages put together is more than the limit."
            )
        results: dict[str, Published | EntryFailure] = {}
        valid: list[PublishEntry] = []
        for entry in entries:
            try:
                self._check_entry(topic, entry)
            except InvalidRequest as exc:
                results[entry.id] = EntryFailure(entry.id, exc)
            else:
                valid.append(entry)
        if valid:
            for published in await self._publish(caller, topic, valid, base_url):
                results[published.id] = published
        return [results[e.id] for e in entries]

    def _check_entry(self, topic: Topic, entry: PublishEntry) -> None:
        topic_attributes.check_publish(
            entry.message, entry.subject, entry.attributes, self.limits.max_message_bytes
        )
        if entry.message_structure is not None:
            if entry.message_structure != "json":
                raise invalid("MessageStructure")
            topic_attributes.parse_structure(entry.message)
        if topic.fifo:
            if not entry.group_id:
                raise invalid("The MessageGroupId parameter is required for FIFO topics")
            topic_attributes.check_fifo_id("MessageGroupId", entry.group_id)
            if entry.deduplication_id is None and not _content_dedup(topic):
                raise invalid(
                    "The topic should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly"
                )
            if entry.deduplication_id is not None:
                topic_attributes.check_fifo_id("MessageDeduplicationId", entry.deduplication_id)
        elif entry.deduplication_id is not None:
            raise invalid(
                "MessageDeduplicationId Reason: The request includes MessageDeduplicationId "
                "parameter that is not valid for this topic type"
            )

    async def _routes(self, topic: Topic) -> _Routing:
        cached = self._routing.get(topic.id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        routes = [_permitted(topic, r) for r in await self._store.topic_routes(topic.id)]
        routing = _Routing(routes, self._language)
        self._routing[topic.id] = (time.monotonic() + self.limits.cache_seconds, routing)
        return routing

    async def publish_pending(self, pending: PendingPublication, base_url: str) -> None:
        """Fan out a ``broker.publish_message`` row, consuming it in the same transaction."""
        topic = await self._store.get_topic_by_id(pending.topic_id)
        caller = Caller(account_id=topic.account_id if topic else "", access_key_id="")
        entry = PublishEntry(
            message=pending.message,
            subject=pending.subject,
            attributes=pending.attributes,
            group_id=pending.group_id,
            deduplication_id=pending.deduplication_id,
        )
        if topic is None:  # the topic was deleted since: nothing to deliver to
            topic = Topic(pending.topic_id, "", "", "", False, {}, {}, datetime.now(UTC))
            entry = PublishEntry(message=pending.message)
        await self._publish(
            caller,
            topic,
            [entry],
            base_url,
            inbox_id=pending.id,
            given_message_id=pending.message_id,
        )

    async def _publish(
        self,
        caller: Caller,
        topic: Topic,
        entries: Sequence[PublishEntry],
        base_url: str,
        inbox_id: int | None = None,
        given_message_id: str | None = None,
    ) -> list[Published]:
        routing = await self._routes(topic) if topic.arn else _Routing([], self._language)
        version = topic.attributes.get("SignatureVersion", "1")
        group_scope = topic.attributes.get("FifoThroughputScope") == "MessageGroup"
        moment = datetime.now(UTC)
        messages: list[TopicMessage] = []
        queue_rows: list[QueueDelivery] = []
        http_rows: list[HttpDelivery] = []
        filtered_out: list[int] = []
        """Per entry: its subscriptions whose filter policy did not match it."""
        for index, entry in enumerate(entries):
            message_id = given_message_id or str(uuid.uuid4())
            dedup = entry.deduplication_id
            if topic.fifo and dedup is None:
                dedup = hashlib.sha256(entry.message.encode()).hexdigest()
            scope = (entry.group_id or "") if group_scope else ""
            messages.append(TopicMessage(message_id, dedup if topic.fifo else None, scope))
            body_for_filter = topic_attributes.message_for(
                entry.message, entry.message_structure, "default"
            )
            matched = routing.matching(body_for_filter, entry.attributes)
            filtered_out.append(routing.filtered - (len(matched) - len(routing.unfiltered)))
            for route in matched:
                subscription = route.subscription
                text = topic_attributes.message_for(
                    entry.message, entry.message_structure, subscription.protocol
                )
                raw = subscription.attributes.get("RawMessageDelivery") == "true"
                body = text
                if not raw:
                    body = self._envelopes.notification(
                        message_id=message_id,
                        topic_arn=topic.arn,
                        subscription_arn=subscription.arn,
                        subject=entry.subject,
                        message=text,
                        moment=moment,
                        attributes={} if entry.message_structure == "json" else entry.attributes,
                        signature_version=version,
                        base_url=base_url,
                    )
                if route.queue is not None:
                    queue = route.queue
                    queue_scope = ""
                    if queue.fifo and queue.group_scoped_deduplication:
                        queue_scope = entry.group_id or ""
                    queue_rows.append(
                        QueueDelivery(
                            entry=index,
                            queue_id=queue.queue_id,
                            message_id=str(uuid.uuid4()),
                            body=body,
                            attributes=entry.attributes if raw else {},
                            group_id=entry.group_id,
                            deduplication_id=(dedup or _sha256(body)) if queue.fifo else None,
                            deduplication_scope=queue_scope,
                        )
                    )
                elif subscription.protocol in HTTP_PROTOCOLS:
                    policy = delivery_policy.effective_policy(
                        topic.attributes.get("DeliveryPolicy", ""),
                        subscription.attributes.get("DeliveryPolicy", ""),
                    )
                    http_rows.append(
                        HttpDelivery(
                            entry=index,
                            subscription_id=subscription.id,
                            subscription_arn=subscription.arn,
                            topic_arn=topic.arn,
                            endpoint=subscription.endpoint,
                            message_type="Notification",
                            message_id=message_id,
                            body=body,
                            raw=raw,
                            policy=policy.to_json(),
                            dead_letter_arn=topic_attributes.redrive_target(
                                subscription.attributes.get("RedrivePolicy", "")
                            ),
                        )
                    )
        result = await self._store.publish(
            Publication(
                topic_id=topic.id,
                fifo=topic.fifo,
                sender_id=caller.access_key_id or caller.account_id,
                messages=messages,
                queue_deliveries=queue_rows,
                http_deliveries=http_rows,
                inbox_id=inbox_id,
            )
        )
        for queue_id, count in result.queue_counts.items():
            self._signal.sent(queue_id, count)
        if result.deliveries:
            self.deliveries_pending()
        if topic.arn:  # not a publication of a topic deleted since
            self._observe(topic, messages, result, filtered_out)
        return [
            Published(
                id=entry.id,
                message_id=published_id,
                sequence_number=f"{sequence:020d}" if topic.fifo else None,
            )
            for entry, (published_id, sequence) in zip(entries, result.messages, strict=True)
        ]

    def _observe(
        self,
        topic: Topic,
        messages: Sequence[TopicMessage],
        result: PublicationResult,
        filtered_out: Sequence[int],
    ) -> None:
        """Count a committed publish: its entries, its queue rows, its filtered-out matches."""
        observer = self.observer
        observer.messages_published(topic.arn, len(messages))
        delivered = sum(result.queue_counts.values())
        if delivered:
            observer.messages_delivered(topic.arn, SQS_PROTOCOL, delivered)
        # A FIFO duplicate (its stored id is the original's) was not fanned out again.
        skipped = sum(
            count
            for message, (stored_id, _), count in zip(
                messages, result.messages, filtered_out, strict=True
            )
            if stored_id == message.message_id
        )
        if skipped:
            observer.messages_filtered_out(topic.arn, skipped)

    # -- cache ------------------------------------------------------------------------------

    async def _fresh(self, caller: Caller, arn: str, action: str | None = None) -> Topic:
        self._topics.pop(arn, None)
        return await self.topic(caller, arn, action)

    def _updated(self, topic: Topic, updated: Topic | None) -> None:
        if updated is None:
            self._forget(topic)
            raise topic_not_found()
        self._remember(updated)

    def _remember(self, topic: Topic) -> Topic:
        self._topics[topic.arn] = (time.monotonic() + self.limits.cache_seconds, topic)
        return topic

    def _forget(self, topic: Topic) -> None:
        self._topics.pop(topic.arn, None)
        self._routing.pop(topic.id, None)


class _CachedSigner:
    """Signs each distinct string once: a publish to N subscriptions signs one envelope text."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer
        self.sign = functools.lru_cache(maxsize=1024)(signer.sign)

    @property
    def certificate_path(self) -> str:
        return self._signer.certificate_path


def _nothing() -> None:
    pass


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _content_dedup(topic: Topic) -> bool:
    return topic.attributes.get("ContentBasedDeduplication", "false").lower() == "true"


SNS_PRINCIPAL = "sns.amazonaws.com"
_LABEL = re.compile(r"[A-Za-z0-9_-]{1,80}")
_ACCOUNT_ID = re.compile(r"\d{12}")
_ACTION_NAME = re.compile(r"[A-Za-z]{1,64}")


def _checked_policy(policy: str) -> str:
    """``policy``, once parsed: never store a document we would refuse."""
    access_policies.parse_policy(policy)
    return policy


def _check_policy(policy: str) -> None:
    if policy:
        try:
            access_policies.parse_policy(policy)
        except InvalidPolicyDocument as exc:
            raise invalid(f"Policy: {exc.message}") from None


def _permitted(topic: Topic, route: Route) -> Route:
    """The route, without its queue when the queue belongs to another account whose ``Policy``
    does not let this topic send to it (SNS then drops the message for that subscription)."""
    queue = route.queue
    if queue is None or not queue.account_id or queue.account_id == topic.account_id:
        return route
    queue_arn = route.subscription.endpoint
    if access.service_may(
        SNS_PRINCIPAL,
        "sqs:SendMessage",
        queue_arn,
        queue.account_id,
        queue.policy,
        source_arn=topic.arn,
        source_account=topic.account_id,
    ):
        return route
    return Route(route.subscription, None)


def _check_arn(arn: str, parameter: str) -> None:
    parts = arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sns"] or not parts[5]:
        raise invalid(parameter)


def _check_endpoint(topic: Topic, protocol: str, endpoint: str) -> None:
    if protocol == SQS_PROTOCOL:
        parts = endpoint.split(":")
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"]:
            raise invalid("SQS endpoint ARN")
        if parts[5].endswith(".fifo") and not topic.fifo:
            raise invalid(
                "Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics"
            )
        return
    if protocol in HTTP_PROTOCOLS:
        if topic.fifo:
            raise invalid("Invalid protocol type: " + protocol + " for FIFO topics")
        if not endpoint.lower().startswith(protocol + "://"):
            raise invalid("Endpoint must match the specified protocol")
        return
    if protocol in {"email", "email-json", "sms", "application", "lambda", "firehose"}:
        raise invalid(
            f"Protocol {protocol} is not supported by this broker (use sqs, http or https)"
        )
    raise invalid("Invalid protocol type: " + protocol)


def _default_policy(topic: Topic) -> str:
    return json.dumps(
        {
            "Version": "2008-10-17",
            "Id": "__default_policy_ID",
            "Statement": [
                {
                    "Sid": "__default_statement_ID",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": [
                        "SNS:GetTopicAttributes",
                        "SNS:SetTopicAttributes",
                        "SNS:AddPermission",
                        "SNS:RemovePermission",
                        "SNS:DeleteTopic",
                        "SNS:Subscribe",
                        "SNS:ListSubscriptionsByTopic",
                        "SNS:Publish",
                    ],
                    "Resource": topic.arn,
                    "Condition": {"StringEquals": {"AWS:SourceOwner": topic.account_id}},
                }
            ],
        },
        separators=(",", ":"),
    )


def _topic_effective_policy(policy: delivery_policy.DeliveryPolicy) -> str:
    retry = policy.retry
    return json.dumps(
        {
            "http": {
                "defaultHealthyRetryPolicy": {
                    "minDelayTarget": retry.min_delay,
                    "maxDelayTarget": retry.max_delay,
                    "numRetries": retry.num_retries,
                    "numMaxDelayRetries": retry.num_max_delay,
                    "numNoDelayRetries": retry.num_no_delay,
                    "numMinDelayRetries": retry.num_min_delay,
                    "backoffFunction": retry.backoff,
                },
                "disableSubscriptionOverrides": False,
                "defaultRequestPolicy": {"headerContentType": policy.content_type},
            }
        },
        separators=(",", ":"),
    )


def _encode_token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, ValueError, UnicodeError):
        raise invalid("NextToken") from None


__all__ = ["PENDING", "BrokerError", "TopicLimits", "TopicService"]
