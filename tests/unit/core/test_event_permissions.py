"""Whether a rule may deliver to a target of another account (``events.permitted``), and the
resources an EventBridge request names for the caller's key policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker.core.event_models import (
    NOTHING,
    Destination,
    QueueEndpoint,
    Resolution,
    RouteTarget,
    Target,
)
from broker.core.event_names import account_of
from broker.core.events import permitted
from broker.core.models import Caller
from broker.protocols.aws.events.key_resources import resources

SOURCE = "111111111111"
OWNER = "222222222222"
REGION = "us-east-1"
RULE = f"arn:aws:events:{REGION}:{SOURCE}:rule/orders"
QUEUE = f"arn:aws:sqs:{REGION}:{OWNER}:inbox"
TOPIC = f"arn:aws:sns:{REGION}:{OWNER}:feed"
BUS = f"arn:aws:events:{REGION}:{OWNER}:event-bus/central"


def _policy(principal: Any, action: str, resource: str, rule: str | None = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": resource,
    }
    if rule is not None:
        statement["Condition"] = {"ArnEquals": {"aws:SourceArn": rule}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _route(arn: str, resolution: Resolution) -> RouteTarget:
    return RouteTarget(RULE, "orders", Target("t", arn, {"Id": "t", "Arn": arn}), resolution)


QUEUE_ENDPOINT = QueueEndpoint(7, False, False)
EVENTS = {"Service": "events.amazonaws.com"}


@pytest.mark.parametrize(
    ("arn", "resolution", "delivered"),
    [
        # the rule's own account: always
        (QUEUE, Resolution(queue=QUEUE_ENDPOINT, owner=SOURCE), True),
        # another account's queue: only under a policy for events.amazonaws.com and this rule
        (QUEUE, Resolution(queue=QUEUE_ENDPOINT, owner=OWNER), False),
        (
            QUEUE,
            Resolution(
                queue=QUEUE_ENDPOINT,
                owner=OWNER,
                policy=_policy(EVENTS, "sqs:SendMessage", QUEUE, RULE),
            ),
            True,
        ),
        (
            QUEUE,
            Resolution(
                queue=QUEUE_ENDPOINT,
                owner=OWNER,
                policy=_policy(EVENTS, "sqs:SendMessage", QUEUE, RULE + "-other"),
            ),
            False,
        ),
        (
            QUEUE,
            Resolution(
                queue=QUEUE_ENDPOINT,
                owner=OWNER,
                policy=_policy({"Service": "sns.amazonaws.com"}, "sqs:SendMessage", QUEUE, RULE),
            ),
            False,
        ),
        (
            TOPIC,
            Resolution(topic_id=3, owner=OWNER, policy=_policy(EVENTS, "sns:Publish", TOPIC, RULE)),
            True,
        ),
        (TOPIC, Resolution(topic_id=3, owner=OWNER), False),
        # another account's bus: its policy must let the rule's account put events
        (BUS, Resolution(bus_id=9, owner=OWNER), False),
        (
            BUS,
            Resolution(
                bus_id=9,
                owner=OWNER,
                policy=_policy({"AWS": f"arn:aws:iam::{SOURCE}:root"}, "events:PutEvents", BUS),
            ),
            True,
        ),
        (
            BUS,
            Resolution(
                bus_id=9,
                owner=OWNER,
                policy=_policy({"AWS": "arn:aws:iam::333333333333:root"}, "events:PutEvents", BUS),
            ),
            False,
        ),
        # API destinations serve their own account only
        (
            f"arn:aws:events:{REGION}:{OWNER}:api-destination/d/1",
            Resolution(
                destination=Destination("d", "http://x", "POST", None, "c"),
                owner=OWNER,
                policy=_policy("*", "*", "*"),
            ),
            False,
        ),
        # nothing resolved: nothing to decide
        (QUEUE, NOTHING, False),
    ],
)
def test_a_rule_delivers_to_another_account_only_under_its_policy(
    arn: str, resolution: Resolution, delivered: bool
) -> None:
    result = permitted(_route(arn, resolution))
    assert (result.resolution is not NOTHING) == delivered
    if delivered:
        assert result.resolution == resolution


def test_account_of_an_arn_or_a_name() -> None:
    assert account_of(BUS) == OWNER
    assert account_of("central") is None
    assert account_of(None) is None
    assert account_of("arn:aws:events:us-east-1::event-bus/x") is None


CALLER = Caller(account_id=SOURCE)


@pytest.mark.parametrize(
    ("action", "body", "expected"),
    [
        ("DescribeEventBus", {}, [f"arn:aws:events:{REGION}:{SOURCE}:event-bus/default"]),
        ("DescribeEventBus", {"Name": BUS}, [BUS]),
        (
            "PutPermission",
            {"EventBusName": "orders"},
            [f"arn:aws:events:{REGION}:{SOURCE}:event-bus/orders"],
        ),
        ("PutRule", {"Name": "r"}, [f"arn:aws:events:{REGION}:{SOURCE}:rule/r"]),
        (
            "PutTargets",
            {"Rule": "r", "EventBusName": BUS},
            [f"arn:aws:events:{REGION}:{SOURCE}:rule/central/r"],
        ),
        (
            "PutEvents",
            {"Entries": [{"EventBusName": BUS}, {}, {"EventBusName": BUS}, "junk"]},
            sorted([BUS, f"arn:aws:events:{REGION}:{SOURCE}:event-bus/default"]),
        ),
        ("PutEvents", {"Entries": "junk"}, ["*"]),
        ("DescribeConnection", {"Name": "c"}, [f"arn:aws:events:{REGION}:{SOURCE}:connection/c/*"]),
        (
            "DeleteApiDestination",
            {"Name": "d"},
            [f"arn:aws:events:{REGION}:{SOURCE}:api-destination/d/*"],
        ),
        ("DescribeArchive", {"ArchiveName": "a"}, [f"arn:aws:events:{REGION}:{SOURCE}:archive/a"]),
        ("CancelReplay", {"ReplayName": "p"}, [f"arn:aws:events:{REGION}:{SOURCE}:replay/p"]),
        ("ListEventBuses", {}, ["*"]),
        ("TestEventPattern", {}, ["*"]),
    ],
)
def test_the_resource_each_action_names_for_the_key_policy(
    action: str, body: dict[str, Any], expected: list[str]
) -> None:
    assert resources(REGION, CALLER, action, body) == expected
