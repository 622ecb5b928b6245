"""The SNS HTTP/S delivery policy: how a failed POST is retried, and how fast an endpoint is fed.

A topic's ``DeliveryPolicy`` holds ``{"http": {"defaultHealthyRetryPolicy", "defaultThrottlePolicy",
"defaultRequestPolicy", "disableSubscriptionOverrides"}}``; a subscription's holds
``{"healthyRetryPolicy", "throttlePolicy", "requestPolicy"}`` and wins unless the topic disables
overrides. The retries after the first attempt run in four phases: immediate, pre-backoff (at the
minimum delay), backoff (minimum to maximum by the backoff function) and post-backoff (at the
maximum delay). No jitter: the schedule is deterministic, which tests rely on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from broker.errors import InvalidParameterValue

MAX_DELAY_SECONDS = 3600
BACKOFF_FUNCTIONS = frozenset({"linear", "arithmetic", "geometric", "exponential"})
DEFAULT_CONTENT_TYPE = "text/plain; charset=UTF-8"


@dataclass(frozen=True)
class RetryPolicy:
    min_delay: int = 20
    max_delay: int = 20
    num_retries: int = 3
    num_no_delay: int = 0
    num_min_delay: int = 0
    num_max_delay: int = 0
    backoff: str = "linear"

    def delay_after(self, attempts: int) -> float | None:
        """Seconds until the next try after ``attempts`` failed ones; None when exhausted."""
        retry = attempts  # the first try is attempt 1, so retry n follows attempt n
        if retry > self.num_retries:
            return None
        if retry <= self.num_no_delay:
            return 0.0
        retry -= self.num_no_delay
        if retry <= self.num_min_delay:
            return float(self.min_delay)
        retry -= self.num_min_delay
        backoff = self.num_retries - self.num_no_delay - self.num_min_delay - self.num_max_delay
        if retry <= backoff:
            return self._backoff(retry, backoff)
        return float(self.max_delay)

    def _backoff(self, step: int, steps: int) -> float:
        low, high = float(self.min_delay), float(self.max_delay)
        share = step / steps
        if self.backoff == "exponential":
            return low * math.pow(high / low, share)
        if self.backoff == "geometric":
            return low + (high - low) * share**3
        if self.backoff == "arithmetic":
            return low + (high - low) * share**2
        return low + (high - low) * share


@dataclass(frozen=True)
class DeliveryPolicy:
    retry: RetryPolicy = RetryPolicy()
    max_receives_per_second: int | None = None
    content_type: str = DEFAULT_CONTENT_TYPE

    def to_json(self) -> str:
        retry = self.retry
        document: dict[str, Any] = {
            "healthyRetryPolicy": {
                "minDelayTarget": retry.min_delay,
                "maxDelayTarget": retry.max_delay,
                "numRetries": retry.num_retries,
                "numNoDelayRetries": retry.num_no_delay,
                "numMinDelayRetries": retry.num_min_delay,
                "numMaxDelayRetries": retry.num_max_delay,
                "backoffFunction": retry.backoff,
            },
            "sicklyRetryPolicy": None,
            "throttlePolicy": (
                {"maxReceivesPerSecond": self.max_receives_per_second}
                if self.max_receives_per_second
                else None
            ),
            "requestPolicy": {"headerContentType": self.content_type},
            "guaranteed": False,
        }
        return json.dumps(document, separators=(",", ":"))


def _invalid(name: str, reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid parameter: {name}: {reason}")


def _load(text: str, name: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError:
        raise _invalid(name, "the policy is not valid JSON") from None
    if not isinstance(document, dict):
        raise _invalid(name, "the policy must be a JSON object")
    return document


def _integer(document: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = document.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid("DeliveryPolicy", f"{key} must be an integer between {low} and {high}")
    return value


def _retry(document: Mapping[str, Any] | None) -> RetryPolicy:
    if document is None:
        return RetryPolicy()
    if not isinstance(document, dict):
        raise _invalid("DeliveryPolicy", "healthyRetryPolicy must be an object")
    max_delay = _integer(document, "maxDelayTarget", 20, 1, MAX_DELAY_SECONDS)
    min_delay = _integer(document, "minDelayTarget", 20, 1, max_delay)
    retries = _integer(document, "numRetries", 3, 0, 100)
    no_delay = _integer(document, "numNoDelayRetries", 0, 0, retries)
    min_retries = _integer(document, "numMinDelayRetries", 0, 0, retries)
    max_retries = _integer(document, "numMaxDelayRetries", 0, 0, retries)
    if no_delay + min_retries + max_retries > retries:
        raise _invalid("DeliveryPolicy", "the phase retries exceed numRetries")
    backoff = document.get("backoffFunction", "linear")
    if backoff not in BACKOFF_FUNCTIONS:
        raise _invalid(
            "DeliveryPolicy", f"backoffFunction must be one of {sorted(BACKOFF_FUNCTIONS)}"
        )
    policy = RetryPolicy(min_delay, max_delay, retries, no_delay, min_retries, max_retries, backoff)
    total = sum(policy.delay_after(n) or 0.0 for n in range(1, retries + 1))
    if total > MAX_DELAY_SECONDS:
        raise _invalid("DeliveryPolicy", "the total retry time exceeds 3600 seconds")
    return policy


def _throttle(document: Any) -> int | None:
    if document is None:
        return None
    if not isinstance(document, dict):
        raise _invalid("DeliveryPolicy", "throttlePolicy must be an object")
    if "maxReceivesPerSecond" not in document:
        return None
    return _integer(document, "maxReceivesPerSecond", 1, 1, 1_000_000)


def _content_type(document: Any) -> str | None:
    if document is None:
        return None
    if not isinstance(document, dict):
        raise _invalid("DeliveryPolicy", "requestPolicy must be an object")
    value = document.get("headerContentType")
    if value is not None and not isinstance(value, str):
        raise _invalid("DeliveryPolicy", "headerContentType must be a string")
    return value


def check_topic_policy(text: str) -> None:
    """Validate a topic ``DeliveryPolicy``; raise ``InvalidParameterValue`` if it is bad."""
    topic_policy(text)


def check_subscription_policy(text: str) -> None:
    subscription_policy(text)


def topic_policy(text: str) -> tuple[DeliveryPolicy, bool]:
    """The topic's default HTTP policy and whether subscriptions may override it."""
    if not text:
        return DeliveryPolicy(), False
    http = _load(text, "DeliveryPolicy").get("http", {})
    if not isinstance(http, dict):
        raise _invalid("DeliveryPolicy", "http must be an object")
    policy = DeliveryPolicy(
        _retry(http.get("defaultHealthyRetryPolicy")),
        _throttle(http.get("defaultThrottlePolicy")),
        _content_type(http.get("defaultRequestPolicy")) or DEFAULT_CONTENT_TYPE,
    )
    return policy, bool(http.get("disableSubscriptionOverrides", False))


def subscription_policy(text: str) -> dict[str, Any]:
    """The validated parts a subscription policy sets (absent keys are the topic's)."""
    if not text:
        return {}
    document = _load(text, "DeliveryPolicy")
    parts: dict[str, Any] = {}
    if document.get("healthyRetryPolicy") is not None:
        parts["retry"] = _retry(document["healthyRetryPolicy"])
    throttle = _throttle(document.get("throttlePolicy"))
    if throttle is not None:
        parts["max_receives_per_second"] = throttle
    content_type = _content_type(document.get("requestPolicy"))
    if content_type:
        parts["content_type"] = content_type
    return parts


def effective_policy(topic_text: str, subscription_text: str) -> DeliveryPolicy:
    topic, locked = topic_policy(topic_text)
    if locked:
        return topic
    parts = subscription_policy(subscription_text)
    return DeliveryPolicy(
        parts.get("retry", topic.retry),
        parts.get("max_receives_per_second", topic.max_receives_per_second),
        parts.get("content_type", topic.content_type),
    )


def parse_effective(text: str) -> DeliveryPolicy:
    """Read back a policy written by :meth:`DeliveryPolicy.to_json` (outbox rows carry one)."""
    document = json.loads(text)
    retry = document.get("healthyRetryPolicy") or {}
    throttle = document.get("throttlePolicy") or {}
    request = document.get("requestPolicy") or {}
    return DeliveryPolicy(
        RetryPolicy(
            retry.get("minDelayTarget", 20),
            retry.get("maxDelayTarget", 20),
            retry.get("numRetries", 3),
            retry.get("numNoDelayRetries", 0),
            retry.get("numMinDelayRetries", 0),
            retry.get("numMaxDelayRetries", 0),
            retry.get("backoffFunction", "linear"),
        ),
        throttle.get("maxReceivesPerSecond"),
        request.get("headerContentType", DEFAULT_CONTENT_TYPE),
    )
