"""Scheduled rules with two broker processes on one database: every tick fires exactly once, the
Scheduled Event envelope, and the missed-tick policy after downtime."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from accept_support import BrokerProcess, StartBroker, wait_until
from events_clients import make_events_client
from sns_clients import drain, queue_arn

FAST = {"BROKER_SCHEDULER_INTERVAL_SECONDS": "0.2"}


@pytest.fixture(scope="module")
def broker_env() -> dict[str, str]:
    return FAST


@pytest.fixture(scope="module")
def second(start_broker: StartBroker, database_url: str, broker: BrokerProcess) -> BrokerProcess:
    return start_broker(database_url, FAST)


@pytest.fixture(scope="module")
def events(broker_url: str) -> Any:
    return make_events_client(broker_url)


@pytest.fixture
def name() -> str:
    return f"s-{uuid.uuid4().hex[:10]}"


def make_due(database_url: str, rule_arns: list[str], at: str = "now()") -> None:
    """Move the rules' next tick to ``at``, as if their time had come (a minute is long to wait)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            f"UPDATE broker.event_rules SET next_fire_at = {at} WHERE arn = ANY(%s)",
            (rule_arns,),
        )


def next_fire(database_url: str, rule_arn: str) -> datetime | None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT next_fire_at FROM broker.event_rules WHERE arn = %s", (rule_arn,)
        ).fetchone()
    assert row is not None
    value: datetime | None = row[0]
    return value


def test_every_due_tick_fires_once_across_two_processes(
    events: Any, sqs: Any, second: BrokerProcess, database_url: str, name: str
) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    target = [{"Id": "q", "Arn": queue_arn(sqs, url)}]
    other = make_events_client(second.url)
    arns = []
    for i in range(20):
        client = events if i % 2 else other
        arn = client.put_rule(Name=f"{name}-{i}", ScheduleExpression="rate(1 hour)")["RuleArn"]
        client.put_targets(Rule=f"{name}-{i}", Targets=target)
        arns.append(arn)
    before = {arn: next_fire(database_url, arn) for arn in arns}
    assert all(t is not None and t > datetime.now(UTC) for t in before.values())
    make_due(database_url, arns)
    messages = drain(sqs, url, 20, wait=10)
    fired = sorted(json.loads(m["Body"])["resources"][0] for m in messages)
    assert fired == sorted(arns)
    # Each tick advanced its rule in the transaction that delivered it: nothing is due now.
    for arn in arns:
        upcoming = next_fire(database_url, arn)
        assert upcoming is not None and upcoming > datetime.now(UTC)
    assert drain(sqs, url, 1, wait=2) == []


def test_the_scheduled_event_envelope(
    events: Any, sqs: Any, second: BrokerProcess, database_url: str, name: str
) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = events.put_rule(Name=name, ScheduleExpression="cron(0 12 * * ? *)")["RuleArn"]
    assert events.describe_rule(Name=name)["ScheduleExpression"] == "cron(0 12 * * ? *)"
    upcoming = next_fire(database_url, arn)
    assert upcoming is not None and (upcoming.hour, upcoming.minute) == (12, 0)
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": queue_arn(sqs, url)}])
    make_due(database_url, [arn], "date_trunc('minute', now())")
    (message,) = drain(sqs, url, 1, wait=10)
    event = json.loads(message["Body"])
    assert list(event) == [
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    ]
    assert (event["detail-type"], event["source"], event["detail"]) == (
        "Scheduled Event",
        "aws.events",
        {},
    )
    assert event["resources"] == [arn]
    assert event["time"].endswith(":00Z")
    upcoming = next_fire(database_url, arn)
    assert upcoming is not None and (upcoming.hour, upcoming.minute) == (12, 0)


def test_missed_ticks_fire_once_then_the_schedule_resumes(
    events: Any, sqs: Any, database_url: str, name: str
) -> None:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": queue_arn(sqs, url)}])
    # Thirty minutes of downtime: thirty ticks were missed.
    make_due(database_url, [arn], "now() - interval '30 minutes'")
    (message,) = drain(sqs, url, 1, wait=10)
    missed = datetime.fromisoformat(json.loads(message["Body"])["time"].replace("Z", "+00:00"))
    assert missed < datetime.now(UTC) - timedelta(minutes=29)
    upcoming = next_fire(database_url, arn)
    assert upcoming is not None
    assert datetime.now(UTC) < upcoming <= datetime.now(UTC) + timedelta(minutes=1)
    assert drain(sqs, url, 1, wait=1) == []


def test_disabling_parks_a_schedule_and_enabling_rearms_it(
    events: Any, database_url: str, name: str
) -> None:
    arn = events.put_rule(Name=name, ScheduleExpression="rate(5 minutes)")["RuleArn"]
    events.disable_rule(Name=name)
    assert next_fire(database_url, arn) is None
    events.enable_rule(Name=name)
    upcoming = wait_until(lambda: next_fire(database_url, arn), 5, what="re-armed schedule")
    assert upcoming > datetime.now(UTC)
    events.put_rule(Name=name, ScheduleExpression="rate(5 minutes)", State="DISABLED")
    assert next_fire(database_url, arn) is None
