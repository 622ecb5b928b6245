"""Per-queue low-water marks: where a standard queue's claim scan may start.

Every receive leaves dead entries at the head of the claim index (the message's old
``visible_at``), and every delete another. Vacuum removes them, unless a long transaction
anywhere in the database holds back the xmin horizon: then each claim walks over every message
consumed since, and throughput collapses. The mark lets the scan start past them.

After a claim at database time ``t`` that saw every visible row it asked for, no committed row
with ``visible_at`` before the last row it claimed (or before ``t``, if it claimed fewer than it
asked for) is still visible: the mark may rise to that point. Rows can still appear below it in
two ways: a send or visibility change that commits later than it started (bounded by a small
margin, since those statements take ``visible_at`` from ``clock_timestamp()`` and commit at once),
and a claim by another session that rolls back. A full scan from the start of the index at
least every ``full_scan_seconds`` finds any such row, so a message can be delayed by that long in
those rare cases, never lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

START = datetime(1970, 1, 1, tzinfo=UTC)
"""Before any ``visible_at``: a scan from here is a full scan."""


@dataclass
class _Mark:
    at: datetime
    full_scan_due: float


class LowWaterMarks:
    def __init__(self, margin_seconds: float, full_scan_seconds: float) -> None:
        self._margin = timedelta(seconds=margin_seconds)
        self._full_scan_seconds = full_scan_seconds
        self._marks: dict[int, _Mark] = {}

    def scan_from(self, queue_id: int, full: bool = True) -> datetime:
        """Where the next claim of the queue starts: ``START`` when a full scan is due (or,
        with ``full=False``, never: for look-ups that only estimate)."""
        mark = self._marks.get(queue_id)
        if mark is None:
            return START
        if full and time.monotonic() >= mark.full_scan_due:
            return START
        return mark.at

    def scanned(
        self,
        queue_id: int,
        started_from: datetime,
        *,
        database_now: datetime,
        claimed: int,
        limit: int,
        last_claimed: datetime | None,
    ) -> None:
        """Move the mark after a claim that scanned from ``started_from``."""
        reached = last_claimed if claimed >= limit and last_claimed is not None else database_now
        candidate = min(reached, database_now - self._margin)
        mark = self._marks.get(queue_id)
        if started_from == START:
            # A full scan saw every row: its answer stands even if it is lower than the mark.
            due = time.monotonic() + self._full_scan_seconds
            if mark is None:
                self._marks[queue_id] = _Mark(candidate, due)
            else:
                mark.at, mark.full_scan_due = candidate, due
        elif mark is not None:
            mark.at = max(mark.at, candidate)

    def forget(self, queue_id: int) -> None:
        self._marks.pop(queue_id, None)
