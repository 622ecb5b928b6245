"""Low-water marks: how far a claim may skip, and when it must look from the start again."""

from __future__ import annotations

from datetime import timedelta

from broker.storage.low_water import START, LowWaterMarks

NOW = START + timedelta(days=20000)


def marks(full_scan_seconds: float = 3600) -> LowWaterMarks:
    return LowWaterMarks(margin_seconds=0.25, full_scan_seconds=full_scan_seconds)


def test_an_unknown_queue_is_scanned_from_the_start():
    assert marks().scan_from(1) == START


def test_a_claim_that_took_less_than_it_asked_for_reaches_now_less_the_margin():
    m = marks()
    m.scanned(1, START, database_now=NOW, claimed=3, limit=10, last_claimed=NOW)
    assert m.scan_from(1) == NOW - timedelta(seconds=0.25)


def test_a_full_claim_reaches_only_its_last_row():
    m = marks()
    last = NOW - timedelta(seconds=30)
    m.scanned(1, START, database_now=NOW, claimed=10, limit=10, last_claimed=last)
    assert m.scan_from(1) == last


def test_a_bounded_claim_never_lowers_the_mark():
    m = marks()
    m.scanned(1, START, database_now=NOW, claimed=0, limit=10, last_claimed=None)
    high = m.scan_from(1)
    m.scanned(
        1, high, database_now=NOW, claimed=10, limit=10, last_claimed=NOW - timedelta(minutes=5)
    )
    assert m.scan_from(1) == high


def test_a_full_scan_is_due_after_its_interval_and_may_lower_the_mark():
    m = marks(full_scan_seconds=0)
    m.scanned(1, START, database_now=NOW, claimed=0, limit=10, last_claimed=None)
    assert m.scan_from(1) == START  # due at once with a zero interval
    assert m.scan_from(1, full=False) == NOW - timedelta(seconds=0.25)
    lower = NOW - timedelta(minutes=5)
    m.scanned(1, START, database_now=NOW, claimed=10, limit=10, last_claimed=lower)
    assert m.scan_from(1, full=False) == lower


def test_queues_have_their_own_marks():
    m = marks()
    m.scanned(1, START, database_now=NOW, claimed=0, limit=10, last_claimed=None)
    assert m.scan_from(2) == START
    m.forget(1)
    assert m.scan_from(1) == START
