"""The deliverer: drains the HTTP/S outbox and fans out ``broker.publish_message`` rows.

The outbox holds SNS notifications and, with ``kind`` ``events``, EventBridge API-destination
deliveries, which ``broker.workers.event_targets`` makes (auth, rate limit, retry policy).

Every broker process runs one; they share the tables through SKIP LOCKED leases. A claimed
delivery's lease is its ``next_attempt_at``: if this process dies mid-POST the row is due again
when the lease runs out and another process retries it, so delivery is at least once. Failures
are rescheduled by the subscription's delivery policy; when retries run out the envelope moves
to the subscription's dead-letter queue (or is dropped without one), as SNS does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx

from broker.core.delivery_policy import parse_effective
from broker.core.event_models import EVENTS_KIND
from broker.core.ports import NullTopicObserver, Outbox, Signal, TopicObserver, TopicStore
from broker.core.rate_limits import TokenBuckets
from broker.core.topic_models import ClaimedDelivery
from broker.core.topics import TopicService
from broker.errors import Throttled, Unavailable
from broker.workers.event_targets import EventTargetPoster

log = logging.getLogger(__name__)

USER_AGENT = "Amazon Simple Notification Service Agent"
NOTIFICATION = "Notification"
CLEANUP_SECONDS = 60.0


class Deliverer:
    name = "deliverer"

    def __init__(
        self,
        outbox: Outbox,
        store: TopicStore,
        topics: TopicService,
        signal: Signal,
        base_url: str,
        *,
        batch_size: int = 50,
        poll_seconds: float = 1.0,
        timeout_seconds: float = 15.0,
    ) -> None:
        self._outbox = outbox
        self._store = store
        self._topics = topics
        self._signal = signal
        self._base_url = base_url.rstrip("/")
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self._buckets = TokenBuckets()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._cleaned_at = 0.0
        self.observer: TopicObserver = NullTopicObserver()
        """Counts notification deliveries (confirmation messages are not counted)."""
        self.event_targets: EventTargetPoster | None = None
        """Delivers the outbox rows of event rules' API destinations (``kind`` events)."""

    def wake(self) -> None:
        """New outbox rows were committed in this process: look now, not at the next poll."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout_seconds), follow_redirects=False
            )
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            more = False
            self._wake.clear()
            try:
                more = await self.run_once()
            except asyncio.CancelledError:
                raise
            except (Unavailable, Throttled) as exc:
                # A database outage: one line per step, not a traceback every poll.
                log.warning("deliverer step failed (%s); retrying in %.1fs", exc, self.poll_seconds)
            except Exception:
                log.exception("deliverer step failed; retrying in %.1fs", self.poll_seconds)
            if not more:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run_once(self) -> bool:
        """One pass; True when there may be more due work right away."""
        # httpx applies the timeout per phase (connect, write, read): twice it, plus a second,
        # outlasts any POST that is still going, so a live delivery never loses its lease.
        lease = 2 * self.timeout_seconds + 1.0
        pending = await self._store.claim_publications(self.batch_size, lease)
        for publication in pending:
            try:
                await self._topics.publish_pending(publication, self._base_url)
            except Exception:
                log.exception("fan-out of publication %d failed; retried later", publication.id)
        claimed = await self._outbox.claim_deliveries(self.batch_size, lease)
        if claimed:
            await asyncio.gather(*(self._deliver(d) for d in claimed))
        if time.monotonic() - self._cleaned_at > CLEANUP_SECONDS:
            self._cleaned_at = time.monotonic()
            await self._outbox.delete_expired_topic_deduplication(1000)
        return bool(pending) or bool(claimed)

    async def _deliver(self, delivery: ClaimedDelivery) -> None:
        if delivery.kind == EVENTS_KIND:
            if self.event_targets is not None and self._client is not None:
                await self.event_targets.deliver(delivery, self._client)
            return
        policy = parse_effective(delivery.policy)
        rate = policy.max_receives_per_second
        if not self._buckets.take(delivery.subscription_arn, rate):
            await self._outbox.retry_delivery(
                delivery.id, delivery.attempts, 1.0 / (rate or 1), count_attempt=False
            )
            return
        # Subscription and unsubscribe confirmations are not messages of the topic: not counted.
        counted = delivery.message_type == NOTIFICATION
        protocol = _protocol(delivery.endpoint)
        if await self._post(delivery, policy.content_type):
            await self._outbox.complete_delivery(delivery.id, delivery.attempts)
            if counted:
                self.observer.messages_delivered(delivery.topic_arn, protocol, 1)
            return
        if counted:
            self.observer.delivery_failed(delivery.topic_arn, protocol)
        delay = policy.retry.delay_after(delivery.attempts)
        if delay is not None:
            await self._outbox.retry_delivery(delivery.id, delivery.attempts, delay, True)
            if counted:
                self.observer.delivery_retried(delivery.topic_arn, protocol)
            return
        log.warning(
            "delivery %s to %s failed %d times; %s",
            delivery.message_id,
            delivery.endpoint,
            delivery.attempts,
            "moved to its dead-letter queue" if delivery.dead_letter_arn else "dropped",
        )
        queue_id = await self._outbox.dead_letter_delivery(delivery.id, delivery.attempts)
        if counted:
            self.observer.delivery_dead_lettered(delivery.topic_arn)
        if queue_id is not None:
            self._signal.sent(queue_id, 1)

    async def _post(self, delivery: ClaimedDelivery, content_type: str) -> bool:
        headers = {
            "x-amz-sns-message-type": delivery.message_type,
            "x-amz-sns-message-id": delivery.message_id,
            "x-amz-sns-topic-arn": delivery.topic_arn,
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
        }
        if delivery.message_type != "SubscriptionConfirmation":
            headers["x-amz-sns-subscription-arn"] = delivery.subscription_arn
        if delivery.raw:
            headers["x-amz-sns-rawdelivery"] = "true"
        client = self._client
        if client is None:
            return False
        try:
            response = await client.post(
                delivery.endpoint, content=delivery.body.encode(), headers=headers
            )
        except httpx.HTTPError as exc:
            log.info("POST %s failed: %r", delivery.endpoint, exc)
            return False
        return 200 <= response.status_code < 300


def _protocol(endpoint: str) -> str:
    """The subscription's protocol, from its endpoint (Subscribe checked the scheme)."""
    return "https" if endpoint[:6].lower() == "https:" else "http"
