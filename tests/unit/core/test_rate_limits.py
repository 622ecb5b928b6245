"""The token buckets behind delivery rates (maxReceivesPerSecond, InvocationRateLimitPerSecond)."""

from __future__ import annotations

from broker.core.rate_limits import TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_no_rate_is_no_limit() -> None:
    buckets = TokenBuckets(Clock())
    assert all(buckets.take("a", None) for _ in range(1000))
    assert all(buckets.take("a", 0) for _ in range(1000))


def test_a_full_bucket_holds_one_second_of_tokens_then_refills_at_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(clock)
    assert [buckets.take("a", 3) for _ in range(4)] == [True, True, True, False]
    clock.now += 0.34  # a third of a second: one token back
    assert [buckets.take("a", 3) for _ in range(2)] == [True, False]


def test_keys_have_their_own_buckets() -> None:
    buckets = TokenBuckets(Clock())
    assert buckets.take("a", 1)
    assert not buckets.take("a", 1)
    assert buckets.take("b", 1)


def test_a_changed_rate_applies_at_once() -> None:
    clock = Clock()
    buckets = TokenBuckets(clock)
    assert buckets.take("a", 1)
    assert not buckets.take("a", 1)
    clock.now += 0.5
    assert buckets.take("a", 10)  # 0 + 0.5 s x 10 per second


def test_burst_caps_the_bucket_apart_from_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(clock)
    assert [buckets.take("a", 100, burst=2) for _ in range(3)] == [True, True, False]
    clock.now += 60
    assert [buckets.take("a", 100, burst=2) for _ in range(3)] == [True, True, False]
