"""The checker's rules on synthetic event logs: each fires when it should, and only then."""

from __future__ import annotations

from bench.chaos_checker import Checker, FanoutChecker


def _clean() -> Checker:
    """Two messages sent, each received once and deleted in its window."""
    checker = Checker(tolerance=0.25)
    checker.sent("b1", "m1", at=0.0)
    checker.sent("b2", "m2", at=0.1)
    checker.received("b1", "m1", started=1.0, at=1.1, visibility_timeout=2, receipt="r1")
    checker.received("b2", "m2", started=1.0, at=1.1, visibility_timeout=2, receipt="r2")
    checker.deleted("m1", "r1", started=1.2, at=1.3)
    checker.deleted("m2", "r2", started=1.2, at=1.3)
    return checker


def test_a_clean_log_breaks_no_rule() -> None:
    findings = _clean().check()
    assert findings.ok
    assert findings.figures() == {
        "acknowledged": 2,
        "delivered": 2,
        "deliveries": 2,
        "lost": 0,
        "in_window_duplicates": 0,
        "deleted_redelivered": 0,
        "fifo_violations": 0,
        "in_flight_at_end": 0,
    }


def test_an_acknowledged_body_never_delivered_is_lost() -> None:
    checker = _clean()
    checker.sent("b3", "m3", at=0.2)
    findings = checker.check()
    assert findings.lost == ["b3"]
    assert not findings.ok


def test_a_body_sent_twice_counts_once_and_either_copy_delivers_it() -> None:
    checker = _clean()
    checker.sent("b3", "m3", at=0.2)
    checker.sent("b3", "m4", at=0.3)  # a retried send acknowledged twice
    checker.received("b3", "m4", started=2.0, at=2.1, visibility_timeout=2, receipt="r4")
    findings = checker.check()
    assert findings.ok
    assert findings.acknowledged == 3
    assert findings.in_flight_at_end == ["m4"]  # received, never deleted: a figure, not a rule


def test_a_redelivery_inside_the_window_is_a_duplicate() -> None:
    checker = Checker(tolerance=0.25)
    checker.sent("b1", "m1", at=0.0)
    checker.received("b1", "m1", started=1.0, at=1.1, visibility_timeout=2, receipt="r1")
    checker.received("b1", "m1", started=2.0, at=2.5, visibility_timeout=2, receipt="r2")
    findings = checker.check()
    assert len(findings.in_window_duplicates) == 1
    assert not findings.ok


def test_a_redelivery_after_the_window_or_within_tolerance_is_not() -> None:
    checker = Checker(tolerance=0.25)
    checker.sent("b1", "m1", at=0.0)
    checker.received("b1", "m1", started=1.0, at=1.1, visibility_timeout=2, receipt="r1")
    checker.received("b1", "m1", started=2.5, at=2.8, visibility_timeout=2, receipt="r2")
    checker.received("b1", "m1", started=4.6, at=5.1, visibility_timeout=2, receipt="r3")
    assert checker.check().ok


def test_a_redelivery_after_a_delete_inside_the_window_is_flagged() -> None:
    checker = Checker(tolerance=0.25)
    checker.sent("b1", "m1", at=0.0)
    checker.received("b1", "m1", started=1.0, at=1.1, visibility_timeout=2, receipt="r1")
    checker.deleted("m1", "r1", started=1.2, at=1.3)
    checker.received("b1", "m1", started=4.0, at=4.1, visibility_timeout=2, receipt="r2")
    findings = checker.check()
    assert len(findings.deleted_redelivered) == 1
    assert not findings.in_window_duplicates


def test_a_late_delete_of_a_stale_receipt_does_not_count() -> None:
    """A delete answered after the window could have ended proves nothing: the message may
    legitimately be delivered again."""
    checker = Checker(tolerance=0.25)
    checker.sent("b1", "m1", at=0.0)
    checker.received("b1", "m1", started=1.0, at=1.1, visibility_timeout=2, receipt="r1")
    checker.deleted("m1", "r1", started=1.2, at=3.5)
    checker.received("b1", "m1", started=3.0, at=3.2, visibility_timeout=2, receipt="r2")
    checker.deleted("m1", "r2", started=3.3, at=3.4)
    findings = checker.check()
    assert findings.ok
    assert findings.in_flight_at_end == []


def _fifo(order: list[int]) -> Checker:
    checker = Checker()
    for seq in range(3):
        checker.sent(f"g/{seq}", f"m{seq}", at=0.0, group="g", seq=seq)
    for i, seq in enumerate(order):
        at = 10.0 * (i + 1)
        checker.received(
            f"g/{seq}",
            f"m{seq}",
            started=at - 0.1,
            at=at,
            visibility_timeout=2,
            receipt=f"r{i}",
            group="g",
            seq=seq,
        )
    return checker


def test_fifo_in_order_delivery_is_fine() -> None:
    assert _fifo([0, 1, 2]).check().ok


def test_fifo_redelivery_of_an_undeleted_message_restarts_from_it() -> None:
    assert _fifo([0, 1, 2, 1, 2]).check().ok


def test_fifo_out_of_order_first_delivery_is_a_violation() -> None:
    findings = _fifo([0, 2, 1]).check()
    assert len(findings.fifo_violations) == 1
    assert not findings.ok


def test_fifo_order_is_per_group() -> None:
    checker = _fifo([0, 1, 2])
    checker.sent("h/0", "n0", at=0.0, group="h", seq=0)
    checker.received(
        "h/0", "n0", started=99.0, at=99.5, visibility_timeout=2, receipt="x", group="h", seq=0
    )
    assert checker.check().ok


# --- topic fan-out ------------------------------------------------------------------------------


def _fanout() -> FanoutChecker:
    """Two subscriptions: ``red`` wants red publishes, ``all`` wants everything."""
    checker = FanoutChecker()
    checker.subscribe("red", lambda a: a["color"] == "red")
    checker.subscribe("all", lambda a: True)
    checker.published("p1", {"color": "red"})
    checker.published("p2", {"color": "blue"})
    checker.delivered("red", "p1", {"color": "red"})
    checker.delivered("all", "p1", {"color": "red"})
    checker.delivered("all", "p2", {"color": "blue"})
    return checker


def test_a_complete_fanout_breaks_no_rule() -> None:
    findings = _fanout().check()
    assert findings.ok
    assert findings.expected == {"red": 1, "all": 2}
    assert findings.figures() == {
        "published": 2,
        "expected_deliveries": 3,
        "deliveries": 3,
        "missing": 0,
        "unwanted": 0,
        "duplicate_deliveries": 0,
    }


def test_a_matching_subscription_without_the_publish_is_missing_it() -> None:
    checker = _fanout()
    checker.published("p3", {"color": "red"})
    checker.delivered("all", "p3", {"color": "red"})
    findings = checker.check()
    assert findings.missing == {"red": ["p3"], "all": []}
    assert not findings.ok


def test_a_publish_the_filter_refuses_is_unwanted() -> None:
    checker = _fanout()
    checker.delivered("red", "p2", {"color": "blue"})
    findings = checker.check()
    assert findings.unwanted == {"red": ["p2"], "all": []}
    assert not findings.ok


def test_repeated_and_unacknowledged_deliveries_are_allowed() -> None:
    checker = _fanout()
    checker.delivered("red", "p1", {"color": "red"})  # at least once
    # A publish whose acknowledgement was lost is judged by the attributes it carried.
    checker.delivered("all", "p9", {"color": "green"})
    findings = checker.check()
    assert findings.ok
    assert findings.duplicates == {"red": 1, "all": 0}
    assert findings.expected == {"red": 1, "all": 2}
