"""EventBridge archives and replays through unmodified boto3: what is archived, replays with
``replay-name`` and rule filters, their states, and RetentionDays enforced by the janitor."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from accept_support import error_code, wait_until
from botocore.exceptions import ClientError
from events_clients import entry, make_events_client
from sns_clients import drain, queue_arn

WINDOW = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def broker_env() -> dict[str, str]:
    return {"BROKER_SCHEDULER_INTERVAL_SECONDS": "0.2", "BROKER_JANITOR_INTERVAL_SECONDS": "0.2"}


@pytest.fixture(scope="module")
def events(broker_url: str) -> Any:
    return make_events_client(broker_url)


@pytest.fixture
def name() -> str:
    return f"a-{uuid.uuid4().hex[:10]}"


def test_archive_lifecycle(events: Any, name: str) -> None:
    bus = events.create_event_bus(Name=name)["EventBusArn"]
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.create_archive(ArchiveName=name, EventSourceArn=bus + "-nope")
    created = events.create_archive(
        ArchiveName=name, EventSourceArn=bus, Description="all", RetentionDays=7
    )
    assert created["ArchiveArn"].endswith(f":archive/{name}")
    assert created["State"] == "ENABLED"
    with pytest.raises(events.exceptions.ResourceAlreadyExistsException):
        events.create_archive(ArchiveName=name, EventSourceArn=bus)
    described = events.describe_archive(ArchiveName=name)
    assert (described["EventSourceArn"], described["RetentionDays"]) == (bus, 7)
    assert described["EventCount"] == 0
    listed = events.list_archives(EventSourceArn=bus)["Archives"]
    assert [a["ArchiveName"] for a in listed] == [name]
    events.update_archive(ArchiveName=name, RetentionDays=0, EventPattern='{"source":["x"]}')
    updated = events.describe_archive(ArchiveName=name)
    assert (updated["RetentionDays"], updated["EventPattern"]) == (0, '{"source":["x"]}')
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        events.update_archive(ArchiveName=name, EventPattern='{"source":"x"}')
    events.delete_archive(ArchiveName=name)
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_archive(ArchiveName=name)


def test_an_archive_keeps_the_events_its_pattern_matches(events: Any, name: str) -> None:
    bus = events.create_event_bus(Name=name)["EventBusArn"]
    events.create_archive(
        ArchiveName=name, EventSourceArn=bus, EventPattern='{"detail":{"keep":[true]}}'
    )
    events.put_events(
        Entries=[
            entry({"keep": True}, EventBusName=name),
            entry({"keep": False}, EventBusName=name),
            entry({"keep": True}, EventBusName=name),
        ]
    )
    archive = events.describe_archive(ArchiveName=name)
    assert archive["EventCount"] == 2
    assert archive["SizeBytes"] > 0


def test_a_replay_resends_the_window_with_replay_name_to_the_chosen_rules(
    events: Any, sqs: Any, name: str
) -> None:
    bus = events.create_event_bus(Name=name)["EventBusArn"]
    archive = events.create_archive(ArchiveName=name, EventSourceArn=bus)["ArchiveArn"]
    times = [WINDOW + timedelta(seconds=s) for s in (-30, 5, 10, 50, 90)]
    events.put_events(
        Entries=[entry({"n": i}, EventBusName=name, Time=t) for i, t in enumerate(times)]
    )
    queues = {}
    rules = {}
    for rule in ("chosen", "other"):
        url = sqs.create_queue(QueueName=f"{name}-{rule}")["QueueUrl"]
        rules[rule] = events.put_rule(
            Name=rule, EventBusName=name, EventPattern='{"source":["shop.orders"]}'
        )["RuleArn"]
        events.put_targets(
            Rule=rule, EventBusName=name, Targets=[{"Id": "q", "Arn": queue_arn(sqs, url)}]
        )
        queues[rule] = url
    started = events.start_replay(
        ReplayName=name,
        EventSourceArn=archive,
        EventStartTime=WINDOW,
        EventEndTime=WINDOW + timedelta(minutes=1),
        Destination={"Arn": bus, "FilterArns": [rules["chosen"]]},
    )
    assert started["State"] == "STARTING"
    done = wait_until(
        lambda: events.describe_replay(ReplayName=name)["State"] == "COMPLETED",
        20,
        what="the replay to complete",
    )
    assert done
    replayed = [json.loads(m["Body"]) for m in drain(sqs, queues["chosen"], 3)]
    assert sorted(e["detail"]["n"] for e in replayed) == [1, 2, 3]
    assert {e["replay-name"] for e in replayed} == {name}
    assert drain(sqs, queues["other"], 1, wait=1) == []
    described = events.describe_replay(ReplayName=name)
    assert described["Destination"] == {"Arn": bus, "FilterArns": [rules["chosen"]]}
    assert described["EventLastReplayedTime"] == WINDOW + timedelta(seconds=50)
    assert described["EventSourceArn"] == archive
    assert [r["ReplayName"] for r in events.list_replays(NamePrefix=name)["Replays"]] == [name]
    # Replayed events are not archived again.
    assert events.describe_archive(ArchiveName=name)["EventCount"] == 5
    with pytest.raises(events.exceptions.IllegalStatusException):
        events.cancel_replay(ReplayName=name)
    with pytest.raises(events.exceptions.ResourceAlreadyExistsException):
        events.start_replay(
            ReplayName=name,
            EventSourceArn=archive,
            EventStartTime=WINDOW,
            EventEndTime=WINDOW + timedelta(minutes=1),
            Destination={"Arn": bus},
        )


def test_start_replay_refuses_bad_requests(events: Any, name: str) -> None:
    bus = events.create_event_bus(Name=name)["EventBusArn"]
    archive = events.create_archive(ArchiveName=name, EventSourceArn=bus)["ArchiveArn"]
    default = events.describe_event_bus()["Arn"]
    for start, end, destination in (
        (WINDOW, WINDOW - timedelta(minutes=1), bus),
        (WINDOW, WINDOW + timedelta(minutes=1), default),
    ):
        with pytest.raises(ClientError) as refused:
            events.start_replay(
                ReplayName=name,
                EventSourceArn=archive,
                EventStartTime=start,
                EventEndTime=end,
                Destination={"Arn": destination},
            )
        assert error_code(refused.value) == "ValidationException"
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_replay(ReplayName=name)


def test_the_janitor_enforces_retention_days(events: Any, database_url: str, name: str) -> None:
    bus = events.create_event_bus(Name=name)["EventBusArn"]
    events.create_archive(ArchiveName=name, EventSourceArn=bus, RetentionDays=1)
    events.create_archive(ArchiveName=name + "-forever", EventSourceArn=bus, RetentionDays=0)
    events.put_events(Entries=[entry({"n": i}, EventBusName=name) for i in range(3)])
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE broker.archived_events SET archived_at = now() - interval '2 days' "
            "WHERE archive_id IN (SELECT id FROM broker.event_archives WHERE source_arn = %s)",
            (bus,),
        )
    wait_until(
        lambda: events.describe_archive(ArchiveName=name)["EventCount"] == 0,
        20,
        what="the janitor to drop expired archived events",
    )
    assert events.describe_archive(ArchiveName=name + "-forever")["EventCount"] == 3
