"""The EventBridge actions: read members, call the services, build the JSON result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from broker.core.event_archives import ArchiveService
from broker.core.event_destinations import DestinationService, public_auth_parameters
from broker.core.event_models import (
    DEFAULT_BUS,
    ApiDestination,
    Archive,
    Connection,
    EventBus,
    Replay,
    Rule,
)
from broker.core.events import EventService, PutEventsEntry
from broker.core.models import Caller
from broker.protocols.aws.events.params import EventParams, epoch, timestamp_of
from broker.protocols.aws.json_protocol import JsonObject, JsonValue


@dataclass(frozen=True)
class EventsCall:
    events: EventService
    destinations: DestinationService
    archives: ArchiveService
    caller: Caller


Handler = Callable[[EventsCall, EventParams], Awaitable[JsonObject]]


def _clean(result: dict[str, Any]) -> JsonObject:
    return {k: v for k, v in result.items() if v is not None}


# -- buses ----------------------------------------------------------------------------------


def _bus(bus: EventBus) -> JsonObject:
    return _clean(
        {
            "Name": bus.name,
            "Arn": bus.arn,
            "Description": bus.description,
            "Policy": bus.policy,
            "CreationTime": epoch(bus.created_at),
            "LastModifiedTime": epoch(bus.modified_at),
        }
    )


async def create_event_bus(call: EventsCall, p: EventParams) -> JsonObject:
    bus = await call.events.create_event_bus(
        call.caller, p.required("Name"), p.string("Description"), p.string("EventSourceName")
    )
    return _clean({"EventBusArn": bus.arn, "Description": bus.description})


async def describe_event_bus(call: EventsCall, p: EventParams) -> JsonObject:
    return _bus(await call.events.bus(call.caller, p.string("Name")))


async def list_event_buses(call: EventsCall, p: EventParams) -> JsonObject:
    buses, token = await call.events.list_event_buses(
        call.caller, p.string("NamePrefix"), p.string("NextToken"), p.integer("Limit")
    )
    return _clean({"EventBuses": [_bus(b) for b in buses], "NextToken": token})


async def delete_event_bus(call: EventsCall, p: EventParams) -> JsonObject:
    await call.events.delete_event_bus(call.caller, p.required("Name"))
    return {}


async def put_permission(call: EventsCall, p: EventParams) -> JsonObject:
    condition = p.structure("Condition")
    await call.events.put_permission(
        call.caller,
        p.string("EventBusName"),
        p.string("Action"),
        p.string("Principal"),
        p.string("StatementId"),
        {k: str(v) for k, v in condition.items()} if condition is not None else None,
        p.string("Policy"),
    )
    return {}


async def remove_permission(call: EventsCall, p: EventParams) -> JsonObject:
    await call.events.remove_permission(
        call.caller,
        p.string("EventBusName"),
        p.string("StatementId"),
        p.boolean("RemoveAllPermissions"),
    )
    return {}


# -- rules ----------------------------------------------------------------------------------


def _rule(rule: Rule) -> JsonObject:
    return _clean(
        {
            "Name": rule.name,
            "Arn": rule.arn,
            "EventPattern": rule.event_pattern,
            "ScheduleExpression": rule.schedule_expression,
            "State": rule.state,
            "Description": rule.description,
            "RoleArn": rule.role_arn,
            "EventBusName": rule.bus_name,
        }
    )


async def put_rule(call: EventsCall, p: EventParams) -> JsonObject:
    rule = await call.events.put_rule(
        call.caller,
        p.required("Name"),
        p.string("EventBusName"),
        p.string("EventPattern"),
        p.string("ScheduleExpression"),
        p.string("State"),
        p.string("Description"),
        p.string("RoleArn"),
        p.tags(),
    )
    return {"RuleArn": rule.arn}


async def describe_rule(call: EventsCall, p: EventParams) -> JsonObject:
    rule = await call.events.rule(call.caller, p.required("Name"), p.string("EventBusName"))
    result = _rule(rule)
    result["CreatedBy"] = rule.account_id
    return result


async def list_rules(call: EventsCall, p: EventParams) -> JsonObject:
    rules, token = await call.events.list_rules(
        call.caller,
        p.string("NamePrefix"),
        p.string("EventBusName"),
        p.string("NextToken"),
        p.integer("Limit"),
    )
    return _clean({"Rules": [_rule(r) for r in rules], "NextToken": token})


async def delete_rule(call: EventsCall, p: EventParams) -> JsonObject:
    await call.events.delete_rule(
        call.caller, p.required("Name"), p.string("EventBusName"), p.boolean("Force")
    )
    return {}


async def enable_rule(call: EventsCall, p: EventParams) -> JsonObject:
    await call.events.set_rule_state(
        call.caller, p.required("Name"), p.string("EventBusName"), True
    )
    return {}


async def disable_rule(call: EventsCall, p: EventParams) -> JsonObject:
    await call.events.set_rule_state(
        call.caller, p.required("Name"), p.string("EventBusName"), False
    )
    return {}


async def list_rule_names_by_target(call: EventsCall, p: EventParams) -> JsonObject:
    names, token = await call.events.rule_names_by_target(
        call.caller,
        p.required("TargetArn"),
        p.string("EventBusName"),
        p.string("NextToken"),
        p.integer("Limit"),
    )
    return _clean({"RuleNames": list(names), "NextToken": token})


async def test_event_pattern(call: EventsCall, p: EventParams) -> JsonObject:
    return {
        "Result": call.events.test_event_pattern(p.required("EventPattern"), p.required("Event"))
    }


# -- targets --------------------------------------------------------------------------------


async def put_targets(call: EventsCall, p: EventParams) -> JsonObject:
    if p.raw("Targets") is None:
        p.required("Targets")
    await call.events.put_targets(
        call.caller, p.required("Rule"), p.string("EventBusName"), p.objects("Targets")
    )
    return {"FailedEntryCount": 0, "FailedEntries": []}


async def remove_targets(call: EventsCall, p: EventParams) -> JsonObject:
    if p.raw("Ids") is None:
        p.required("Ids")
    await call.events.remove_targets(
        call.caller, p.required("Rule"), p.string("EventBusName"), p.strings("Ids")
    )
    return {"FailedEntryCount": 0, "FailedEntries": []}


async def list_targets_by_rule(call: EventsCall, p: EventParams) -> JsonObject:
    targets, token = await call.events.list_targets(
        call.caller,
        p.required("Rule"),
        p.string("EventBusName"),
        p.string("NextToken"),
        p.integer("Limit"),
    )
    listed: list[JsonValue] = [dict(t.definition) for t in targets]
    return _clean({"Targets": listed, "NextToken": token})


# -- PutEvents ------------------------------------------------------------------------------


def _entry(given: dict[str, Any]) -> PutEventsEntry:
    entry = EventParams(given)
    moment = given.get("Time")
    return PutEventsEntry(
        source=entry.string("Source"),
        detail_type=entry.string("DetailType"),
        detail=entry.string("Detail"),
        resources=entry.strings("Resources"),
        time=timestamp_of("Time", moment) if moment is not None else None,
        event_bus_name=entry.string("EventBusName"),
        trace_header=entry.string("TraceHeader"),
    )


async def put_events(call: EventsCall, p: EventParams) -> JsonObject:
    if p.raw("Entries") is None:
        p.required("Entries")
    if p.string("EndpointId"):
        raise _not_supported("PutEvents to a global endpoint (EndpointId)")
    results = await call.events.put_events(call.caller, [_entry(e) for e in p.objects("Entries")])
    entries: list[JsonValue] = [
        _clean({"EventId": r.event_id, "ErrorCode": r.error_code, "ErrorMessage": r.error_message})
        for r in results
    ]
    return {"FailedEntryCount": sum(1 for r in results if r.error_code), "Entries": entries}


# -- connections and API destinations -------------------------------------------------------


def _connection_summary(c: Connection) -> dict[str, Any]:
    return {
        "ConnectionArn": c.arn,
        "ConnectionState": c.state,
        "CreationTime": epoch(c.created_at),
        "LastModifiedTime": epoch(c.modified_at),
        "LastAuthorizedTime": epoch(c.modified_at),
    }


async def create_connection(call: EventsCall, p: EventParams) -> JsonObject:
    connection = await call.destinations.create_connection(
        call.caller,
        p.required("Name"),
        p.string("Description"),
        p.required("AuthorizationType"),
        p.structure("AuthParameters") or {},
    )
    result = _connection_summary(connection)
    del result["LastAuthorizedTime"]
    return _clean(result)


async def describe_connection(call: EventsCall, p: EventParams) -> JsonObject:
    c = await call.destinations.connection(call.caller, p.required("Name"))
    result = _connection_summary(c)
    result.update(
        {
            "Name": c.name,
            "Description": c.description,
            "AuthorizationType": c.authorization_type,
            "AuthParameters": public_auth_parameters(c.auth_parameters),
        }
    )
    return _clean(result)


async def list_connections(call: EventsCall, p: EventParams) -> JsonObject:
    found, token = await call.destinations.list_connections(
        call.caller, p.string("NamePrefix"), p.string("NextToken"), p.integer("Limit")
    )
    state = p.string("ConnectionState")
    listed: list[JsonValue] = [
        _clean(
            {
                **_connection_summary(c),
                "Name": c.name,
                "AuthorizationType": c.authorization_type,
            }
        )
        for c in found
        if state is None or c.state == state
    ]
    return _clean({"Connections": listed, "NextToken": token})


async def update_connection(call: EventsCall, p: EventParams) -> JsonObject:
    connection = await call.destinations.update_connection(
        call.caller,
        p.required("Name"),
        p.string("Description"),
        p.string("AuthorizationType"),
        p.structure("AuthParameters"),
    )
    return _clean(_connection_summary(connection))


async def deauthorize_connection(call: EventsCall, p: EventParams) -> JsonObject:
    connection = await call.destinations.deauthorize_connection(call.caller, p.required("Name"))
    return _clean(_connection_summary(connection))


async def delete_connection(call: EventsCall, p: EventParams) -> JsonObject:
    connection = await call.destinations.delete_connection(call.caller, p.required("Name"))
    result = _connection_summary(connection)
    result["ConnectionState"] = "DELETING"
    return _clean(result)


def _destination(d: ApiDestination) -> dict[str, Any]:
    return {
        "ApiDestinationArn": d.arn,
        "Name": d.name,
        "Description": d.description,
        "ApiDestinationState": d.state,
        "ConnectionArn": d.connection_arn,
        "InvocationEndpoint": d.endpoint,
        "HttpMethod": d.http_method,
        "InvocationRateLimitPerSecond": d.rate_limit,
        "CreationTime": epoch(d.created_at),
        "LastModifiedTime": epoch(d.modified_at),
    }


def _destination_summary(d: ApiDestination) -> JsonObject:
    full = _destination(d)
    keys = ("ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime")
    return _clean({k: full[k] for k in keys})


async def create_api_destination(call: EventsCall, p: EventParams) -> JsonObject:
    destination = await call.destinations.create_api_destination(
        call.caller,
        p.required("Name"),
        p.string("Description"),
        p.required("ConnectionArn"),
        p.required("InvocationEndpoint"),
        p.required("HttpMethod"),
        p.integer("InvocationRateLimitPerSecond"),
    )
    return _destination_summary(destination)


async def describe_api_destination(call: EventsCall, p: EventParams) -> JsonObject:
    return _clean(
        _destination(await call.destinations.api_destination(call.caller, p.required("Name")))
    )


async def list_api_destinations(call: EventsCall, p: EventParams) -> JsonObject:
    found, token = await call.destinations.list_api_destinations(
        call.caller,
        p.string("NamePrefix"),
        p.string("ConnectionArn"),
        p.string("NextToken"),
        p.integer("Limit"),
    )
    listed: list[JsonValue] = [_clean(_destination(d)) for d in found]
    return _clean({"ApiDestinations": listed, "NextToken": token})


async def update_api_destination(call: EventsCall, p: EventParams) -> JsonObject:
    destination = await call.destinations.update_api_destination(
        call.caller,
        p.required("Name"),
        p.string("Description"),
        p.string("ConnectionArn"),
        p.string("InvocationEndpoint"),
        p.string("HttpMethod"),
        p.integer("InvocationRateLimitPerSecond"),
    )
    return _destination_summary(destination)


async def delete_api_destination(call: EventsCall, p: EventParams) -> JsonObject:
    await call.destinations.delete_api_destination(call.caller, p.required("Name"))
    return {}


# -- archives and replays -------------------------------------------------------------------


def _archive(a: Archive) -> dict[str, Any]:
    return {
        "ArchiveArn": a.arn,
        "ArchiveName": a.name,
        "EventSourceArn": a.source_arn,
        "Description": a.description,
        "EventPattern": a.event_pattern,
        "State": a.state,
        "RetentionDays": a.retention_days,
        "SizeBytes": a.size_bytes,
        "EventCount": a.event_count,
        "CreationTime": epoch(a.created_at),
    }


async def create_archive(call: EventsCall, p: EventParams) -> JsonObject:
    if p.string("KmsKeyIdentifier"):
        raise _not_supported("Archive encryption with a KMS key")
    archive = await call.archives.create_archive(
        call.caller,
        p.required("ArchiveName"),
        p.required("EventSourceArn"),
        p.string("Description"),
        p.string("EventPattern"),
        p.integer("RetentionDays"),
    )
    full = _archive(archive)
    return _clean({k: full[k] for k in ("ArchiveArn", "State", "CreationTime")})


async def describe_archive(call: EventsCall, p: EventParams) -> JsonObject:
    return _clean(_archive(await call.archives.archive(call.caller, p.required("ArchiveName"))))


async def list_archives(call: EventsCall, p: EventParams) -> JsonObject:
    found, token = await call.archives.list_archives(
        call.caller,
        p.string("NamePrefix"),
        p.string("EventSourceArn"),
        p.string("State"),
        p.string("NextToken"),
        p.integer("Limit"),
    )
    keys = (
        "ArchiveName",
        "EventSourceArn",
        "State",
        "RetentionDays",
        "SizeBytes",
        "EventCount",
        "CreationTime",
    )
    listed: list[JsonValue] = []
    for archive in found:
        full = _archive(archive)
        listed.append(_clean({k: full[k] for k in keys}))
    return _clean({"Archives": listed, "NextToken": token})


async def update_archive(call: EventsCall, p: EventParams) -> JsonObject:
    archive = await call.archives.update_archive(
        call.caller,
        p.required("ArchiveName"),
        p.string("Description"),
        p.string("EventPattern"),
        p.integer("RetentionDays"),
    )
    full = _archive(archive)
    return _clean({k: full[k] for k in ("ArchiveArn", "State", "CreationTime")})


async def delete_archive(call: EventsCall, p: EventParams) -> JsonObject:
    await call.archives.delete_archive(call.caller, p.required("ArchiveName"))
    return {}


def _replay(r: Replay) -> dict[str, Any]:
    destination: dict[str, Any] = {"Arn": r.destination_arn}
    if r.filter_arns:
        destination["FilterArns"] = list(r.filter_arns)
    return {
        "ReplayName": r.name,
        "ReplayArn": r.arn,
        "Description": r.description,
        "State": r.state,
        "StateReason": r.state_reason,
        "EventSourceArn": r.archive_arn,
        "Destination": destination,
        "EventStartTime": epoch(r.event_start_time),
        "EventEndTime": epoch(r.event_end_time),
        "EventLastReplayedTime": epoch(r.last_replayed),
        "ReplayStartTime": epoch(r.replay_start_time),
        "ReplayEndTime": epoch(r.replay_end_time),
    }


async def start_replay(call: EventsCall, p: EventParams) -> JsonObject:
    destination = p.structure("Destination")
    if destination is None:
        p.required("Destination")
        destination = {}
    target = EventParams(destination)
    start = p.timestamp("EventStartTime", required=True)
    end = p.timestamp("EventEndTime", required=True)
    assert start is not None and end is not None
    replay = await call.archives.start_replay(
        call.caller,
        p.required("ReplayName"),
        p.string("Description"),
        p.required("EventSourceArn"),
        start,
        end,
        target.required("Arn"),
        target.strings("FilterArns"),
    )
    full = _replay(replay)
    return _clean({k: full[k] for k in ("ReplayArn", "State", "StateReason", "ReplayStartTime")})


async def describe_replay(call: EventsCall, p: EventParams) -> JsonObject:
    return _clean(_replay(await call.archives.replay(call.caller, p.required("ReplayName"))))


async def list_replays(call: EventsCall, p: EventParams) -> JsonObject:
    found, token = await call.archives.list_replays(
        call.caller,
        p.string("NamePrefix"),
        p.string("EventSourceArn"),
        p.string("State"),
        p.string("NextToken"),
        p.integer("Limit"),
    )
    listed: list[JsonValue] = []
    for replay in found:
        full = _replay(replay)
        del full["ReplayArn"], full["Description"], full["Destination"]
        listed.append(_clean(full))
    return _clean({"Replays": listed, "NextToken": token})


async def cancel_replay(call: EventsCall, p: EventParams) -> JsonObject:
    replay = await call.archives.cancel_replay(call.caller, p.required("ReplayName"))
    return _clean(
        {"ReplayArn": replay.arn, "State": replay.state, "StateReason": replay.state_reason}
    )


# -- not supported --------------------------------------------------------------------------


class NotSupported(Exception):
    """An EventBridge action or option this broker does not offer."""


def _not_supported(what: str) -> NotSupported:
    return NotSupported(
        f"{what} is not supported by this broker: it offers event buses, rules, targets (SQS, "
        "SNS, event buses, API destinations), archives and replays."
    )


ACTIONS: dict[str, Handler] = {
    "CreateEventBus": create_event_bus,
    "DescribeEventBus": describe_event_bus,
    "ListEventBuses": list_event_buses,
    "DeleteEventBus": delete_event_bus,
    "PutPermission": put_permission,
    "RemovePermission": remove_permission,
    "PutRule": put_rule,
    "DescribeRule": describe_rule,
    "ListRules": list_rules,
    "DeleteRule": delete_rule,
    "EnableRule": enable_rule,
    "DisableRule": disable_rule,
    "ListRuleNamesByTarget": list_rule_names_by_target,
    "TestEventPattern": test_event_pattern,
    "PutTargets": put_targets,
    "RemoveTargets": remove_targets,
    "ListTargetsByRule": list_targets_by_rule,
    "PutEvents": put_events,
    "CreateConnection": create_connection,
    "DescribeConnection": describe_connection,
    "ListConnections": list_connections,
    "UpdateConnection": update_connection,
    "DeauthorizeConnection": deauthorize_connection,
    "DeleteConnection": delete_connection,
    "CreateApiDestination": create_api_destination,
    "DescribeApiDestination": describe_api_destination,
    "ListApiDestinations": list_api_destinations,
    "UpdateApiDestination": update_api_destination,
    "DeleteApiDestination": delete_api_destination,
    "CreateArchive": create_archive,
    "DescribeArchive": describe_archive,
    "ListArchives": list_archives,
    "UpdateArchive": update_archive,
    "DeleteArchive": delete_archive,
    "StartReplay": start_replay,
    "DescribeReplay": describe_replay,
    "ListReplays": list_replays,
    "CancelReplay": cancel_replay,
}

NOT_SUPPORTED_ACTIONS = frozenset(
    {
        "UpdateEventBus",
        "TagResource",
        "UntagResource",
        "ListTagsForResource",
        "ActivateEventSource",
        "DeactivateEventSource",
        "DescribeEventSource",
        "ListEventSources",
        "CreatePartnerEventSource",
        "DeletePartnerEventSource",
        "DescribePartnerEventSource",
        "ListPartnerEventSources",
        "ListPartnerEventSourceAccounts",
        "PutPartnerEvents",
        "CreateEndpoint",
        "DeleteEndpoint",
        "DescribeEndpoint",
        "ListEndpoints",
        "UpdateEndpoint",
    }
)

__all__ = ["ACTIONS", "DEFAULT_BUS", "NOT_SUPPORTED_ACTIONS", "EventsCall", "NotSupported"]
