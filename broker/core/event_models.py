"""Value types of EventBridge: buses, rules, targets, connections, API destinations, archives,
replays, and what one PutEvents transaction writes. Frozen dataclasses of plain values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from broker.core.topic_models import HttpDelivery, QueueDelivery

DEFAULT_BUS = "default"
ENABLED = "ENABLED"
DISABLED = "DISABLED"
RULE_STATES = frozenset({ENABLED, DISABLED, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"})
EVENTS_KIND = "events"
"""The outbox ``kind`` of an event rule's HTTP target delivery."""


def events_arn(region: str, account_id: str, resource: str) -> str:
    return f"arn:aws:events:{region}:{account_id}:{resource}"


def bus_arn(region: str, account_id: str, name: str) -> str:
    return events_arn(region, account_id, f"event-bus/{name}")


def rule_arn(region: str, account_id: str, bus: str, name: str) -> str:
    if bus == DEFAULT_BUS:
        return events_arn(region, account_id, f"rule/{name}")
    return events_arn(region, account_id, f"rule/{bus}/{name}")


@dataclass(frozen=True)
class EventBus:
    id: int
    account_id: str
    name: str
    arn: str
    description: str | None
    version: int
    created_at: datetime
    modified_at: datetime
    policy: str | None = None
    """The bus's resource policy (PutPermission), a JSON policy document."""


@dataclass(frozen=True)
class Rule:
    id: int
    bus_id: int
    bus_name: str
    account_id: str
    name: str
    arn: str
    event_pattern: str | None
    schedule_expression: str | None
    state: str
    description: str | None
    role_arn: str | None
    created_at: datetime


@dataclass(frozen=True)
class RuleSpec:
    """What PutRule stores (every field replaced: omitted ones become null, as in AWS)."""

    name: str
    event_pattern: str | None
    schedule_expression: str | None
    state: str
    description: str | None
    role_arn: str | None
    tags: Mapping[str, str]
    next_fire_at: datetime | None


@dataclass(frozen=True)
class Target:
    id: str
    arn: str
    definition: Mapping[str, Any]
    """The target as PutTargets gave it (AWS member names), returned by ListTargetsByRule."""


@dataclass(frozen=True)
class QueueEndpoint:
    queue_id: int
    fifo: bool
    group_scoped_deduplication: bool


@dataclass(frozen=True)
class Destination:
    """An API destination and its connection, as a delivery needs them."""

    arn: str
    endpoint: str
    http_method: str
    rate_limit: int | None
    connection_arn: str


@dataclass(frozen=True)
class Resolution:
    """The live resource a target ARN names (all None: nothing there, the target is skipped)."""

    queue: QueueEndpoint | None = None
    topic_id: int | None = None
    topic_fifo: bool = False
    bus_id: int | None = None
    destination: Destination | None = None
    owner: str | None = None
    """The account the resource belongs to."""
    policy: str | None = None
    """Its resource policy (a queue's or topic's ``Policy``, a bus policy)."""


NOTHING = Resolution()


@dataclass(frozen=True)
class RouteTarget:
    """One target of an enabled rule, resolved to the live resource its ARN names."""

    rule_arn: str
    rule_name: str
    target: Target
    resolution: Resolution

    @property
    def queue(self) -> QueueEndpoint | None:
        return self.resolution.queue

    @property
    def topic_id(self) -> int | None:
        return self.resolution.topic_id

    @property
    def topic_fifo(self) -> bool:
        return self.resolution.topic_fifo

    @property
    def bus_id(self) -> int | None:
        return self.resolution.bus_id

    @property
    def destination(self) -> Destination | None:
        return self.resolution.destination


@dataclass(frozen=True)
class RoutedRule:
    arn: str
    name: str
    event_pattern: str
    targets: Sequence[Target]


@dataclass(frozen=True)
class ArchiveRoute:
    archive_id: int
    event_pattern: str | None


@dataclass(frozen=True)
class BusRoutes:
    """Everything PutEvents needs about a bus, read in one go and cached per version."""

    bus: EventBus
    rules: Sequence[RoutedRule]
    archives: Sequence[ArchiveRoute]
    resolutions: Mapping[str, Resolution]
    """By target ARN; re-read every cache period without reading the rules again."""


@dataclass(frozen=True)
class ScheduledRule:
    """A due scheduled rule, claimed by one scheduler, with its targets."""

    rule: Rule
    due_at: datetime
    targets: Sequence[RouteTarget]


@dataclass(frozen=True)
class Connection:
    id: int
    account_id: str
    name: str
    arn: str
    description: str | None
    authorization_type: str
    auth_parameters: Mapping[str, Any]
    state: str
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True)
class ApiDestination:
    id: int
    account_id: str
    name: str
    arn: str
    description: str | None
    connection_arn: str
    endpoint: str
    http_method: str
    rate_limit: int | None
    state: str
    created_at: datetime
    modified_at: datetime


@dataclass(frozen=True)
class Archive:
    id: int
    account_id: str
    name: str
    arn: str
    source_arn: str
    description: str | None
    event_pattern: str | None
    retention_days: int
    state: str
    created_at: datetime
    event_count: int = 0
    size_bytes: int = 0


@dataclass(frozen=True)
class Replay:
    id: int
    account_id: str
    name: str
    arn: str
    archive_arn: str
    description: str | None
    destination_arn: str
    filter_arns: Sequence[str]
    event_start_time: datetime
    event_end_time: datetime
    state: str
    state_reason: str | None
    last_replayed: datetime | None
    replay_start_time: datetime | None
    replay_end_time: datetime | None


@dataclass(frozen=True)
class ArchivedEvent:
    id: int
    event: str
    event_time: datetime


@dataclass(frozen=True)
class TopicPublication:
    """An event handed to an SNS topic through the ``broker.publications`` inbox."""

    topic_id: int
    message_id: str
    message: str
    group_id: str | None = None
    deduplication_id: str | None = None


@dataclass(frozen=True)
class ArchiveRow:
    archive_id: int
    event_time: datetime
    event: str


@dataclass
class Dispatch:
    """Everything one PutEvents (or one schedule tick, or one replay step) writes, in one
    transaction: queue messages, topic publications, outbox rows and archive copies."""

    queue_rows: list[QueueDelivery] = field(default_factory=list)
    publications: list[TopicPublication] = field(default_factory=list)
    http_rows: list[HttpDelivery] = field(default_factory=list)
    archive_rows: list[ArchiveRow] = field(default_factory=list)
    tally: DispatchTally = field(default_factory=lambda: DispatchTally())
    """What the rows amount to for the observer, reported once they commit (not stored)."""

    def __bool__(self) -> bool:
        return bool(self.queue_rows or self.publications or self.http_rows or self.archive_rows)


def target_kind(arn: str) -> str | None:
    """The kind of target an ARN names (``sqs``, ``sns``, ``event_bus``, ``api_destination``,
    the metrics' ``kind`` label); None for a service this broker does not deliver to."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return None
    service, resource = parts[2], parts[5]
    if service == "sqs":
        return "sqs"
    if service == "sns":
        return "sns"
    if service == "events" and resource.startswith("event-bus/"):
        return "event_bus"
    if service == "events" and resource.startswith("api-destination/"):
        return "api_destination"
    return None


def bus_of_rule(rule: str) -> str:
    """The bus ARN of a rule ARN (``rule/<name>`` is on the default bus, ``rule/<bus>/<name>``
    on ``<bus>``)."""
    prefix, _, resource = rule.partition(":rule/")
    bus, _, name = resource.partition("/")
    return f"{prefix}:event-bus/{bus if name else DEFAULT_BUS}"


@dataclass
class DispatchTally:
    """Counts of one dispatch, per bus ARN: matched rules, invoked and unreachable targets by
    kind, archive copies."""

    matched: dict[str, int] = field(default_factory=dict)
    invoked: dict[tuple[str, str], int] = field(default_factory=dict)
    failed: dict[tuple[str, str], int] = field(default_factory=dict)
    archived: dict[str, int] = field(default_factory=dict)

    def add(self, into: dict[Any, int], key: Any, count: int = 1) -> None:
        into[key] = into.get(key, 0) + count


@dataclass(frozen=True)
class DispatchResult:
    queue_counts: Mapping[int, int]
    publications: int
    deliveries: int
