"""EventBridge under the auth model with real boto3 clients of two accounts: isolation of buses,
rules, targets, connections, API destinations, archives and replays; bus policies written by
PutPermission / RemovePermission gating cross-account PutEvents and bus targets; queue policies
gating cross-account queue targets; key policies on events actions; connection secrets
encrypted at rest."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import psycopg
import pytest
from accept_support import ACCESS_KEY, REGION, SECRET_KEY, error_code, wait_until
from botocore.config import Config
from botocore.exceptions import ClientError
from events_clients import entry
from events_receiver import Receiver

ADMIN = {"Authorization": f"Bearer {ACCESS_KEY}:{SECRET_KEY}"}


@pytest.fixture(scope="module")
def broker_env() -> dict[str, str]:
    return {"BROKER_EVENT_RETRY_SECONDS": "0.2", "BROKER_DELIVERY_POLL_SECONDS": "0.2"}


def client(service: str, url: str, key: str, secret: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


class Tenant:
    def __init__(self, url: str, account_id: str, key: str, secret: str) -> None:
        self.account_id = account_id
        self.events = client("events", url, key, secret)
        self.sqs = client("sqs", url, key, secret)
        self.sns = client("sns", url, key, secret)

    def queue(self, label: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=f"{label}-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return url, arn["Attributes"]["QueueArn"]

    def received(self, url: str) -> list[dict[str, Any]]:
        """The events in the queue now (deliveries commit with PutEvents)."""
        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def new_key(url: str, account_id: str, policy: dict[str, Any] | None = None) -> tuple[str, str]:
    with httpx.Client(base_url=url, headers=ADMIN, timeout=30) as admin:
        issued = admin.post(f"/v1/admin/accounts/{account_id}/keys", json={})
        assert issued.status_code == 201, issued.text
        key = issued.json()
        if policy is not None:
            patched = admin.patch(
                f"/v1/admin/keys/{key['access_key_id']}", json={"policy": json.dumps(policy)}
            )
            assert patched.status_code == 200, patched.text
    return key["access_key_id"], key["secret_access_key"]


def new_tenant(url: str) -> Tenant:
    with httpx.Client(base_url=url, headers=ADMIN, timeout=30) as admin:
        created = admin.post("/v1/admin/accounts", json={"name": f"ev-{uuid.uuid4().hex[:8]}"})
        assert created.status_code == 201, created.text
        account_id = created.json()["account_id"]
    return Tenant(url, account_id, *new_key(url, account_id))


@pytest.fixture(scope="module")
def team_a(broker_url: str) -> Tenant:
    return new_tenant(broker_url)


@pytest.fixture(scope="module")
def team_b(broker_url: str) -> Tenant:
    return new_tenant(broker_url)


@pytest.fixture
def name() -> str:
    return f"ev-{uuid.uuid4().hex[:10]}"


def refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return error_code(raised.value)


def routed_bus(tenant: Tenant, name: str) -> tuple[str, str]:
    """A bus ``name`` of ``tenant`` whose rule sends every event of source ``name`` to a queue;
    (bus ARN, queue URL)."""
    bus = tenant.events.create_event_bus(Name=name)["EventBusArn"]
    url, arn = tenant.queue(name)
    tenant.events.put_rule(
        Name=name, EventBusName=name, EventPattern=json.dumps({"source": [name]})
    )
    tenant.events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])
    return bus, url


# --- isolation ------------------------------------------------------------------------------


def test_account_b_cannot_see_or_touch_account_a_event_resources(
    team_a: Tenant, team_b: Tenant, name: str
) -> None:
    a, b = team_a.events, team_b.events
    bus, _ = routed_bus(team_a, name)
    connection = a.create_connection(
        Name=name,
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v"}},
    )["ConnectionArn"]
    a.create_api_destination(
        Name=name,
        ConnectionArn=connection,
        InvocationEndpoint="http://127.0.0.1:9/hook",
        HttpMethod="POST",
    )
    archive = a.create_archive(ArchiveName=name, EventSourceArn=bus)["ArchiveArn"]

    assert name not in [x["Name"] for x in b.list_event_buses()["EventBuses"]]
    for given in (name, bus):
        assert refused(b.describe_event_bus, Name=given) == "ResourceNotFoundException"
        assert refused(b.list_rules, EventBusName=given) == "ResourceNotFoundException"
        assert (
            refused(b.describe_rule, Name=name, EventBusName=given) == "ResourceNotFoundException"
        )
        assert (
            refused(b.list_targets_by_rule, Rule=name, EventBusName=given)
            == "ResourceNotFoundException"
        )
        assert (
            refused(
                b.put_targets,
                Rule=name,
                EventBusName=given,
                Targets=[{"Id": "x", "Arn": "arn:aws:sqs:us-east-1:000000000000:x"}],
            )
            == "ResourceNotFoundException"
        )
        assert (
            refused(b.put_rule, Name=name, EventBusName=given, EventPattern='{"source": ["x"]}')
            == "ResourceNotFoundException"
        )
    # Deleting A's bus by its ARN touches neither A's bus nor B's own bus of that name.
    b.create_event_bus(Name=name)
    b.delete_event_bus(Name=bus)
    assert a.describe_event_bus(Name=name)["Arn"] == bus
    assert b.describe_event_bus(Name=name)["Arn"] != bus
    missing = bus + "-missing"  # refused the same way: a refusal tells nothing of existence
    denied = b.put_events(
        Entries=[
            entry({"n": 1}, Source=name, EventBusName=bus),
            entry({"n": 1}, Source=name, EventBusName=missing),
        ]
    )
    assert denied["FailedEntryCount"] == 2
    assert [e["ErrorCode"] for e in denied["Entries"]] == ["AccessDeniedException"] * 2

    assert connection not in [c["ConnectionArn"] for c in b.list_connections()["Connections"]]
    assert refused(b.describe_connection, Name=name) == "ResourceNotFoundException"
    assert refused(b.delete_connection, Name=name) == "ResourceNotFoundException"
    assert (
        refused(
            b.create_api_destination,
            Name=name,
            ConnectionArn=connection,
            InvocationEndpoint="http://127.0.0.1:9/steal",
            HttpMethod="POST",
        )
        == "ResourceNotFoundException"
    )
    assert name not in [d["Name"] for d in b.list_api_destinations()["ApiDestinations"]]
    assert refused(b.describe_api_destination, Name=name) == "ResourceNotFoundException"
    assert refused(b.describe_archive, ArchiveName=name) == "ResourceNotFoundException"
    assert name not in [x["ArchiveName"] for x in b.list_archives()["Archives"]]
    assert (
        refused(b.create_archive, ArchiveName=name + "-b", EventSourceArn=bus)
        == "ResourceNotFoundException"
    )
    now = datetime.now(UTC)
    assert (
        refused(
            b.start_replay,
            ReplayName=name,
            EventSourceArn=archive,
            EventStartTime=now - timedelta(hours=1),
            EventEndTime=now,
            Destination={"Arn": bus},
        )
        == "ResourceNotFoundException"
    )
    # A still has everything.
    assert a.describe_connection(Name=name)["ConnectionArn"] == connection
    assert a.describe_archive(ArchiveName=name)["ArchiveArn"] == archive


# --- bus policies ---------------------------------------------------------------------------


def test_put_permission_opens_a_bus_to_another_account_and_remove_permission_closes_it(
    team_a: Tenant, team_b: Tenant, name: str
) -> None:
    bus, url = routed_bus(team_a, name)
    sent = [entry({"n": 1}, Source=name, EventBusName=bus)]
    assert team_b.events.put_events(Entries=sent)["Entries"][0]["ErrorCode"] == (
        "AccessDeniedException"
    )
    assert team_a.received(url) == []

    team_a.events.put_permission(
        EventBusName=name, Action="events:PutEvents", Principal=team_b.account_id, StatementId="b"
    )
    policy = json.loads(team_a.events.describe_event_bus(Name=name)["Policy"])
    assert [(s["Sid"], s["Principal"]) for s in policy["Statement"]] == [
        ("b", {"AWS": f"arn:aws:iam::{team_b.account_id}:root"})
    ]
    accepted = team_b.events.put_events(Entries=sent)
    assert accepted["FailedEntryCount"] == 0
    [event] = team_a.received(url)
    assert (event["account"], event["detail"]) == (team_b.account_id, {"n": 1})

    team_a.events.remove_permission(EventBusName=name, StatementId="b")
    assert "Policy" not in team_a.events.describe_event_bus(Name=name)
    assert team_b.events.put_events(Entries=sent)["FailedEntryCount"] == 1
    assert team_a.received(url) == []
    assert (
        refused(team_a.events.remove_permission, EventBusName=name, StatementId="b")
        == "ResourceNotFoundException"
    )


def test_a_whole_policy_document_and_the_permission_errors(
    team_a: Tenant, team_b: Tenant, name: str
) -> None:
    bus, url = routed_bus(team_a, name)
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "everyone",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": bus,
            }
        ],
    }
    team_a.events.put_permission(EventBusName=name, Policy=json.dumps(document))
    assert json.loads(team_a.events.describe_event_bus(Name=name)["Policy"]) == document
    team_b.events.put_events(Entries=[entry({"n": 2}, Source=name, EventBusName=bus)])
    assert [e["detail"] for e in team_a.received(url)] == [{"n": 2}]
    for kwargs in (
        {"Policy": '{"Statement": 1}'},
        {"Action": "events:PutRule", "Principal": team_b.account_id, "StatementId": "s"},
        {"Action": "events:PutEvents", "Principal": "not-an-account", "StatementId": "s"},
        {"Action": "events:PutEvents", "Principal": team_b.account_id, "StatementId": "bad id"},
    ):
        assert refused(team_a.events.put_permission, EventBusName=name, **kwargs) == (
            "ValidationException"
        ), kwargs
    team_a.events.remove_permission(EventBusName=name, RemoveAllPermissions=True)
    assert "Policy" not in team_a.events.describe_event_bus(Name=name)
    # Only the owner edits its bus policy.
    assert (
        refused(
            team_b.events.put_permission,
            EventBusName=bus,
            Action="events:PutEvents",
            Principal=team_b.account_id,
            StatementId="self",
        )
        == "ResourceNotFoundException"
    )


def test_a_rule_targeting_another_accounts_bus_delivers_only_under_its_policy(
    team_a: Tenant, team_b: Tenant, name: str
) -> None:
    bus, url = routed_bus(team_a, name)
    b = team_b.events
    b.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    b.put_targets(Rule=name, Targets=[{"Id": "a-bus", "Arn": bus}])
    b.put_events(Entries=[entry({"n": 1}, Source=name)])
    assert team_a.received(url) == []

    team_a.events.put_permission(
        EventBusName=name, Action="events:PutEvents", Principal=team_b.account_id, StatementId="b"
    )
    # Putting the target again re-reads its resolution at once (otherwise: within the cache
    # time, as for a queue policy).
    b.put_targets(Rule=name, Targets=[{"Id": "a-bus", "Arn": bus}])
    b.put_events(Entries=[entry({"n": 2}, Source=name)])
    [event] = team_a.received(url)
    assert (event["detail"], event["account"]) == ({"n": 2}, team_b.account_id)


# --- cross-account queue targets ------------------------------------------------------------


def _events_may_send(queue_arn: str, rule_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
    )


def test_a_cross_account_queue_target_needs_the_queue_policy(
    team_a: Tenant, team_b: Tenant, name: str
) -> None:
    b = team_b.events
    rule = b.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))["RuleArn"]
    open_url, open_arn = team_a.queue("open")
    closed_url, closed_arn = team_a.queue("closed")
    other_url, other_arn = team_a.queue("other-rule")
    team_a.sqs.set_queue_attributes(
        QueueUrl=open_url, Attributes={"Policy": _events_may_send(open_arn, rule)}
    )
    team_a.sqs.set_queue_attributes(
        QueueUrl=other_url, Attributes={"Policy": _events_may_send(other_arn, rule + "-other")}
    )
    own_url, own_arn = team_b.queue("own")
    b.put_targets(
        Rule=name,
        Targets=[
            {"Id": "open", "Arn": open_arn},
            {"Id": "closed", "Arn": closed_arn},
            {"Id": "other", "Arn": other_arn},
            {"Id": "own", "Arn": own_arn},
        ],
    )
    result = b.put_events(Entries=[entry({"n": 1}, Source=name)])
    assert result["FailedEntryCount"] == 0  # a refused target is a failed invocation, not entry
    assert [e["detail"] for e in team_a.received(open_url)] == [{"n": 1}]
    assert [e["detail"] for e in team_b.received(own_url)] == [{"n": 1}]
    assert team_a.received(closed_url) == []
    assert team_a.received(other_url) == []


def test_a_dead_letter_queue_of_another_account_is_not_written_to(
    team_a: Tenant, team_b: Tenant, database_url: str, name: str
) -> None:
    receiver = Receiver()
    try:
        receiver.statuses = [400, 400]  # a client error: not retried, dead-lettered at once
        a = team_a.events
        connection = a.create_connection(
            Name=name,
            AuthorizationType="API_KEY",
            AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}},
        )["ConnectionArn"]
        destination = a.create_api_destination(
            Name=name,
            ConnectionArn=connection,
            InvocationEndpoint=receiver.url + "/hook",
            HttpMethod="POST",
        )["ApiDestinationArn"]
        own_url, own_arn = team_a.queue("own-dlq")
        foreign_url, foreign_arn = team_b.queue("foreign-dlq")
        a.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
        a.put_targets(
            Rule=name,
            Targets=[
                {"Id": "own", "Arn": destination, "DeadLetterConfig": {"Arn": own_arn}},
                {"Id": "foreign", "Arn": destination, "DeadLetterConfig": {"Arn": foreign_arn}},
            ],
        )
        a.put_events(Entries=[entry({"n": 1}, Source=name)])

        def outbox_empty() -> bool:
            with psycopg.connect(database_url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM broker.deliveries WHERE subscription_arn = %s",
                    (destination,),
                ).fetchone()
            return row is not None and row[0] == 0

        # Both deliveries failed and left the outbox (each with its dead-lettering).
        wait_until(outbox_empty, timeout=30, what="both failed deliveries to be settled")
        assert [e["detail"] for e in team_a.received(own_url)] == [{"n": 1}]
        assert team_b.received(foreign_url) == []
    finally:
        receiver.close()


def test_a_cross_account_topic_target_needs_the_topic_policy(
    team_a: Tenant, team_b: Tenant, database_url: str, name: str
) -> None:
    rule = team_b.events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))["RuleArn"]
    topics, queues = {}, {}
    for label in ("open", "closed"):
        topics[label] = team_a.sns.create_topic(Name=f"{label}-{name}")["TopicArn"]
        queues[label], queue_arn = team_a.queue(label)
        team_a.sns.subscribe(
            TopicArn=topics[label],
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
    team_a.sns.set_topic_attributes(
        TopicArn=topics["open"],
        AttributeName="Policy",
        AttributeValue=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": topics["open"],
                        "Condition": {"ArnEquals": {"aws:SourceArn": rule}},
                    }
                ],
            }
        ),
    )
    team_b.events.put_targets(
        Rule=name, Targets=[{"Id": label, "Arn": arn} for label, arn in topics.items()]
    )
    team_b.events.put_events(Entries=[entry({"n": 1}, Source=name)])

    def fanned_out() -> bool:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM broker.publications p JOIN broker.topics t "
                "ON t.id = p.topic_id WHERE t.arn = ANY(%s)",
                (list(topics.values()),),
            ).fetchone()
        return row is not None and row[0] == 0

    wait_until(fanned_out, timeout=30, what="the topics' inbox to be fanned out")
    got = wait_until(lambda: team_a.received(queues["open"]), timeout=30, what="the event")
    assert [e["detail"] for e in got] == [{"n": 1}]
    assert team_a.received(queues["closed"]) == []


# --- key policies ---------------------------------------------------------------------------


def test_a_key_policy_that_denies_put_events(broker_url: str, team_a: Tenant, name: str) -> None:
    bus, url = routed_bus(team_a, name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "events:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "events:PutEvents", "Resource": bus},
        ],
    }
    narrowed = client("events", broker_url, *new_key(broker_url, team_a.account_id, policy))
    assert name in [x["Name"] for x in narrowed.list_event_buses(NamePrefix=name)["EventBuses"]]
    assert narrowed.describe_rule(Name=name, EventBusName=name)["Name"] == name
    for bus_name in (name, bus):
        assert (
            refused(
                narrowed.put_events, Entries=[entry({"n": 1}, Source=name, EventBusName=bus_name)]
            )
            == "AccessDeniedException"
        )
    assert team_a.received(url) == []
    narrowed.put_events(Entries=[entry({"n": 2}, Source=name)])  # the default bus is allowed
    only_rules = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "events:DescribeRule", "Resource": "*"}],
    }
    reader = client("events", broker_url, *new_key(broker_url, team_a.account_id, only_rules))
    assert reader.describe_rule(Name=name, EventBusName=name)["Name"] == name
    for call, kwargs in (
        (reader.list_event_buses, {}),
        (reader.delete_rule, {"Name": name, "EventBusName": name}),
        (reader.describe_connection, {"Name": name}),
        (reader.put_permission, {"EventBusName": name, "Policy": "{}"}),
    ):
        assert refused(call, **kwargs) == "AccessDeniedException", call


# --- connection secrets at rest -------------------------------------------------------------


def test_connection_secrets_are_encrypted_at_rest(
    team_a: Tenant, database_url: str, name: str
) -> None:
    secrets = {"ApiKeyValue": f"key-{uuid.uuid4().hex}", "Password": f"pw-{uuid.uuid4().hex}"}
    team_a.events.create_connection(
        Name=name,
        AuthorizationType="API_KEY",
        AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": secrets["ApiKeyValue"]}
        },
    )
    team_a.events.update_connection(
        Name=name,
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": secrets["Password"]}},
    )
    described = team_a.events.describe_connection(Name=name)
    assert described["AuthParameters"] == {"BasicAuthParameters": {"Username": "u"}}
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT auth_parameters::text FROM broker.event_connections "
            "WHERE account_id = %s AND name = %s",
            (team_a.account_id, name),
        ).fetchone()
    assert row is not None
    stored = row[0]
    assert secrets["Password"] not in stored and secrets["ApiKeyValue"] not in stored
    assert json.loads(stored)["BasicAuthParameters"]["Password"].startswith("sealed:v1:")
