"""The AWS CLI's ``events`` commands against a real broker: a rule to a queue, an event, and an
error."""

from __future__ import annotations

import json
from typing import Any

import pytest
from accept_support import AwsCli
from sns_clients import drain, queue_arn


@pytest.fixture(scope="module")
def events_cli(broker_url: str, cli_env: dict[str, str]) -> AwsCli:
    return AwsCli(broker_url, cli_env, "events")


def test_cli_rule_target_and_put_events(events_cli: AwsCli, sqs: Any, queue_name: str) -> None:
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    pattern = json.dumps({"source": ["cli.test"], "detail": {"kind": ["book"]}})
    arn = events_cli.ok("put-rule", "--name", queue_name, "--event-pattern", pattern)["RuleArn"]
    assert arn.endswith(f":rule/{queue_name}")
    events_cli.ok(
        "put-targets",
        "--rule",
        queue_name,
        "--targets",
        json.dumps([{"Id": "q", "Arn": queue_arn(sqs, url)}]),
    )
    listed = events_cli.ok("list-rules", "--name-prefix", queue_name)["Rules"]
    assert [r["Name"] for r in listed] == [queue_name]
    entries = [
        {"Source": "cli.test", "DetailType": "t", "Detail": json.dumps({"kind": kind})}
        for kind in ("toy", "book")
    ]
    result = events_cli.ok("put-events", "--entries", json.dumps(entries))
    assert result["FailedEntryCount"] == 0
    (message,) = drain(sqs, url, 2)
    assert json.loads(message["Body"])["detail"] == {"kind": "book"}


def test_cli_reports_a_missing_rule(events_cli: AwsCli) -> None:
    done = events_cli.run("describe-rule", "--name", "no-such-rule")
    assert done.returncode != 0
    assert "ResourceNotFoundException" in done.stderr


def test_cli_bus_permissions(events_cli: AwsCli, queue_name: str) -> None:
    events_cli.ok("create-event-bus", "--name", queue_name)
    events_cli.ok(
        "put-permission",
        "--event-bus-name",
        queue_name,
        "--action",
        "events:PutEvents",
        "--principal",
        "111122223333",
        "--statement-id",
        "partner",
    )
    policy = json.loads(events_cli.ok("describe-event-bus", "--name", queue_name)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["partner"]
    events_cli.ok("remove-permission", "--event-bus-name", queue_name, "--statement-id", "partner")
    assert "Policy" not in events_cli.ok("describe-event-bus", "--name", queue_name)
    missing = events_cli.run(
        "remove-permission", "--event-bus-name", queue_name, "--statement-id", "partner"
    )
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
