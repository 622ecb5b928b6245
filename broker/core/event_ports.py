"""The ports of the event service: its store (``broker.storage.events``) and the wake-ups it
sends after a commit. Patterns come through ``broker.core.ports.FilterLanguage`` (scope
``event``), implemented on ``broker.matching`` by the AWS adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from broker.core.event_models import (
    ApiDestination,
    Archive,
    ArchivedEvent,
    BusRoutes,
    Connection,
    Dispatch,
    DispatchResult,
    DispatchTally,
    EventBus,
    Replay,
    Resolution,
    Rule,
    RuleSpec,
    ScheduledRule,
    Target,
)

EVENT_SCOPE = "event"
"""The ``FilterLanguage`` scope of EventBridge event patterns."""


class EventStore(Protocol):
    async def ensure_bus(
        self, account_id: str, name: str, arn: str, description: str | None
    ) -> tuple[EventBus, bool]: ...

    async def get_bus(self, arn: str) -> EventBus | None: ...

    async def get_bus_by_id(self, bus_id: int) -> EventBus | None: ...

    async def list_buses(
        self, account_id: str, prefix: str, after: str, limit: int
    ) -> list[EventBus]: ...

    async def change_bus_policy(
        self, bus_id: int, change: Callable[[str | None], str | None]
    ) -> EventBus | None: ...

    async def delete_bus(self, bus_id: int) -> None: ...

    async def put_rule(self, bus: EventBus, arn: str, spec: RuleSpec) -> Rule: ...

    async def get_rule(self, bus: EventBus, name: str) -> Rule | None: ...

    async def list_rules(
        self, bus: EventBus, prefix: str, after: str, limit: int
    ) -> list[Rule]: ...

    async def set_rule_state(self, bus: EventBus, name: str, state: str) -> bool: ...

    async def delete_rule(self, bus: EventBus, name: str, force: bool) -> tuple[bool, int]: ...

    async def rule_names_by_target(
        self, bus: EventBus, arn: str, after: str, limit: int
    ) -> list[str]: ...

    async def list_targets(self, rule: Rule, after: str, limit: int) -> list[Target]: ...

    async def put_targets(
        self, rule: Rule, targets: Sequence[Target], limit: int
    ) -> tuple[bool, int]: ...

    async def remove_targets(self, rule: Rule, ids: Sequence[str]) -> list[str]: ...

    async def bus_routes(self, bus: EventBus) -> BusRoutes: ...

    async def resolve(self, arns: Sequence[str]) -> dict[str, Resolution]: ...

    async def dispatch(self, dispatch: Dispatch) -> DispatchResult: ...

    async def fire_schedules(
        self,
        limit: int,
        tick: Callable[[ScheduledRule], Awaitable[tuple[Dispatch, datetime | None]]],
    ) -> tuple[int, DispatchResult]: ...

    async def create_connection(self, values: Mapping[str, Any]) -> Connection | None: ...

    async def get_connection(self, account_id: str, name: str) -> Connection | None: ...

    async def get_connection_by_arn(self, arn: str) -> Connection | None: ...

    async def reseal_connections(
        self, reseal: Callable[[Mapping[str, Any]], Mapping[str, Any] | None]
    ) -> int: ...

    async def list_connections(
        self, account_id: str, prefix: str, after: str, limit: int
    ) -> list[Connection]: ...

    async def update_connection(self, values: Mapping[str, Any]) -> Connection | None: ...

    async def delete_connection(self, connection_id: int) -> Connection | None: ...

    async def create_destination(self, values: Mapping[str, Any]) -> ApiDestination | None: ...

    async def get_destination(self, account_id: str, name: str) -> ApiDestination | None: ...

    async def list_destinations(
        self, account_id: str, prefix: str, connection_arn: str | None, after: str, limit: int
    ) -> list[ApiDestination]: ...

    async def update_destination(self, values: Mapping[str, Any]) -> ApiDestination | None: ...

    async def delete_destination(self, destination_id: int) -> ApiDestination | None: ...

    async def create_archive(self, values: Mapping[str, Any]) -> Archive | None: ...

    async def get_archive(self, account_id: str, name: str) -> Archive | None: ...

    async def list_archives(
        self,
        account_id: str,
        prefix: str,
        source_arn: str | None,
        state: str | None,
        after: str,
        limit: int,
    ) -> list[Archive]: ...

    async def update_archive(self, values: Mapping[str, Any]) -> Archive | None: ...

    async def delete_archive(self, archive_id: int) -> bool: ...

    async def delete_expired_archived_events(self, limit: int) -> int: ...

    async def dead_letter_event_delivery(
        self, delivery_id: int, attempts: int, attributes: Mapping[str, str], account_id: str
    ) -> int | None: ...

    async def create_replay(self, values: Mapping[str, Any]) -> Replay | None: ...

    async def get_replay(self, account_id: str, name: str) -> Replay | None: ...

    async def list_replays(
        self,
        account_id: str,
        prefix: str,
        archive_arn: str | None,
        state: str | None,
        after: str,
        limit: int,
    ) -> list[Replay]: ...

    async def cancel_replay(self, replay_id: int) -> Replay | None: ...

    async def replay_step(
        self,
        limit: int,
        step: Callable[[Replay, list[ArchivedEvent]], Awaitable[Dispatch]],
    ) -> tuple[Replay | None, DispatchResult]: ...


# -- event metrics -------------------------------------------------------------------------------


class EventObserver(Protocol):
    """Receives what the event service, the scheduler and the API-destination poster did (metrics
    implement it); must not block or raise. Events name the bus by ARN, never the rule: the
    observer's labels stay bounded by the number of buses. ``kind`` is one of ``TARGET_KINDS``;
    everything is reported after its transaction commits."""

    def events_put(self, bus_arn: str, count: int) -> None:
        """PutEvents entries the bus accepted."""
        ...

    def events_refused(self, error_code: str, count: int) -> None:
        """PutEvents entries refused with ``error_code`` (their bus may not exist)."""
        ...

    def rules_matched(self, bus_arn: str, count: int) -> None:
        """Enabled rules of the bus an event matched, one per rule and event."""
        ...

    def targets_invoked(self, bus_arn: str, kind: str, count: int) -> None:
        """Targets an event reached: queue rows and topic publications committed, events passed
        to another bus, API-destination calls answered with a 2xx."""
        ...

    def target_failed(self, bus_arn: str, kind: str, count: int) -> None:
        """Invocations that failed: targets that resolve to nothing (or are not permitted), and
        API-destination attempts that failed."""
        ...

    def target_retried(self, bus_arn: str) -> None:
        """A failed API-destination call rescheduled by the target's retry policy."""
        ...

    def target_dead_lettered(self, bus_arn: str) -> None:
        """An API-destination delivery that gave up (to the dead-letter queue, or dropped)."""
        ...

    def target_throttled(self, bus_arn: str) -> None:
        """An API-destination call postponed by its InvocationRateLimitPerSecond."""
        ...

    def schedule_fired(self, bus_arn: str, missed: int) -> None:
        """A scheduled rule fired its due tick; ``missed`` later ticks had passed meanwhile and are
        skipped (never caught up)."""
        ...

    def events_archived(self, bus_arn: str, count: int) -> None:
        """Copies of the bus's events written to its archives."""
        ...

    def events_replayed(self, bus_arn: str, count: int) -> None:
        """Archived events a replay routed again on the bus (its destination)."""
        ...


class NullEventObserver:
    """The observer of an event service nobody watches."""

    def events_put(self, bus_arn: str, count: int) -> None:
        pass

    def events_refused(self, error_code: str, count: int) -> None:
        pass

    def rules_matched(self, bus_arn: str, count: int) -> None:
        pass

    def targets_invoked(self, bus_arn: str, kind: str, count: int) -> None:
        pass

    def target_failed(self, bus_arn: str, kind: str, count: int) -> None:
        pass

    def target_retried(self, bus_arn: str) -> None:
        pass

    def target_dead_lettered(self, bus_arn: str) -> None:
        pass

    def target_throttled(self, bus_arn: str) -> None:
        pass

    def schedule_fired(self, bus_arn: str, missed: int) -> None:
        pass

    def events_archived(self, bus_arn: str, count: int) -> None:
        pass

    def events_replayed(self, bus_arn: str, count: int) -> None:
        pass


def report(observer: EventObserver, tally: DispatchTally) -> None:
    """Hand a committed dispatch's counts to the observer."""
    for bus, count in tally.matched.items():
        observer.rules_matched(bus, count)
    for (bus, kind), count in tally.invoked.items():
        observer.targets_invoked(bus, kind, count)
    for (bus, kind), count in tally.failed.items():
        observer.target_failed(bus, kind, count)
    for bus, count in tally.archived.items():
        observer.events_archived(bus, count)


@dataclass(frozen=True)
class BusGauge:
    """The rules of one bus at one moment."""

    account_id: str
    bus: str
    enabled_rules: int
    disabled_rules: int


@dataclass(frozen=True)
class EventGauge:
    """EventBridge figures at one moment (every replica: they come from the shared tables)."""

    buses: Sequence[BusGauge]
    deliveries_due: int
    """API-destination deliveries due now (waiting for a deliverer)."""
    deliveries_scheduled: int
    """API-destination deliveries due later: a retry, a rate-limit wait, or mid-call."""
    replays_active: int
    """Replays starting, running or being cancelled."""


class EventGauges(Protocol):
    """Point-in-time EventBridge figures for metrics; two small statements."""

    async def event_gauges(self) -> EventGauge: ...
