"""A set of closed integer intervals answering "which intervals contain x" in O(log n + k).

Numeric ranges (scaled to integers) and CIDR blocks (integer addresses) both live here. It is a
centred interval tree, rebuilt lazily on the first query after a change: patterns are added in
bursts and queried far more often than they change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Interval(Generic[T]):
    low: int
    high: int
    payload: T


class _Node(Generic[T]):
    __slots__ = ("by_high", "by_low", "centre", "left", "right")

    def __init__(self, intervals: list[Interval[T]]) -> None:
        ends = sorted(e for i in intervals for e in (i.low, i.high))
        self.centre = ends[len(ends) // 2]
        here = [i for i in intervals if i.low <= self.centre <= i.high]
        left = [i for i in intervals if i.high < self.centre]
        right = [i for i in intervals if i.low > self.centre]
        self.by_low = sorted(here, key=lambda i: i.low)
        self.by_high = sorted(here, key=lambda i: i.high, reverse=True)
        self.left = _Node(left) if left else None
        self.right = _Node(right) if right else None


class IntervalSet(Generic[T]):
    def __init__(self) -> None:
        self._intervals: list[Interval[T]] = []
        self._root: _Node[T] | None = None
        self._stale = False

    def __len__(self) -> int:
        return len(self._intervals)

    def add(self, low: int, high: int, payload: T) -> None:
        self._intervals.append(Interval(low, high, payload))
        self._stale = True

    def remove(self, low: int, high: int, payload: T) -> None:
        self._intervals.remove(Interval(low, high, payload))
        self._stale = True

    def containing(self, point: int) -> Iterator[T]:
        if self._stale:
            self._root = _Node(self._intervals) if self._intervals else None
            self._stale = False
        node = self._root
        while node is not None:
            if point < node.centre:
                for interval in node.by_low:
                    if interval.low > point:
                        break
                    yield interval.payload
                node = node.left
            elif point > node.centre:
                for interval in node.by_high:
                    if interval.high < point:
                        break
                    yield interval.payload
                node = node.right
            else:
                for interval in node.by_low:
                    yield interval.payload
                return
