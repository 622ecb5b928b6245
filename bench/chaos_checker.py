"""The chaos checker: a log of what clients saw, and the rules a broker must never break.

Clients record every *acknowledged* send, every receive (with the visibility window it opened)
and every delete the broker answered. Times are the client's (``time.monotonic()`` of one
process); a receive's window is bounded below by ``request start + visibility timeout``, since
the broker leased the message no earlier than the request started. Rules:

- ``lost``: acknowledged bodies never delivered (by body id: a send retried after an ambiguous
  failure may be stored twice; either copy delivers the body). Must be 0.
- ``in_window_duplicates``: a message delivered again before the window of its previous delivery
  could have ended (less ``tolerance`` seconds). Must be 0.
- ``deleted_redelivered``: a message delivered again after a delete that certainly ran inside its
  window (the delete was answered before the window could have ended) was acknowledged. Must be 0.
- ``fifo_violations``: in a FIFO group, the first delivery of a sequence number after the first
  delivery of a later one (receives ordered by the time their answers arrived; a redelivery of a
  message that was not deleted in time is legitimate and ignored here). Must be 0.
- ``in_flight_at_end``: messages whose last delivery was never followed by an acknowledged
  delete. A figure, not a rule (0 after a complete drain).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOLERANCE_SECONDS = 0.25


@dataclass(frozen=True)
class Send:
    body_id: str
    message_id: str
    group: str | None
    seq: int
    at: float


@dataclass(frozen=True)
class Receive:
    body_id: str
    message_id: str
    group: str | None
    seq: int
    started: float
    """When the receive request was sent."""
    at: float
    """When its answer arrived."""
    visibility_timeout: float
    receipt: str

    @property
    def window_end(self) -> float:
        return self.started + self.visibility_timeout


@dataclass(frozen=True)
class Delete:
    message_id: str
    receipt: str
    started: float
    at: float


@dataclass
class Findings:
    acknowledged: int = 0
    delivered: int = 0
    deliveries: int = 0
    lost: list[str] = field(default_factory=list)
    in_window_duplicates: list[str] = field(default_factory=list)
    deleted_redelivered: list[str] = field(default_factory=list)
    fifo_violations: list[str] = field(default_factory=list)
    in_flight_at_end: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.in_window_duplicates
            or self.deleted_redelivered
            or self.fifo_violations
        )

    def figures(self) -> dict[str, int]:
        return {
            "acknowledged": self.acknowledged,
            "delivered": self.delivered,
            "deliveries": self.deliveries,
            "lost": len(self.lost),
            "in_window_duplicates": len(self.in_window_duplicates),
            "deleted_redelivered": len(self.deleted_redelivered),
            "fifo_violations": len(self.fifo_violations),
            "in_flight_at_end": len(self.in_flight_at_end),
        }

    def summary(self) -> str:
        lines = [f"{k}={v}" for k, v in self.figures().items()]
        for name in ("lost", "in_window_duplicates", "deleted_redelivered", "fifo_violations"):
            for example in getattr(self, name)[:5]:
                lines.append(f"  {name}: {example}")
        return "\n".join(lines)


class Checker:
    """Thread-safe event log; ``check()`` applies the rules."""

    def __init__(self, tolerance: float = DEFAULT_TOLERANCE_SECONDS) -> None:
        self.tolerance = tolerance
        self.sends: list[Send] = []
        self.receives: list[Receive] = []
        self.deletes: list[Delete] = []
        self._lock = threading.Lock()

    def sent(
        self, body_id: str, message_id: str, at: float, group: str | None = None, seq: int = 0
    ) -> None:
        with self._lock:
            self.sends.append(Send(body_id, message_id, group, seq, at))

    def received(
        self,
        body_id: str,
        message_id: str,
        started: float,
        at: float,
        visibility_timeout: float,
        receipt: str = "",
        group: str | None = None,
        seq: int = 0,
    ) -> None:
        with self._lock:
            self.receives.append(
                Receive(body_id, message_id, group, seq, started, at, visibility_timeout, receipt)
            )

    def deleted(self, message_id: str, receipt: str, started: float, at: float) -> None:
        """An acknowledged delete (the broker answered success for this receipt)."""
        with self._lock:
            self.deletes.append(Delete(message_id, receipt, started, at))

    def delivered_bodies(self) -> set[str]:
        with self._lock:
            return {r.body_id for r in self.receives}

    def acknowledged_bodies(self) -> set[str]:
        with self._lock:
            return {s.body_id for s in self.sends}

    def check(self) -> Findings:
        with self._lock:
            sends, receives, deletes = list(self.sends), list(self.receives), list(self.deletes)
        findings = Findings()
        acknowledged = {s.body_id for s in sends}
        delivered = {r.body_id for r in receives}
        findings.acknowledged = len(acknowledged)
        findings.delivered = len(acknowledged & delivered)
        findings.deliveries = len(receives)
        findings.lost = sorted(acknowledged - delivered)

        by_message: dict[str, list[Receive]] = {}
        for receive in sorted(receives, key=lambda r: r.at):
            by_message.setdefault(receive.message_id, []).append(receive)
        deletes_by_receipt: dict[str, list[Delete]] = {}
        for delete in deletes:
            deletes_by_receipt.setdefault(delete.receipt, []).append(delete)

        for message_id, history in by_message.items():
            for previous, current in itertools.pairwise(history):
                if current.at < previous.window_end - self.tolerance:
                    findings.in_window_duplicates.append(
                        f"{message_id} ({previous.body_id}): delivered at {current.at:.3f}, "
                        f"window of the delivery at {previous.at:.3f} "
                        f"ends {previous.window_end:.3f}"
                    )
            for index, receive in enumerate(history):
                certain = [
                    d
                    for d in deletes_by_receipt.get(receive.receipt, [])
                    if receive.receipt and d.at < receive.window_end - self.tolerance
                ]
                if certain and index + 1 < len(history):
                    later = history[index + 1]
                    if later.at > min(d.started for d in certain):
                        findings.deleted_redelivered.append(
                            f"{message_id} ({receive.body_id}): deleted at "
                            f"{certain[0].at:.3f}, delivered again at {later.at:.3f}"
                        )
            last = history[-1]
            if not deletes_by_receipt.get(last.receipt):
                findings.in_flight_at_end.append(message_id)

        highest: dict[str, Receive] = {}
        seen: set[tuple[str, int]] = set()
        for receive in sorted(receives, key=lambda r: r.at):
            if receive.group is None or (receive.group, receive.seq) in seen:
                continue  # redeliveries of a message not deleted in time restart from it
            seen.add((receive.group, receive.seq))
            top = highest.get(receive.group)
            if top is not None and receive.seq < top.seq:
                findings.fifo_violations.append(
                    f"group {receive.group}: seq {receive.seq} first delivered at "
                    f"{receive.at:.3f}, after seq {top.seq} at {top.at:.3f}"
                )
            if top is None or receive.seq > top.seq:
                highest[receive.group] = receive
        return findings


def as_json(findings: Findings) -> dict[str, Any]:
    return {**findings.figures(), "examples": findings.summary()}


# --- topic fan-out ------------------------------------------------------------------------------


@dataclass
class FanoutFindings:
    published: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)
    """Per subscription: deliveries received (duplicates included)."""
    expected: dict[str, int] = field(default_factory=dict)
    """Per subscription: acknowledged publishes its filter policy matches."""
    missing: dict[str, list[str]] = field(default_factory=dict)
    """Per subscription: matching acknowledged publishes never delivered. Must be empty."""
    unwanted: dict[str, list[str]] = field(default_factory=dict)
    """Per subscription: publishes delivered that its filter policy refuses. Must be empty."""
    duplicates: dict[str, int] = field(default_factory=dict)
    """Per subscription: deliveries beyond the first of a publish (at least once allows them)."""

    @property
    def missing_total(self) -> int:
        return sum(len(v) for v in self.missing.values())

    @property
    def unwanted_total(self) -> int:
        return sum(len(v) for v in self.unwanted.values())

    @property
    def ok(self) -> bool:
        return not self.missing_total and not self.unwanted_total

    def figures(self) -> dict[str, int]:
        return {
            "published": self.published,
            "expected_deliveries": sum(self.expected.values()),
            "deliveries": sum(self.deliveries.values()),
            "missing": self.missing_total,
            "unwanted": self.unwanted_total,
            "duplicate_deliveries": sum(self.duplicates.values()),
        }

    def summary(self) -> str:
        lines = [f"{k}={v}" for k, v in self.figures().items()]
        for name in sorted(self.expected):
            lines.append(
                f"  {name}: expected {self.expected[name]}, "
                f"deliveries {self.deliveries.get(name, 0)}, "
                f"missing {self.missing.get(name, [])[:5]}, "
                f"unwanted {self.unwanted.get(name, [])[:5]}"
            )
        return "\n".join(lines)


class FanoutChecker:
    """Acknowledged publishes and what each subscription received. Each subscription comes with
    its own predicate over a publish's attributes (written independently of the broker's filter
    matcher). Rules: every acknowledged publish a subscription wants reaches it at least once
    (``missing``), and nothing it does not want reaches it (``unwanted``)."""

    def __init__(self) -> None:
        self._wants: dict[str, Callable[[Mapping[str, Any]], bool]] = {}
        self._published: dict[str, Mapping[str, Any]] = {}
        self._delivered: dict[str, dict[str, int]] = {}
        self._carried: dict[str, Mapping[str, Any]] = {}
        self._lock = threading.Lock()

    def subscribe(self, name: str, wants: Callable[[Mapping[str, Any]], bool]) -> None:
        with self._lock:
            self._wants[name] = wants
            self._delivered.setdefault(name, {})

    def published(self, body_id: str, attributes: Mapping[str, Any]) -> None:
        """An acknowledged publish (a retried one is recorded once, under its body id)."""
        with self._lock:
            self._published[body_id] = attributes

    def delivered(self, subscription: str, body_id: str, attributes: Mapping[str, Any]) -> None:
        """A delivery to ``subscription``; ``attributes`` are the ones the message carried (a
        publish whose acknowledgement was lost may still be delivered, and is judged by them)."""
        with self._lock:
            counts = self._delivered.setdefault(subscription, {})
            counts[body_id] = counts.get(body_id, 0) + 1
            self._carried[body_id] = attributes

    def check(self) -> FanoutFindings:
        with self._lock:
            published = dict(self._published)
            delivered = {k: dict(v) for k, v in self._delivered.items()}
            carried = dict(self._carried)
            wants = dict(self._wants)
        findings = FanoutFindings(published=len(published))
        for name, want in wants.items():
            got = delivered.get(name, {})
            expected = {b for b, attributes in published.items() if want(attributes)}
            findings.expected[name] = len(expected)
            findings.deliveries[name] = sum(got.values())
            findings.missing[name] = sorted(expected - got.keys())
            findings.unwanted[name] = sorted(
                b for b in got if not want(published.get(b) or carried[b])
            )
            findings.duplicates[name] = sum(n - 1 for n in got.values())
        return findings
