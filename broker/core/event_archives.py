"""Archives and replays of events.

PutEvents copies each event into every enabled archive of its bus whose pattern matches, in its
own transaction (replayed events are not archived again). A replay re-routes the archived events
of a time window onto the archive's bus, to every rule or to the given rules only, each event
carrying ``replay-name``; the scheduler worker runs replays in steps of ``REPLAY_STEP`` events,
each step in one transaction with the replay's progress, so a replay resumes where it stopped
after a restart and is never run by two processes at once. The janitor deletes archived events
older than their archive's ``RetentionDays`` (0 keeps them forever).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from broker.core.event_errors import (
    IllegalStatus,
    ResourceAlreadyExists,
    ValidationFailed,
    not_found,
)
from broker.core.event_models import (
    Archive,
    ArchivedEvent,
    Dispatch,
    Replay,
    events_arn,
)
from broker.core.event_names import (
    account_of,
    check_length,
    check_limit,
    check_name,
    decode_token,
    page,
    resource_name_of,
)
from broker.core.event_ports import EventStore
from broker.core.events import EventService
from broker.core.models import Caller

ARCHIVE_NAME = re.compile(r"[\.\-_A-Za-z0-9]{1,48}")
REPLAY_STEP = 500
ARCHIVE_STATES = frozenset(
    {"ENABLED", "DISABLED", "CREATING", "UPDATING", "CREATE_FAILED", "UPDATE_FAILED"}
)
REPLAY_STATES = frozenset({"STARTING", "RUNNING", "CANCELLING", "COMPLETED", "CANCELLED", "FAILED"})


class ArchiveService:
    def __init__(self, store: EventStore, events: EventService, region: str) -> None:
        self._store = store
        self._events = events
        self._region = region

    # -- archives ----------------------------------------------------------------------------

    async def create_archive(
        self,
        caller: Caller,
        name: str,
        source_arn: str,
        description: str | None,
        event_pattern: str | None,
        retention_days: int | None,
    ) -> Archive:
        check_name("archiveName", name, ARCHIVE_NAME)
        check_length("description", description, 512)
        _check_retention(retention_days)
        if event_pattern:
            self._events.check_pattern(event_pattern)
        resource_name_of(source_arn, "event-bus")  # an event bus ARN, of the caller's account
        bus = await self._events.bus(caller, source_arn)
        arn = events_arn(self._region, caller.account_id, f"archive/{name}")
        created = await self._store.create_archive(
            {
                "account_id": caller.account_id,
                "name": name,
                "arn": arn,
                "source_arn": bus.arn,
                "description": description,
                "event_pattern": event_pattern or None,
                "retention_days": retention_days or 0,
            }
        )
        if created is None:
            raise ResourceAlreadyExists(f"Archive {name} already exists.")
        return created

    async def archive(self, caller: Caller, name: str) -> Archive:
        check_name("archiveName", name, ARCHIVE_NAME)
        found = await self._store.get_archive(caller.account_id, name)
        if found is None:
            raise not_found("Archive", name)
        return found

    async def list_archives(
        self,
        caller: Caller,
        prefix: str | None,
        source_arn: str | None,
        state: str | None,
        token: str | None,
        limit: int | None,
    ) -> tuple[list[Archive], str | None]:
        if state is not None and state not in ARCHIVE_STATES:
            raise ValidationFailed(f"Value '{state}' at 'state' is not a valid archive state.")
        size = check_limit(limit)
        found = await self._store.list_archives(
            caller.account_id, prefix or "", source_arn, state, decode_token(token), size + 1
        )
        return page(found, size, lambda a: a.name)

    async def update_archive(
        self,
        caller: Caller,
        name: str,
        description: str | None,
        event_pattern: str | None,
        retention_days: int | None,
    ) -> Archive:
        current = await self.archive(caller, name)
        check_length("description", description, 512)
        _check_retention(retention_days)
        if event_pattern:
            self._events.check_pattern(event_pattern)
        updated = await self._store.update_archive(
            {
                "id": current.id,
                "description": description if description is not None else current.description,
                "event_pattern": event_pattern
                if event_pattern is not None
                else current.event_pattern,
                "retention_days": retention_days
                if retention_days is not None
                else current.retention_days,
            }
        )
        if updated is None:
            raise not_found("Archive", name)
        return updated

    async def delete_archive(self, caller: Caller, name: str) -> None:
        current = await self.archive(caller, name)
        if not await self._store.delete_archive(current.id):
            raise not_found("Archive", name)

    # -- replays -----------------------------------------------------------------------------

    async def start_replay(
        self,
        caller: Caller,
        name: str,
        description: str | None,
        archive_arn: str,
        start: datetime,
        end: datetime,
        destination_arn: str,
        filter_arns: Sequence[str],
    ) -> Replay:
        check_name("replayName", name)
        check_length("description", description, 512)
        if start >= end:
            raise ValidationFailed("Parameter EventStartTime must be before EventEndTime.")
        name_in_arn = resource_name_of(archive_arn, "archive")
        if (account_of(archive_arn) or caller.account_id) != caller.account_id:
            raise not_found("Archive", name_in_arn)
        archive = await self.archive(caller, name_in_arn)
        if destination_arn != archive.source_arn:
            raise ValidationFailed(
                "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not "
                "permitted."
            )
        for arn in filter_arns:
            if not arn.startswith(events_arn(self._region, caller.account_id, "rule/")):
                raise ValidationFailed(f"Parameter Destination.FilterArns is not valid: {arn}")
        created = await self._store.create_replay(
            {
                "account_id": caller.account_id,
                "name": name,
                "arn": events_arn(self._region, caller.account_id, f"replay/{name}"),
                "archive_arn": archive.arn,
                "description": description,
                "destination_arn": destination_arn,
                "filter_arns": list(filter_arns),
                "event_start_time": start,
                "event_end_time": end,
            }
        )
        if created is None:
            raise ResourceAlreadyExists(f"Replay {name} already exists.")
        return created

    async def replay(self, caller: Caller, name: str) -> Replay:
        check_name("replayName", name)
        found = await self._store.get_replay(caller.account_id, name)
        if found is None:
            raise not_found("Replay", name)
        return found

    async def list_replays(
        self,
        caller: Caller,
        prefix: str | None,
        archive_arn: str | None,
        state: str | None,
        token: str | None,
        limit: int | None,
    ) -> tuple[list[Replay], str | None]:
        if state is not None and state not in REPLAY_STATES:
            raise ValidationFailed(f"Value '{state}' at 'state' is not a valid replay state.")
        size = check_limit(limit)
        found = await self._store.list_replays(
            caller.account_id, prefix or "", archive_arn, state, decode_token(token), size + 1
        )
        return page(found, size, lambda r: r.name)

    async def cancel_replay(self, caller: Caller, name: str) -> Replay:
        current = await self.replay(caller, name)
        cancelled = await self._store.cancel_replay(current.id)
        if cancelled is None:
            raise IllegalStatus(f"Replay {name} is not in a valid state for this operation.")
        return cancelled

    async def run_replay_step(self) -> bool:
        """Advance one active replay by one step; True when a replay was advanced."""
        steps: list[tuple[str, int, Dispatch]] = []

        async def step(replay: Replay, events: list[ArchivedEvent]) -> Dispatch:
            dispatch = await self._step(replay, events)
            steps.append((replay.destination_arn, len(events), dispatch))
            return dispatch

        replay, result = await self._store.replay_step(REPLAY_STEP, step)
        self._events.committed(result, steps[0][2].tally if steps else None)
        for destination, count, _ in steps:
            if count:
                self._events.observer.events_replayed(destination, count)
        return replay is not None

    async def _step(self, replay: Replay, events: list[ArchivedEvent]) -> Dispatch:
        dispatch = Dispatch()
        bus = await self._store.get_bus(replay.destination_arn)
        if bus is not None and events:
            await self._events.replay_events(
                bus,
                replay.name,
                [(e.event, e.event_time) for e in events],
                replay.filter_arns,
                dispatch,
            )
        return dispatch

    async def delete_expired(self, limit: int) -> int:
        return await self._store.delete_expired_archived_events(limit)


def _check_retention(days: int | None) -> None:
    if days is not None and days < 0:
        raise ValidationFailed("RetentionDays must not be negative.")
