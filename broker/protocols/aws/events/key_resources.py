"""The resources an EventBridge request addresses, for the caller's key policy.

Each action is checked as ``events:<Action>`` on the ARN of the bus, rule, connection, API
destination, archive or replay it names (``*`` for the account-wide list actions), the way IAM
names EventBridge resources. Connections and API destinations carry a generated suffix in their
ARNs that a request by name does not know: they are checked as ``connection/<name>/*`` and
``api-destination/<name>/*``, which a policy naming ``connection/<name>/*`` (or a wider pattern)
matches.
"""

from __future__ import annotations

from typing import Any

from broker.core.event_models import DEFAULT_BUS, bus_arn, events_arn, rule_arn
from broker.core.models import Caller

_BUS_BY_NAME = frozenset({"CreateEventBus", "DescribeEventBus", "DeleteEventBus"})
_BUS_BY_BUS_NAME = frozenset(
    {"PutPermission", "RemovePermission", "ListRules", "ListRuleNamesByTarget"}
)
_RULE_BY_NAME = frozenset({"PutRule", "DescribeRule", "DeleteRule", "EnableRule", "DisableRule"})
_RULE_BY_RULE = frozenset({"PutTargets", "RemoveTargets", "ListTargetsByRule"})
_CONNECTIONS = frozenset(
    {
        "CreateConnection",
        "DescribeConnection",
        "UpdateConnection",
        "DeauthorizeConnection",
        "DeleteConnection",
    }
)
_DESTINATIONS = frozenset(
    {
        "CreateApiDestination",
        "DescribeApiDestination",
        "UpdateApiDestination",
        "DeleteApiDestination",
    }
)
_ARCHIVES = frozenset({"CreateArchive", "DescribeArchive", "UpdateArchive", "DeleteArchive"})
_REPLAYS = frozenset({"StartReplay", "DescribeReplay", "CancelReplay"})


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) else ""


def _bus(region: str, caller: Caller, given: str) -> str:
    """The ARN of an ``EventBusName`` (a name or an ARN; the default bus when empty)."""
    if given.startswith("arn:"):
        return given
    return bus_arn(region, caller.account_id, given or DEFAULT_BUS)


def _bus_name(given: str) -> str:
    if given.startswith("arn:") and "event-bus/" in given:
        return given.split("event-bus/", 1)[1]
    return given or DEFAULT_BUS


def resources(region: str, caller: Caller, action: str, body: dict[str, Any]) -> list[str]:
    """The resource ARNs ``action`` addresses (PutEvents: the bus of each entry)."""
    account = caller.account_id
    if action in _BUS_BY_NAME:
        return [_bus(region, caller, _text(body, "Name"))]
    if action in _BUS_BY_BUS_NAME:
        return [_bus(region, caller, _text(body, "EventBusName"))]
    if action in _RULE_BY_NAME or action in _RULE_BY_RULE:
        name = _text(body, "Name" if action in _RULE_BY_NAME else "Rule")
        return [rule_arn(region, account, _bus_name(_text(body, "EventBusName")), name)]
    if action == "PutEvents":
        entries = body.get("Entries")
        buses = {
            _bus(region, caller, _text(e, "EventBusName"))
            for e in (entries if isinstance(entries, list) else [])
            if isinstance(e, dict)
        }
        return sorted(buses) or ["*"]
    if action in _CONNECTIONS:
        return [events_arn(region, account, f"connection/{_text(body, 'Name')}/*")]
    if action in _DESTINATIONS:
        return [events_arn(region, account, f"api-destination/{_text(body, 'Name')}/*")]
    if action in _ARCHIVES:
        return [events_arn(region, account, f"archive/{_text(body, 'ArchiveName')}")]
    if action in _REPLAYS:
        return [events_arn(region, account, f"replay/{_text(body, 'ReplayName')}")]
    return ["*"]
