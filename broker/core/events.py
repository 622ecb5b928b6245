"""EventService: EventBridge buses, rules, targets and PutEvents, for every adapter.

A PutEvents call is one store transaction: every matching rule's queue targets get their rows in
``broker.messages``, topic targets their row in the ``broker.publications`` inbox (fanned out by
the deliverer), API destinations their row in the HTTP outbox, and matching archives their copy,
or none of them does. All enabled rules of a bus are matched through one compiled index, built
once per routing version: every change to the bus's rules, targets or archives bumps
``event_buses.version`` in its statement, and each PutEvents compares the version it reads with
the one its cached index was built from, so a change made through any process applies to the
next event. Queue, topic and destination resolution is refreshed at least every
``cache_seconds`` as well (a queue created after its rule's target).
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from broker.core import access, access_policies, event_inputs, event_schedules
from broker.core.event_errors import (
    LimitExceeded,
    ResourceAlreadyExists,
    ValidationFailed,
    not_found,
)
from broker.core.event_models import (
    DEFAULT_BUS,
    DISABLED,
    ENABLED,
    EVENTS_KIND,
    NOTHING,
    RULE_STATES,
    ArchiveRow,
    BusRoutes,
    Dispatch,
    DispatchResult,
    DispatchTally,
    EventBus,
    Resolution,
    RouteTarget,
    Rule,
    RuleSpec,
    ScheduledRule,
    Target,
    TopicPublication,
    bus_arn,
    bus_of_rule,
    rule_arn,
    target_kind,
)
from broker.core.event_names import (
    BUS_NAME,
    account_of,
    bus_name_of,
    check_length,
    check_limit,
    check_name,
    decode_token,
    event_time,
    page,
)
from broker.core.event_ports import (
    EVENT_SCOPE,
    EventObserver,
    EventStore,
    NullEventObserver,
    report,
)
from broker.core.models import Caller
from broker.core.ports import FilterIndex, FilterLanguage, FilterMatcher, Signal
from broker.core.topic_models import HttpDelivery, QueueDelivery
from broker.errors import AccessDenied, InvalidPattern, MissingParameter, ResourceNotFound

MAX_ENTRIES = 10
MAX_TARGETS_PER_RULE = 5
MAX_TARGETS_PER_CALL = 10
MAX_PATTERN_CHARS = 4096
MAX_RETRY_ATTEMPTS = 185
MAX_EVENT_AGE_SECONDS = 86_400
MAX_MISSED = 10_000
"""The most skipped ticks one late fire counts (a per-minute rate over a week's outage)."""
EVENTS_PRINCIPAL = "events.amazonaws.com"
ENVELOPE_KEYS = ("id", "account", "source", "time", "region", "resources", "detail-type")
"""What TestEventPattern requires of its event."""


@dataclass(frozen=True)
class EventLimits:
    region: str = "us-east-1"
    cache_seconds: float = 1.0
    max_entry_bytes: int = 256 * 1024
    """The total size of a PutEvents request's entries (AWS: 256 KB; reference §5.2)."""


@dataclass(frozen=True)
class PutEventsEntry:
    source: str | None
    detail_type: str | None
    detail: str | None
    resources: Sequence[str] = ()
    time: datetime | None = None
    event_bus_name: str | None = None
    trace_header: str | None = None


@dataclass(frozen=True)
class EntryResult:
    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass(frozen=True)
class Event:
    """One event as routed: its envelope and the text targets receive by default."""

    id: str
    document: dict[str, Any]
    text: str
    moment: datetime
    replay_name: str | None = None


class _Routing:
    """A bus's enabled rules, compiled into one index, their targets resolved, and its archives'
    patterns.

    Built from ``previous`` (the same bus's last routing), unchanged patterns are not compiled
    again and an unchanged rule set keeps its index. ``refreshed`` re-resolves the targets only:
    the periodic refresh costs one small query, not a recompilation.
    """

    def __init__(
        self,
        routes: BusRoutes,
        language: FilterLanguage,
        expires_at: float,
        previous: _Routing | None = None,
    ) -> None:
        self.bus = routes.bus
        self.rules = routes.rules
        self.patterns: dict[str, str] = {}
        known = previous.matchers if previous is not None else {}
        self.matchers: dict[str, FilterMatcher] = {}
        for rule in routes.rules:
            matcher = known.get(rule.event_pattern)
            if matcher is None:
                try:
                    matcher = language.compile(rule.event_pattern, EVENT_SCOPE)
                except InvalidPattern:
                    continue  # stored before a stricter release: it matches nothing
            self.matchers[rule.event_pattern] = matcher
            self.patterns[rule.arn] = rule.event_pattern
        if previous is not None and previous.patterns == self.patterns:
            self.index: FilterIndex = previous.index
        else:
            self.index = language.index(
                {arn: self.matchers[p] for arn, p in self.patterns.items()}, EVENT_SCOPE
            )
        self.archives: list[tuple[int, FilterMatcher | None]] = []
        for archive in routes.archives:
            archive_matcher = None
            if archive.event_pattern:
                archive_matcher = known.get(archive.event_pattern)
                if archive_matcher is None:
                    try:
                        archive_matcher = language.compile(archive.event_pattern, EVENT_SCOPE)
                    except InvalidPattern:
                        continue
                self.matchers[archive.event_pattern] = archive_matcher
            self.archives.append((archive.archive_id, archive_matcher))
        self._resolve(routes.resolutions, expires_at)

    def _resolve(self, resolutions: Mapping[str, Resolution], expires_at: float) -> None:
        self.expires_at = expires_at
        self.arns = sorted({t.arn for rule in self.rules for t in rule.targets})
        self.targets: dict[str, list[RouteTarget]] = {
            rule.arn: [
                permitted(RouteTarget(rule.arn, rule.name, t, resolutions.get(t.arn, NOTHING)))
                for t in rule.targets
            ]
            for rule in self.rules
        }

    def refreshed(self, resolutions: Mapping[str, Resolution], expires_at: float) -> _Routing:
        fresh = copy.copy(self)
        fresh._resolve(resolutions, expires_at)
        return fresh

    def matching(self, event: dict[str, Any], only: Sequence[str] = ()) -> list[str]:
        arns = sorted(self.index.matching_ids(event))
        if only:
            arns = [a for a in arns if a in only]
        return arns


class EventService:
    def __init__(
        self, store: EventStore, signal: Signal, language: FilterLanguage, limits: EventLimits
    ) -> None:
        self._store = store
        self._signal = signal
        self._language = language
        self.limits = limits
        self.deliveries_pending: Callable[[], None] = _nothing
        """Called after a commit that added outbox or publication rows (the deliverer)."""
        self._routing: dict[int, tuple[int, _Routing]] = {}
        self._transformers: dict[str, event_inputs.InputTransformer] = {}
        self._refreshing: set[int] = set()
        """Buses whose routing this process is re-reading (others keep using the last one)."""
        self._clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.observer: EventObserver = NullEventObserver()

    # -- buses ------------------------------------------------------------------------------

    def bus_arn(self, caller: Caller, name: str) -> str:
        return bus_arn(self.limits.region, caller.account_id, name)

    async def bus(
        self, caller: Caller, name_or_arn: str | None, action: str | None = None
    ) -> EventBus:
        """The named bus; the account's ``default`` bus is created on first use.

        A bus ARN of another account is reachable only for ``action`` (``events:PutEvents``)
        and only when that bus's policy (and the caller's key policy) allows it
        (``AccessDenied``); without an action it is not found, so nothing of another account's
        buses leaks.
        """
        name = bus_name_of(name_or_arn)
        owner = account_of(name_or_arn) or caller.account_id
        if owner != caller.account_id:
            if action is None:
                raise not_found("Event bus", name)
            arn = bus_arn(self.limits.region, owner, name)
            other = await self._store.get_bus(arn)
            # A missing bus is refused like a closed one: a refusal tells nothing of existence.
            access.authorize(
                caller,
                action,
                arn,
                owner,
                other.policy if other is not None else None,
            )
            if other is None:
                raise not_found("Event bus", name)  # not reached: no bus, no policy to allow
            return other
        arn = self.bus_arn(caller, name)
        found = await self._store.get_bus(arn)
        if found is not None:
            return found
        if name == DEFAULT_BUS:
            bus, _ = await self._store.ensure_bus(caller.account_id, name, arn, None)
            return bus
        raise not_found("Event bus", name)

    async def create_event_bus(
        self, caller: Caller, name: str, description: str | None, event_source: str | None
    ) -> EventBus:
        check_name("name", name, BUS_NAME)
        check_length("description", description, 512)
        if event_source:
            raise ValidationFailed("Partner event sources are not supported by this broker.")
        if name == DEFAULT_BUS or "/" in name:
            raise ValidationFailed(f"Event bus name {name} is not valid.")
        arn = self.bus_arn(caller, name)
        bus, created = await self._store.ensure_bus(caller.account_id, name, arn, description)
        if not created:
            raise ResourceAlreadyExists(f"Event bus {name} already exists.")
        return bus

    async def delete_event_bus(self, caller: Caller, name: str) -> None:
        if (account_of(name) or caller.account_id) != caller.account_id:
            return  # another account's bus: as absent as a missing one
        name = bus_name_of(name)
        if name == DEFAULT_BUS:
            raise ValidationFailed("Cannot delete event bus default.")
        bus = await self._store.get_bus(self.bus_arn(caller, name))
        if bus is not None:  # idempotent, as in AWS
            await self._store.delete_bus(bus.id)
            self._routing.pop(bus.id, None)

    async def put_permission(
        self,
        caller: Caller,
        bus_name: str | None,
        action: str | None,
        principal: str | None,
        statement_id: str | None,
        condition: Mapping[str, str] | None,
        policy: str | None,
    ) -> EventBus:
        """Add a statement to the bus policy (or replace the whole policy with ``policy``)."""
        bus = await self.bus(caller, bus_name)
        if policy is not None:
            if action or principal or statement_id or condition:
                raise ValidationFailed(
                    "Policy cannot be combined with Action, Principal, StatementId or Condition."
                )
            access_policies.parse_policy(policy)
            whole = policy
            return await self._change_policy(bus, lambda _: whole)
        for member, value in (("StatementId", statement_id), ("Principal", principal)):
            if not value:
                raise MissingParameter(f"The parameter {member} must be specified.")
        assert statement_id is not None and principal is not None
        sid, who = statement_id, principal

        def added(current: str | None) -> str:
            return access_policies.events_put_permission(
                current,
                bus_arn=bus.arn,
                statement_id=sid,
                principal=who,
                action=action or "events:PutEvents",
                condition=condition,
            )

        return await self._change_policy(bus, added)

    async def remove_permission(
        self, caller: Caller, bus_name: str | None, statement_id: str | None, remove_all: bool
    ) -> EventBus:
        bus = await self.bus(caller, bus_name)
        return await self._change_policy(
            bus,
            lambda current: access_policies.events_remove_permission(
                current, statement_id=statement_id, remove_all=remove_all
            ),
        )

    async def _change_policy(
        self, bus: EventBus, change: Callable[[str | None], str | None]
    ) -> EventBus:
        updated = await self._store.change_bus_policy(bus.id, change)
        if updated is None:
            raise not_found("Event bus", bus.name)
        return updated

    async def list_event_buses(
        self, caller: Caller, prefix: str | None, token: str | None, limit: int | None
    ) -> tuple[list[EventBus], str | None]:
        await self.bus(caller, DEFAULT_BUS)  # listed from the start, as in AWS
        size = check_limit(limit)
        found = await self._store.list_buses(
            caller.account_id, prefix or "", decode_token(token), size + 1
        )
        return page(found, size, lambda b: b.name)

    # -- rules ------------------------------------------------------------------------------

    async def put_rule(
        self,
        caller: Caller,
        name: str,
        bus_name: str | None,
        event_pattern: str | None,
        schedule_expression: str | None,
        state: str | None,
        description: str | None,
        role_arn: str | None,
        tags: Mapping[str, str],
    ) -> Rule:
        check_name("name", name)
        check_length("description", description, 512)
        check_length("scheduleExpression", schedule_expression, 256)
        if not event_pattern and not schedule_expression:
            raise ValidationFailed(
                "Parameter(s) EventPattern or ScheduleExpression must be specified."
            )
        state = state or ENABLED
        if state not in RULE_STATES:
            raise ValidationFailed(
                f"1 validation error detected: Value '{state}' at 'state' failed to satisfy "
                "constraint: Member must satisfy enum value set: [ENABLED, DISABLED, "
                "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]"
            )
        if event_pattern:
            self.check_pattern(event_pattern)
        bus = await self.bus(caller, bus_name)
        next_fire_at = None
        if schedule_expression:
            if bus.name != DEFAULT_BUS:
                raise ValidationFailed(
                    "ScheduleExpression is supported only on the default event bus."
                )
            schedule = _schedule(schedule_expression)
            if state != DISABLED:
                now = self._clock()
                next_fire_at = schedule.next_after(now, anchor=now)
        spec = RuleSpec(
            name=name,
            event_pattern=event_pattern or None,
            schedule_expression=schedule_expression or None,
            state=state,
            description=description,
            role_arn=role_arn,
            tags=tags,
            next_fire_at=next_fire_at,
        )
        arn = rule_arn(self.limits.region, caller.account_id, bus.name, name)
        rule = await self._store.put_rule(bus, arn, spec)
        return rule

    def check_pattern(self, pattern: str) -> FilterMatcher:
        if len(pattern) > MAX_PATTERN_CHARS:
            raise InvalidPattern(f"Event pattern is longer than {MAX_PATTERN_CHARS} characters.")
        return self._language.compile(pattern, EVENT_SCOPE)

    async def rule(self, caller: Caller, name: str, bus_name: str | None) -> Rule:
        check_name("name", name)
        bus = await self.bus(caller, bus_name)
        rule = await self._store.get_rule(bus, name)
        if rule is None:
            raise not_found("Rule", name, bus.name)
        return rule

    async def list_rules(
        self,
        caller: Caller,
        prefix: str | None,
        bus_name: str | None,
        token: str | None,
        limit: int | None,
    ) -> tuple[list[Rule], str | None]:
        bus = await self.bus(caller, bus_name)
        size = check_limit(limit)
        found = await self._store.list_rules(bus, prefix or "", decode_token(token), size + 1)
        return page(found, size, lambda r: r.name)

    async def set_rule_state(
        self, caller: Caller, name: str, bus_name: str | None, enabled: bool
    ) -> None:
        rule = await self.rule(caller, name, bus_name)
        bus = await self.bus(caller, bus_name)
        if rule.schedule_expression:
            # Enabling re-arms the schedule from now; disabling parks it.
            spec = RuleSpec(
                name=rule.name,
                event_pattern=rule.event_pattern,
                schedule_expression=rule.schedule_expression,
                state=ENABLED if enabled else DISABLED,
                description=rule.description,
                role_arn=rule.role_arn,
                tags={},
                next_fire_at=_rearmed(rule.schedule_expression, self._clock()) if enabled else None,
            )
            await self._store.put_rule(bus, rule.arn, spec)
        elif not await self._store.set_rule_state(bus, name, ENABLED if enabled else DISABLED):
            raise not_found("Rule", name, bus.name)

    async def delete_rule(
        self, caller: Caller, name: str, bus_name: str | None, force: bool
    ) -> None:
        check_name("name", name)
        bus = await self.bus(caller, bus_name)
        deleted, targets = await self._store.delete_rule(bus, name, force)
        if not deleted and targets:
            raise ValidationFailed("Rule can't be deleted since it has targets.")

    async def rule_names_by_target(
        self,
        caller: Caller,
        target_arn: str,
        bus_name: str | None,
        token: str | None,
        limit: int | None,
    ) -> tuple[list[str], str | None]:
        check_length("targetArn", target_arn, 1600)
        bus = await self.bus(caller, bus_name)
        size = check_limit(limit)
        names = await self._store.rule_names_by_target(
            bus, target_arn, decode_token(token), size + 1
        )
        return page(names, size, lambda n: n)

    # -- targets ----------------------------------------------------------------------------

    async def put_targets(
        self,
        caller: Caller,
        rule_name: str,
        bus_name: str | None,
        targets: Sequence[Mapping[str, Any]],
    ) -> None:
        if not 1 <= len(targets) <= MAX_TARGETS_PER_CALL:
            raise ValidationFailed(
                "1 validation error detected: Value at 'targets' failed to satisfy constraint: "
                f"Member must have length between 1 and {MAX_TARGETS_PER_CALL}"
            )
        rule = await self.rule(caller, rule_name, bus_name)
        checked = [await self._checked_target(caller, t) for t in targets]
        if len({t.id for t in checked}) != len(checked):
            raise ValidationFailed("Target ids must be unique within the request.")
        stored, count = await self._store.put_targets(rule, checked, MAX_TARGETS_PER_RULE)
        if count < 0:
            raise not_found("Rule", rule_name, rule.bus_name)
        if not stored:
            raise LimitExceeded(
                f"The requested resource exceeds the maximum number allowed: a rule has at most "
                f"{MAX_TARGETS_PER_RULE} targets."
            )

    async def _checked_target(self, caller: Caller, given: Mapping[str, Any]) -> Target:
        target_id = given.get("Id")
        arn = given.get("Arn")
        if not isinstance(target_id, str) or not isinstance(arn, str):
            raise ValidationFailed("Parameter(s) Id and Arn must be specified for every target.")
        check_name("id", target_id)
        check_length("arn", arn, 1600)
        event_inputs.validate_target_input(
            target_id=target_id,
            input=given.get("Input"),
            input_path=given.get("InputPath"),
            input_transformer=given.get("InputTransformer"),
        )
        _check_target_shapes(target_id, given)
        parts = arn.split(":", 5)
        service = parts[2] if len(parts) == 6 and parts[0] == "arn" else ""
        if service == "sqs" and parts[5].endswith(".fifo"):
            if not (given.get("SqsParameters") or {}).get("MessageGroupId"):
                raise ValidationFailed(
                    f"Parameter(s) SqsParameters must be specified for target: {target_id}."
                )
        elif service not in ("sqs", "sns") and not (
            service == "events" and parts[5].startswith(("api-destination/", "event-bus/"))
        ):
            raise ValidationFailed(
                f"Target {target_id}: {arn} is not supported by this broker: targets are SQS "
                "queues, SNS topics, event buses and API destinations."
            )
        retry = given.get("RetryPolicy") or {}
        attempts = retry.get("MaximumRetryAttempts")
        if attempts is not None and not (_is_int(attempts) and 0 <= attempts <= MAX_RETRY_ATTEMPTS):
            raise ValidationFailed(
                f"RetryPolicy.MaximumRetryAttempts must be between 0 and {MAX_RETRY_ATTEMPTS}."
            )
        age = retry.get("MaximumEventAgeInSeconds")
        if age is not None and not (_is_int(age) and 60 <= age <= MAX_EVENT_AGE_SECONDS):
            raise ValidationFailed(
                "RetryPolicy.MaximumEventAgeInSeconds must be between 60 and "
                f"{MAX_EVENT_AGE_SECONDS}."
            )
        dead_letter = (given.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter is not None:
            dlq = str(dead_letter).split(":")
            if len(dlq) != 6 or dlq[2] != "sqs" or dlq[5].endswith(".fifo"):
                raise ValidationFailed(
                    "DeadLetterConfig.Arn must be the ARN of a standard SQS queue."
                )
        return Target(target_id, arn, dict(given))

    async def remove_targets(
        self, caller: Caller, rule_name: str, bus_name: str | None, ids: Sequence[str]
    ) -> None:
        if not 1 <= len(ids) <= MAX_TARGETS_PER_CALL:
            raise ValidationFailed(
                "1 validation error detected: Value at 'ids' failed to satisfy constraint: "
                f"Member must have length between 1 and {MAX_TARGETS_PER_CALL}"
            )
        for target_id in ids:
            check_name("ids", target_id)
        rule = await self.rule(caller, rule_name, bus_name)
        await self._store.remove_targets(rule, ids)

    async def list_targets(
        self,
        caller: Caller,
        rule_name: str,
        bus_name: str | None,
        token: str | None,
        limit: int | None,
    ) -> tuple[list[Target], str | None]:
        rule = await self.rule(caller, rule_name, bus_name)
        size = check_limit(limit)
        found = await self._store.list_targets(rule, decode_token(token), size + 1)
        return page(found, size, lambda t: t.id)

    # -- patterns ---------------------------------------------------------------------------

    def test_event_pattern(self, pattern: str, event_text: str) -> bool:
        matcher = self.check_pattern(pattern)
        try:
            event = json.loads(event_text)
        except ValueError:
            raise ValidationFailed("Event is not valid JSON.") from None
        if not isinstance(event, dict):
            raise ValidationFailed("Event must be a JSON object.")
        missing = [k for k in ENVELOPE_KEYS if k not in event]
        if missing:
            raise ValidationFailed(f"Parameter(s) {', '.join(missing)} must be specified.")
        return matcher.matches(event)

    # -- PutEvents --------------------------------------------------------------------------

    async def put_events(
        self, caller: Caller, entries: Sequence[PutEventsEntry]
    ) -> list[EntryResult]:
        if not 1 <= len(entries) <= MAX_ENTRIES:
            raise ValidationFailed(
                "1 validation error detected: Value at 'entries' failed to satisfy constraint: "
                f"Member must have length between 1 and {MAX_ENTRIES}"
            )
        if sum(_entry_size(e) for e in entries) > self.limits.max_entry_bytes:
            raise ValidationFailed("Total size of the entries in the request is over the limit.")
        if all(not (e.source and e.detail_type and e.detail) for e in entries):
            raise ValidationFailed(
                "Parameters Source, DetailType and Detail are required in at least one entry."
            )
        now = self._clock()
        results: list[EntryResult] = []
        events: list[tuple[int, Event, _Routing]] = []
        refused: dict[str, int] = {}
        for index, entry in enumerate(entries):
            try:
                event = self._event(caller, entry, now)
                bus = await self.bus(caller, entry.event_bus_name, "events:PutEvents")
                routing = await self._routes(bus)
            except AccessDenied as error:
                results.append(
                    EntryResult(error_code="AccessDeniedException", error_message=error.message)
                )
                continue
            except _EntryError as error:
                results.append(EntryResult(error_code=error.code, error_message=error.message))
                continue
            except ValidationFailed as error:
                results.append(EntryResult(error_code="InvalidArgument", error_message=str(error)))
                continue
            except ResourceNotFound as error:
                results.append(
                    EntryResult(error_code="ResourceNotFoundException", error_message=str(error))
                )
                continue
            results.append(EntryResult(event_id=event.id))
            events.append((index, event, routing))
        dispatch = Dispatch()
        accepted: dict[str, int] = {}
        for index, event, routing in events:
            await self._route(routing, event, dispatch, index)
            accepted[routing.bus.arn] = accepted.get(routing.bus.arn, 0) + 1
        if dispatch:
            self._committed(await self._store.dispatch(dispatch))
        for result in results:
            if result.error_code is not None:
                refused[result.error_code] = refused.get(result.error_code, 0) + 1
        for code, count in refused.items():
            self.observer.events_refused(code, count)
        for arn, count in accepted.items():
            self.observer.events_put(arn, count)
        report(self.observer, dispatch.tally)
        return results

    def _event(self, caller: Caller, entry: PutEventsEntry, now: datetime) -> Event:
        if not entry.source:
            raise _EntryError(
                "InvalidArgument",
                "Parameter Source is not valid. Reason: Source is a required argument.",
            )
        if not entry.detail_type:
            raise _EntryError(
                "InvalidArgument",
                "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
            )
        if not entry.detail:
            raise _EntryError(
                "InvalidArgument",
                "Parameter Detail is not valid. Reason: Detail is a required argument.",
            )
        if entry.source.startswith("aws."):
            raise _EntryError("NotAuthorizedForSourceException", "Not authorized for the source.")
        try:
            detail = json.loads(entry.detail)
        except ValueError:
            detail = None
        if not isinstance(detail, dict):
            raise _EntryError("MalformedDetail", "Detail is malformed.")
        moment = entry.time or now
        document: dict[str, Any] = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": entry.detail_type,
            "source": entry.source,
            "account": caller.account_id,
            "time": event_time(moment),
            "region": self.limits.region,
            "resources": list(entry.resources),
            "detail": detail,
        }
        return _as_event(document, moment)

    async def _routes(self, bus: EventBus) -> _Routing:
        cached = self._routing.get(bus.id)
        previous = cached[1] if cached is not None else None
        if cached is not None and cached[0] == bus.version:
            assert previous is not None
            if previous.expires_at > time.monotonic() or bus.id in self._refreshing:
                return previous  # fresh, or another request is refreshing it right now
        self._refreshing.add(bus.id)
        try:
            expires_at = time.monotonic() + self.limits.cache_seconds
            if cached is not None and cached[0] == bus.version and previous is not None:
                routing = previous.refreshed(await self._store.resolve(previous.arns), expires_at)
            else:
                routes = await self._store.bus_routes(bus)
                routing = _Routing(routes, self._language, expires_at, previous)
        finally:
            self._refreshing.discard(bus.id)
        self._routing[bus.id] = (bus.version, routing)
        return routing

    async def _route(
        self,
        routing: _Routing,
        event: Event,
        dispatch: Dispatch,
        entry: int,
        only_rules: Sequence[str] = (),
        hops: int = 0,
    ) -> None:
        """Add the rows ``event`` causes on ``routing``'s bus to ``dispatch``."""
        tally = dispatch.tally
        if event.replay_name is None:
            for archive_id, matcher in routing.archives:
                if matcher is None or matcher.matches(event.document):
                    dispatch.archive_rows.append(ArchiveRow(archive_id, event.moment, event.text))
                    tally.add(tally.archived, routing.bus.arn)
        matched = routing.matching(event.document, only_rules)
        if matched:
            tally.add(tally.matched, routing.bus.arn, len(matched))
        for arn in matched:
            for target in routing.targets[arn]:
                await self._deliver(target, event, dispatch, entry, hops)

    async def _deliver(
        self, route: RouteTarget, event: Event, dispatch: Dispatch, entry: int, hops: int
    ) -> None:
        target = route.target
        tally = dispatch.tally
        source = bus_of_rule(route.rule_arn)
        kind = target_kind(target.arn)
        if route.bus_id is not None:
            # Events go on to another bus as they are (no input transformation), one hop only,
            # so two buses targeting each other cannot loop.
            if hops == 0:
                bus = await self._store.get_bus_by_id(route.bus_id)
                if bus is not None:
                    tally.add(tally.invoked, (source, "event_bus"))
                    await self._route(await self._routes(bus), event, dispatch, entry, (), 1)
                    return
            tally.add(tally.failed, (source, "event_bus"))
            return
        if route.queue is None and route.topic_id is None and route.destination is None:
            if kind is not None:  # unresolved, or not permitted: skipped, as a failed invocation
                tally.add(tally.failed, (source, kind))
            return
        definition = target.definition
        body = event_inputs.render_target_input(
            event.document,
            input=definition.get("Input"),
            input_path=definition.get("InputPath"),
            transformer=self._transformer(definition.get("InputTransformer")),
            rule_arn=route.rule_arn,
            rule_name=route.rule_name,
            ingestion_time=event_time(self._clock()),
        )
        if route.queue is not None:
            queue = route.queue
            group = (target.definition.get("SqsParameters") or {}).get("MessageGroupId")
            dispatch.queue_rows.append(
                QueueDelivery(
                    entry=entry,
                    queue_id=queue.queue_id,
                    message_id=str(uuid.uuid4()),
                    body=body,
                    attributes={},
                    group_id=group if queue.fifo else None,
                    # A retried or replayed event is still the same event for the queue.
                    deduplication_id=_dedup(event, target) if queue.fifo else None,
                    deduplication_scope=(group or "")
                    if queue.fifo and queue.group_scoped_deduplication
                    else "",
                )
            )
            tally.add(tally.invoked, (source, "sqs"))
        elif route.topic_id is not None:
            group = (target.definition.get("SqsParameters") or {}).get("MessageGroupId")
            dispatch.publications.append(
                TopicPublication(
                    topic_id=route.topic_id,
                    message_id=str(uuid.uuid4()),
                    message=body,
                    group_id=(group or route.rule_name) if route.topic_fifo else None,
                    deduplication_id=_dedup(event, target) if route.topic_fifo else None,
                )
            )
            tally.add(tally.invoked, (source, "sns"))
        elif route.destination is not None:
            dispatch.http_rows.append(self._http_row(route, event, body, entry))

    def _transformer(self, given: Any) -> event_inputs.InputTransformer | None:
        """The parsed InputTransformer of a target (parsed once per process, not per event)."""
        if not given:
            return None
        key = json.dumps(given, sort_keys=True)
        parsed = self._transformers.get(key)
        if parsed is None:
            if len(self._transformers) > 10_000:
                self._transformers.clear()
            parsed = event_inputs.InputTransformer.from_wire(given)
            self._transformers[key] = parsed
        return parsed

    def _http_row(self, route: RouteTarget, event: Event, body: str, entry: int) -> HttpDelivery:
        destination = route.destination
        assert destination is not None
        target = route.target.definition
        retry = target.get("RetryPolicy") or {}
        max_age = int(retry.get("MaximumEventAgeInSeconds", MAX_EVENT_AGE_SECONDS))
        details = {
            "rule_arn": route.rule_arn,
            "target_arn": route.target.arn,
            "connection_arn": destination.connection_arn,
            "http_method": destination.http_method,
            "rate_limit": destination.rate_limit,
            "http_parameters": target.get("HttpParameters") or {},
            "max_attempts": 1 + int(retry.get("MaximumRetryAttempts", MAX_RETRY_ATTEMPTS)),
            "deadline": time.time() + max_age,
        }
        return HttpDelivery(
            entry=entry,
            subscription_id=None,
            subscription_arn=destination.arn,
            topic_arn=route.rule_arn,
            endpoint=destination.endpoint,
            message_type="Event",
            message_id=event.id,
            body=body,
            raw=True,
            policy="{}",
            dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
            kind=EVENTS_KIND,
            details=json.dumps(details),
        )

    def _committed(self, result: DispatchResult) -> None:
        for queue_id, count in result.queue_counts.items():
            self._signal.sent(queue_id, count)
        if result.publications or result.deliveries:
            self.deliveries_pending()

    # -- schedules --------------------------------------------------------------------------

    async def fire_due_schedules(self, limit: int = 50) -> int:
        """Fire every due scheduled rule once (one process per tick, coordinated in the
        database); the number of rules fired."""
        ticks: list[tuple[str, int, Dispatch]] = []

        async def tick(due: ScheduledRule) -> tuple[Dispatch, datetime | None]:
            dispatch, next_fire_at, missed = await self._tick(due)
            if missed is not None:
                ticks.append((bus_of_rule(due.rule.arn), missed, dispatch))
            return dispatch, next_fire_at

        fired, result = await self._store.fire_schedules(limit, tick)
        self._committed(result)
        for bus, missed, dispatch in ticks:
            self.observer.schedule_fired(bus, missed)
            report(self.observer, dispatch.tally)
        return fired

    async def _tick(self, due: ScheduledRule) -> tuple[Dispatch, datetime | None, int | None]:
        """The tick's dispatch, the rule's next tick and how many ticks since the due one were
        missed (None when the rule did not fire)."""
        rule = due.rule
        now = self._clock()
        dispatch = Dispatch()
        if rule.state != DISABLED and rule.schedule_expression:
            document: dict[str, Any] = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": rule.account_id,
                "time": event_time(due.due_at),
                "region": self.limits.region,
                "resources": [rule.arn],
                "detail": {},
            }
            event = _as_event(document, due.due_at)
            for target in due.targets:
                await self._deliver(permitted(target), event, dispatch, 0, 0)
        if rule.state == DISABLED or not rule.schedule_expression:
            return dispatch, None, None
        # Missed ticks are not caught up: one event for the tick that was due, then the next
        # tick after now (see docs/events.md); the ones in between are only counted.
        schedule = _schedule(rule.schedule_expression)
        missed = schedule.ticks_between(due.due_at, now, anchor=due.due_at, limit=MAX_MISSED)
        return dispatch, schedule.next_after(now, anchor=due.due_at), len(missed)

    # -- replays ----------------------------------------------------------------------------

    async def replay_events(
        self,
        destination: EventBus,
        replay_name: str,
        documents: Sequence[tuple[str, datetime]],
        filter_arns: Sequence[str],
        dispatch: Dispatch,
    ) -> None:
        """Route archived events again on ``destination`` (each with ``replay-name``), to the
        rules in ``filter_arns`` only when given."""
        routing = await self._routes(destination)
        for text, moment in documents:
            document = json.loads(text)
            document["replay-name"] = replay_name
            event = Event(document["id"], document, json.dumps(document), moment, replay_name)
            await self._route(routing, event, dispatch, 0, filter_arns)

    def committed(self, result: DispatchResult, tally: DispatchTally | None = None) -> None:
        """Wake what a replay step's commit concerns, and report its counts."""
        self._committed(result)
        if tally is not None:
            report(self.observer, tally)


def permitted(route: RouteTarget) -> RouteTarget:
    """The route, unresolved (so skipped) when its target belongs to another account whose
    resource policy does not let this rule deliver: a queue or topic policy must allow
    ``events.amazonaws.com`` with ``aws:SourceArn`` = the rule, a bus policy must allow
    ``events:PutEvents`` to the rule's account; API destinations serve their own account only.
    """
    found = route.resolution
    source_account = account_of(route.rule_arn)
    if found.owner is None or source_account is None or found.owner == source_account:
        return route
    arn = route.target.arn
    if found.queue is not None or found.topic_id is not None:
        action = "sqs:SendMessage" if found.queue is not None else "sns:Publish"
        allowed = access.service_may(
            EVENTS_PRINCIPAL,
            action,
            arn,
            found.owner,
            found.policy,
            source_arn=route.rule_arn,
            source_account=source_account,
        )
    elif found.bus_id is not None:
        allowed = access.account_may(
            source_account, "events:PutEvents", arn, found.owner, found.policy
        )
    else:
        allowed = False
    return route if allowed else RouteTarget(route.rule_arn, route.rule_name, route.target, NOTHING)


class _EntryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _as_event(document: dict[str, Any], moment: datetime) -> Event:
    return Event(
        id=document["id"],
        document=document,
        text=json.dumps(document, separators=(",", ":"), ensure_ascii=False),
        moment=moment,
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_target_shapes(target_id: str, given: Mapping[str, Any]) -> None:
    """The structure members of a target have the model's shapes (what botocore would check)."""

    def refuse(member: str) -> ValidationFailed:
        return ValidationFailed(f"Parameter {member} of target {target_id} is not valid.")

    for member in ("SqsParameters", "RetryPolicy", "DeadLetterConfig", "HttpParameters"):
        if given.get(member) is not None and not isinstance(given[member], dict):
            raise refuse(member)
    group = (given.get("SqsParameters") or {}).get("MessageGroupId")
    if group is not None and not isinstance(group, str):
        raise refuse("SqsParameters.MessageGroupId")
    http = given.get("HttpParameters") or {}
    values = http.get("PathParameterValues")
    if values is not None and not (
        isinstance(values, list) and all(isinstance(v, str) for v in values)
    ):
        raise refuse("HttpParameters.PathParameterValues")
    for member in ("HeaderParameters", "QueryStringParameters"):
        pairs = http.get(member)
        if pairs is not None and not (
            isinstance(pairs, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in pairs.items())
        ):
            raise refuse(f"HttpParameters.{member}")


def _dedup(event: Event, target: Target) -> str:
    return f"{event.id}-{target.id}"[:128]


def _entry_size(entry: PutEventsEntry) -> int:
    """The entry size of AWS's formula: Time (14), Source, DetailType, Detail, Resources."""
    size = 14 if entry.time is not None else 0
    for text in (entry.source, entry.detail_type, entry.detail):
        size += len(text.encode()) if text else 0
    return size + sum(len(r.encode()) for r in entry.resources)


def _schedule(expression: str) -> event_schedules.Schedule:
    """The parsed expression; a bad one raises InvalidParameterValue (ValidationException)."""
    return event_schedules.parse_schedule(expression)


def _rearmed(expression: str, now: datetime) -> datetime | None:
    return _schedule(expression).next_after(now, anchor=now)


def _nothing() -> None:
    pass
