"""The HTTP/S retry schedule: phases, backoff functions, validation, subscription overrides."""

from __future__ import annotations

import itertools
import json

import pytest

from broker.core.delivery_policy import (
    RetryPolicy,
    effective_policy,
    parse_effective,
    subscription_policy,
    topic_policy,
)
from broker.errors import InvalidParameterValue


def test_default_is_three_retries_twenty_seconds_apart() -> None:
    policy = RetryPolicy()
    assert [policy.delay_after(n) for n in range(1, 5)] == [20.0, 20.0, 20.0, None]


def test_phases_run_in_order() -> None:
    policy = RetryPolicy(
        min_delay=2,
        max_delay=32,
        num_retries=9,
        num_no_delay=2,
        num_min_delay=2,
        num_max_delay=1,
        backoff="exponential",
    )
    delays = [policy.delay_after(n) for n in range(1, 11)]
    assert delays[:4] == [0.0, 0.0, 2.0, 2.0]
    assert delays[4:8] == pytest.approx([4.0, 8.0, 16.0, 32.0])
    assert delays[8:] == [32.0, None]


@pytest.mark.parametrize("function", ["linear", "arithmetic", "geometric", "exponential"])
def test_backoff_rises_from_min_to_max(function: str) -> None:
    policy = RetryPolicy(min_delay=1, max_delay=100, num_retries=10, backoff=function)
    delays = [policy.delay_after(n) for n in range(1, 11)]
    assert all(a is not None and b is not None and a <= b for a, b in itertools.pairwise(delays))
    assert delays[-1] == pytest.approx(100.0)


@pytest.mark.parametrize(
    "policy",
    [
        {"healthyRetryPolicy": {"minDelayTarget": 0}},
        {"healthyRetryPolicy": {"numRetries": 101}},
        {"healthyRetryPolicy": {"backoffFunction": "cubic"}},
        {"healthyRetryPolicy": {"numRetries": 2, "numNoDelayRetries": 3}},
        {"healthyRetryPolicy": {"minDelayTarget": 3600, "maxDelayTarget": 3600, "numRetries": 2}},
        {"throttlePolicy": {"maxReceivesPerSecond": 0}},
    ],
)
def test_invalid_subscription_policies(policy: dict[str, object]) -> None:
    with pytest.raises(InvalidParameterValue, match="Invalid parameter: DeliveryPolicy"):
        subscription_policy(json.dumps(policy))


def test_subscription_overrides_topic_unless_disabled() -> None:
    topic = {
        "http": {
            "defaultHealthyRetryPolicy": {"numRetries": 5, "minDelayTarget": 1, "maxDelayTarget": 1}
        }
    }
    sub = {"healthyRetryPolicy": {"numRetries": 1, "minDelayTarget": 1, "maxDelayTarget": 1}}
    sub_text = json.dumps(sub)
    assert effective_policy(json.dumps(topic), sub_text).retry.num_retries == 1
    topic["http"]["disableSubscriptionOverrides"] = True  # type: ignore[index]
    assert effective_policy(json.dumps(topic), sub_text).retry.num_retries == 5
    assert topic_policy("")[0].retry.num_retries == 3


def test_effective_policy_round_trips_through_json() -> None:
    sub = {
        "healthyRetryPolicy": {"numRetries": 4, "minDelayTarget": 2, "maxDelayTarget": 9},
        "throttlePolicy": {"maxReceivesPerSecond": 7},
        "requestPolicy": {"headerContentType": "application/json"},
    }
    policy = effective_policy("", json.dumps(sub))
    assert parse_effective(policy.to_json()) == policy
