"""EventBridge through unmodified boto3: buses, rules, targets, PutEvents and TestEventPattern
against a real ``broker serve``."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from accept_support import StartBroker, error_code, http_status, json_post
from botocore.exceptions import ClientError
from events_clients import entry, make_events_client
from sns_clients import drain, make_sns_client, queue_arn


@pytest.fixture(scope="module")
def events(broker_url: str) -> Any:
    return make_events_client(broker_url)


@pytest.fixture
def name() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


def new_queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, queue_arn(sqs, url)


def routed(events: Any, sqs: Any, name: str, pattern: dict[str, Any], **target: Any) -> str:
    """A rule ``name`` on the default bus with a queue target; the queue URL."""
    url, arn = new_queue(sqs, name)
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn, **target}])
    return url


# -- buses ------------------------------------------------------------------------------------


def test_the_default_bus_and_a_custom_bus_lifecycle(events: Any, name: str) -> None:
    default = events.describe_event_bus()
    assert default["Name"] == "default"
    assert default["Arn"] == "arn:aws:events:us-east-1:000000000000:event-bus/default"
    arn = events.create_event_bus(Name=name, Description="orders")["EventBusArn"]
    assert arn.endswith(f":event-bus/{name}")
    with pytest.raises(ClientError) as exists:
        events.create_event_bus(Name=name)
    assert error_code(exists.value) == "ResourceAlreadyExistsException"
    described = events.describe_event_bus(Name=arn)
    assert (described["Name"], described["Description"]) == (name, "orders")
    listed = events.list_event_buses(NamePrefix=name)["EventBuses"]
    assert [b["Name"] for b in listed] == [name]
    assert "default" in [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    events.delete_event_bus(Name=name)
    events.delete_event_bus(Name=name)  # idempotent
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_event_bus(Name=name)
    with pytest.raises(ClientError) as default_delete:
        events.delete_event_bus(Name="default")
    assert error_code(default_delete.value) == "ValidationException"


def test_bus_names_are_checked(events: Any) -> None:
    for bad in ("default", "a/b", "bad name", "x" * 257):
        with pytest.raises(ClientError) as refused:
            events.create_event_bus(Name=bad)
        assert error_code(refused.value) == "ValidationException", bad


# -- rules ------------------------------------------------------------------------------------


def test_put_describe_and_replace_a_rule(events: Any, name: str) -> None:
    pattern = json.dumps({"source": ["shop.orders"]})
    arn = events.put_rule(Name=name, EventPattern=pattern, Description="orders")["RuleArn"]
    assert arn == f"arn:aws:events:us-east-1:000000000000:rule/{name}"
    rule = events.describe_rule(Name=name)
    assert rule["EventPattern"] == pattern
    assert (rule["State"], rule["Description"], rule["EventBusName"]) == (
        "ENABLED",
        "orders",
        "default",
    )
    # PutRule replaces the rule: omitted members become null.
    events.put_rule(Name=name, EventPattern=pattern, State="DISABLED")
    replaced = events.describe_rule(Name=name)
    assert replaced["State"] == "DISABLED"
    assert "Description" not in replaced
    with pytest.raises(events.exceptions.ResourceNotFoundException) as missing:
        events.describe_rule(Name=name + "-nope")
    assert "does not exist on EventBus default" in str(missing.value)


def test_a_rule_on_a_custom_bus_has_the_bus_in_its_arn(events: Any, name: str) -> None:
    events.create_event_bus(Name=name)
    arn = events.put_rule(Name="r", EventBusName=name, EventPattern='{"source":["x"]}')
    assert arn["RuleArn"].endswith(f":rule/{name}/r")
    assert events.list_rules(EventBusName=name)["Rules"][0]["EventBusName"] == name
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_rule(Name="r")  # not on the default bus


def test_put_rule_refuses_bad_input(events: Any, name: str) -> None:
    with pytest.raises(ClientError) as neither:
        events.put_rule(Name=name)
    assert error_code(neither.value) == "ValidationException"
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        events.put_rule(Name=name, EventPattern='{"source": "not-an-array"}')
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        events.put_rule(Name=name, EventPattern="not json")
    with pytest.raises(ClientError) as state:
        events.put_rule(Name=name, EventPattern='{"source":["a"]}', State="SLEEPING")
    assert error_code(state.value) == "ValidationException"
    with pytest.raises(ClientError) as bad_name:
        events.put_rule(Name="bad name", EventPattern='{"source":["a"]}')
    assert error_code(bad_name.value) == "ValidationException"
    events.create_event_bus(Name=name)
    with pytest.raises(ClientError) as scheduled:
        events.put_rule(Name=name, EventBusName=name, ScheduleExpression="rate(5 minutes)")
    assert error_code(scheduled.value) == "ValidationException"
    with pytest.raises(ClientError) as bad_schedule:
        events.put_rule(Name=name, ScheduleExpression="rate(5 minute)")
    assert error_code(bad_schedule.value) == "ValidationException"


def test_list_rules_by_prefix_in_pages(events: Any, name: str) -> None:
    for i in range(5):
        events.put_rule(Name=f"{name}-{i}", EventPattern='{"source":["a"]}')
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"NamePrefix": name, "Limit": 2}
        if token:
            kwargs["NextToken"] = token
        page = events.list_rules(**kwargs)
        seen += [r["Name"] for r in page["Rules"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert seen == [f"{name}-{i}" for i in range(5)]
    assert pages == 3
    with pytest.raises(ClientError) as bad_limit:
        events.list_rules(Limit=101)
    assert error_code(bad_limit.value) == "ValidationException"


def test_delete_rule_is_refused_while_targets_remain_unless_forced(
    events: Any, sqs: Any, name: str
) -> None:
    routed(events, sqs, name, {"source": ["a"]})
    with pytest.raises(ClientError) as refused:
        events.delete_rule(Name=name)
    assert error_code(refused.value) == "ValidationException"
    assert events.describe_rule(Name=name)["Name"] == name
    events.delete_rule(Name=name, Force=True)
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_rule(Name=name)
    events.delete_rule(Name=name)  # idempotent


def test_disable_and_enable_a_rule(events: Any, sqs: Any, name: str) -> None:
    url = routed(events, sqs, name, {"source": [name]})
    events.disable_rule(Name=name)
    assert events.describe_rule(Name=name)["State"] == "DISABLED"
    events.put_events(Entries=[entry({"n": 1}, Source=name)])
    events.enable_rule(Name=name)
    events.put_events(Entries=[entry({"n": 2}, Source=name)])
    received = drain(sqs, url, 2)
    assert [json.loads(m["Body"])["detail"] for m in received] == [{"n": 2}]
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.enable_rule(Name=name + "-nope")


def test_list_rule_names_by_target(events: Any, sqs: Any, name: str) -> None:
    _, arn = new_queue(sqs, name)
    for rule in (f"{name}-b", f"{name}-a"):
        events.put_rule(Name=rule, EventPattern='{"source":["a"]}')
        events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": arn}])
    assert events.list_rule_names_by_target(TargetArn=arn)["RuleNames"] == [
        f"{name}-a",
        f"{name}-b",
    ]
    first = events.list_rule_names_by_target(TargetArn=arn, Limit=1)
    assert first["RuleNames"] == [f"{name}-a"]
    second = events.list_rule_names_by_target(TargetArn=arn, NextToken=first["NextToken"])
    assert second["RuleNames"] == [f"{name}-b"]


# -- targets ----------------------------------------------------------------------------------


def test_put_list_and_remove_targets(events: Any, sqs: Any, name: str) -> None:
    _, arn = new_queue(sqs, name)
    events.put_rule(Name=name, EventPattern='{"source":["a"]}')
    target = {"Id": "q", "Arn": arn, "InputPath": "$.detail"}
    result = events.put_targets(Rule=name, Targets=[target])
    assert result["FailedEntryCount"] == 0
    assert events.list_targets_by_rule(Rule=name)["Targets"] == [target]
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])  # upsert by Id
    assert events.list_targets_by_rule(Rule=name)["Targets"] == [{"Id": "q", "Arn": arn}]
    events.put_targets(Rule=name, Targets=[{"Id": f"t{i}", "Arn": arn} for i in range(4)])
    with pytest.raises(events.exceptions.LimitExceededException):
        events.put_targets(Rule=name, Targets=[{"Id": "t9", "Arn": arn}])
    assert len(events.list_targets_by_rule(Rule=name)["Targets"]) == 5
    removed = events.remove_targets(Rule=name, Ids=["t0", "t1", "t2", "t3"])
    assert removed["FailedEntryCount"] == 0
    assert [t["Id"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] == ["q"]
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.put_targets(Rule=name + "-nope", Targets=[target])


def test_put_targets_refuses_bad_targets(events: Any, sqs: Any, name: str) -> None:
    _, arn = new_queue(sqs, name)
    _, fifo_arn = new_queue(sqs, name + ".fifo", FifoQueue="true")
    events.put_rule(Name=name, EventPattern='{"source":["a"]}')
    bad = [
        {"Id": "q", "Arn": arn, "Input": "{}", "InputPath": "$.detail"},
        {"Id": "q", "Arn": arn, "Input": "not json"},
        {"Id": "q", "Arn": fifo_arn},
        {"Id": "bad id", "Arn": arn},
        {"Id": "q", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:f"},
        {"Id": "q", "Arn": arn, "RetryPolicy": {"MaximumRetryAttempts": 186}},
        {"Id": "q", "Arn": arn, "DeadLetterConfig": {"Arn": fifo_arn}},
    ]
    for target in bad:
        with pytest.raises(ClientError) as refused:
            events.put_targets(Rule=name, Targets=[target])
        assert error_code(refused.value) == "ValidationException", target
    assert events.list_targets_by_rule(Rule=name)["Targets"] == []


# -- PutEvents --------------------------------------------------------------------------------


def test_put_events_delivers_the_exact_envelope(events: Any, sqs: Any, name: str) -> None:
    url = routed(events, sqs, name, {"source": [name]})
    moment = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
    result = events.put_events(
        Entries=[
            entry(
                {"order": {"id": 7, "total": 12.5}},
                Source=name,
                Time=moment,
                Resources=["arn:aws:shop:us-east-1:000000000000:order/7"],
            )
        ]
    )
    assert result["FailedEntryCount"] == 0
    event_id = result["Entries"][0]["EventId"]
    (message,) = drain(sqs, url, 1)
    assert list(json.loads(message["Body"]).items()) == [
        ("version", "0"),
        ("id", event_id),
        ("detail-type", "OrderPlaced"),
        ("source", name),
        ("account", "000000000000"),
        ("time", "2026-03-01T12:30:05Z"),
        ("region", "us-east-1"),
        ("resources", ["arn:aws:shop:us-east-1:000000000000:order/7"]),
        ("detail", {"order": {"id": 7, "total": 12.5}}),
    ]


def test_put_events_reports_failures_per_entry(events: Any, sqs: Any, name: str) -> None:
    url = routed(events, sqs, name, {"source": [name]})
    result = events.put_events(
        Entries=[
            entry({"ok": 1}, Source=name),
            {"Source": name, "DetailType": "x", "Detail": "[1, 2]"},
            {"Source": name, "DetailType": "x", "Detail": "{not json"},
            {"Source": name, "DetailType": "x"},
            entry({"ok": 2}, Source="aws.ec2"),
            entry({"ok": 3}, Source=name, EventBusName="no-such-bus"),
            entry({"ok": 4}, Source=name),
        ]
    )
    assert result["FailedEntryCount"] == 5
    codes = [e.get("ErrorCode") for e in result["Entries"]]
    assert codes == [
        None,
        "MalformedDetail",
        "MalformedDetail",
        "InvalidArgument",
        "NotAuthorizedForSourceException",
        "ResourceNotFoundException",
        None,
    ]
    assert all("ErrorMessage" in e for e in result["Entries"] if "ErrorCode" in e)
    details = [json.loads(m["Body"])["detail"] for m in drain(sqs, url, 2)]
    assert sorted(d["ok"] for d in details) == [1, 4]


def test_put_events_refuses_whole_requests(events: Any, name: str) -> None:
    too_many = [entry({"n": i}) for i in range(11)]
    with pytest.raises(ClientError) as many:
        events.put_events(Entries=too_many)
    assert error_code(many.value) == "ValidationException"
    big = entry({"blob": "x" * 300_000})
    with pytest.raises(ClientError) as large:
        events.put_events(Entries=[big])
    assert error_code(large.value) == "ValidationException"
    with pytest.raises(ClientError) as empty:
        events.put_events(Entries=[{"Source": "a"}])
    assert error_code(empty.value) == "ValidationException"


def test_put_events_to_a_bus_by_name_and_by_arn(events: Any, sqs: Any, name: str) -> None:
    bus_arn = events.create_event_bus(Name=name)["EventBusArn"]
    url, arn = new_queue(sqs, name)
    events.put_rule(Name="all", EventBusName=name, EventPattern='{"source":[{"prefix":""}]}')
    events.put_targets(Rule="all", EventBusName=bus_arn, Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(
        Entries=[entry({"n": 1}, EventBusName=name), entry({"n": 2}, EventBusName=bus_arn)]
    )
    received = sorted(json.loads(m["Body"])["detail"]["n"] for m in drain(sqs, url, 2))
    assert received == [1, 2]


def test_every_matching_rule_delivers_and_others_do_not(events: Any, sqs: Any, name: str) -> None:
    big = routed(events, sqs, name + "-big", {"detail": {"total": [{"numeric": [">=", 100]}]}})
    eu = routed(events, sqs, name + "-eu", {"detail": {"country": [{"prefix": "EU-"}]}})
    events.put_events(
        Entries=[
            entry({"total": 150, "country": "EU-FR"}),
            entry({"total": 5, "country": "EU-DE"}),
            entry({"total": 500, "country": "US"}),
        ]
    )
    assert sorted(json.loads(m["Body"])["detail"]["total"] for m in drain(sqs, big, 2)) == [
        150,
        500,
    ]
    assert sorted(json.loads(m["Body"])["detail"]["total"] for m in drain(sqs, eu, 2)) == [5, 150]


def test_a_fifo_queue_target_gets_its_message_group(events: Any, sqs: Any, name: str) -> None:
    url, arn = new_queue(sqs, name + ".fifo", FifoQueue="true", ContentBasedDeduplication="true")
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(
        Rule=name,
        Targets=[{"Id": "f", "Arn": arn, "SqsParameters": {"MessageGroupId": "orders"}}],
    )
    events.put_events(Entries=[entry({"n": i}, Source=name) for i in range(3)])
    received = drain(sqs, url, 3)
    assert [json.loads(m["Body"])["detail"]["n"] for m in received] == [0, 1, 2]
    assert {m["Attributes"]["MessageGroupId"] for m in received} == {"orders"}


def test_a_topic_target_fans_out_to_its_subscriptions(events: Any, sqs: Any, name: str) -> None:
    sns = make_sns_client(events.meta.endpoint_url)
    topic = sns.create_topic(Name=name)["TopicArn"]
    url, arn = new_queue(sqs, name)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": topic}])
    events.put_events(Entries=[entry({"n": 1}, Source=name)])
    (message,) = drain(sqs, url, 1, wait=10)
    assert json.loads(message["Body"])["detail"] == {"n": 1}


def test_a_bus_target_routes_on_the_other_bus(events: Any, sqs: Any, name: str) -> None:
    other = events.create_event_bus(Name=name)["EventBusArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(Rule=name, Targets=[{"Id": "bus", "Arn": other}])
    url, arn = new_queue(sqs, name)
    events.put_rule(Name="local", EventBusName=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(Rule="local", EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])
    event_id = events.put_events(Entries=[entry({"n": 1}, Source=name)])["Entries"][0]["EventId"]
    (message,) = drain(sqs, url, 1)
    assert json.loads(message["Body"])["id"] == event_id


def test_input_and_input_transformer_reshape_what_a_queue_gets(
    events: Any, sqs: Any, name: str
) -> None:
    url, arn = new_queue(sqs, name)
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(
        Rule=name,
        Targets=[
            {"Id": "constant", "Arn": arn, "Input": '{"fixed": true}'},
            {"Id": "path", "Arn": arn, "InputPath": "$.detail.order"},
            {
                "Id": "template",
                "Arn": arn,
                "InputTransformer": {
                    "InputPathsMap": {"id": "$.detail.order.id", "state": "$.detail.state"},
                    "InputTemplate": '{"order": <id>, "text": "order <id> is <state>", '
                    '"rule": "<aws.events.rule-name>"}',
                },
            },
        ],
    )
    events.put_events(Entries=[entry({"order": {"id": 7}, "state": "PAID"}, Source=name)])
    bodies = [json.loads(m["Body"]) for m in drain(sqs, url, 3)]
    assert len(bodies) == 3
    assert {"fixed": True} in bodies
    assert {"id": 7} in bodies
    assert {"order": 7, "text": "order 7 is PAID", "rule": name} in bodies


# -- TestEventPattern --------------------------------------------------------------------------

EVENT = {
    "id": "1",
    "account": "000000000000",
    "source": "shop.orders",
    "time": "2026-03-01T12:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:shop:us-east-1:000000000000:order/7"],
    "detail-type": "OrderPlaced",
    "detail": {
        "total": 150,
        "country": "EU-FR",
        "customer": {"email": "Ann@Example.com", "vip": True},
        "ip": "10.0.3.7",
        "items": [{"sku": "a-1"}, {"sku": "b-2"}],
        "note": None,
        "file": "invoice.pdf",
    },
}

PATTERNS: list[tuple[dict[str, Any], bool]] = [
    ({"source": ["shop.orders"]}, True),
    ({"source": ["shop.payments"]}, False),
    ({"detail": {"total": [150]}}, True),
    ({"detail": {"note": [None]}}, True),
    ({"detail": {"country": [{"prefix": "EU-"}]}}, True),
    ({"detail": {"file": [{"suffix": ".pdf"}]}}, True),
    ({"detail": {"file": [{"suffix": {"equals-ignore-case": ".PDF"}}]}}, True),
    ({"detail": {"customer": {"email": [{"equals-ignore-case": "ann@example.com"}]}}}, True),
    ({"detail": {"file": [{"wildcard": "inv*.pdf"}]}}, True),
    ({"detail": {"country": [{"anything-but": ["US", "CA"]}]}}, True),
    ({"detail": {"country": [{"anything-but": {"prefix": "EU-"}}]}}, False),
    ({"detail": {"total": [{"numeric": [">", 100, "<=", 150]}]}}, True),
    ({"detail": {"total": [{"numeric": ["<", 100]}]}}, False),
    ({"detail": {"ip": [{"cidr": "10.0.0.0/16"}]}}, True),
    ({"detail": {"missing": [{"exists": False}]}}, True),
    ({"detail": {"total": [{"exists": False}]}}, False),
    ({"detail": {"items": {"sku": ["b-2"]}}}, True),
    ({"detail": {"customer": {"vip": [True]}}}, True),
    ({"$or": [{"source": ["nope"]}, {"detail": {"total": [150]}}]}, True),
    ({"resources": [{"prefix": "arn:aws:shop:"}]}, True),
]


@pytest.mark.parametrize(("pattern", "expected"), PATTERNS)
def test_test_event_pattern_over_the_operator_set(
    events: Any, pattern: dict[str, Any], expected: bool
) -> None:
    result = events.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(EVENT))
    assert result["Result"] is expected


def test_test_event_pattern_refuses_bad_input(events: Any) -> None:
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        events.test_event_pattern(EventPattern='{"detail": {"x": [{"bogus": 1}]}}', Event="{}")
    incomplete = {k: v for k, v in EVENT.items() if k != "account"}
    with pytest.raises(ClientError) as missing:
        events.test_event_pattern(EventPattern='{"source":["a"]}', Event=json.dumps(incomplete))
    assert error_code(missing.value) == "ValidationException"


# -- the wire ---------------------------------------------------------------------------------


def test_unsupported_and_unknown_actions_answer_clear_errors(events: Any, broker_url: str) -> None:
    with pytest.raises(ClientError) as unsupported:
        events.list_endpoints()
    assert error_code(unsupported.value) == "OperationDisabledException"
    assert "not supported by this broker" in str(unsupported.value)
    response = json_post(broker_url, "AWSEvents.FlyToTheMoon", b"{}")
    assert response.status_code == 400
    assert "UnknownOperationException" in response.json()["__type"]
    broken = json_post(broker_url, "AWSEvents.PutRule", b'{"Name": 5}')
    assert broken.status_code == 400
    assert "SerializationException" in broken.json()["__type"]
    missing = json_post(broker_url, "AWSEvents.DescribeRule", b"{}")
    assert missing.json()["__type"] == "ValidationException"


def test_a_rule_change_through_one_process_applies_at_once_in_another(
    events: Any, sqs: Any, start_broker: StartBroker, database_url: str, name: str
) -> None:
    other = make_events_client(start_broker(database_url).url)
    url = routed(events, sqs, name, {"source": [name], "detail": {"n": [1]}})
    other.put_events(Entries=[entry({"n": 1}, Source=name)])  # the other process caches routing
    assert [json.loads(m["Body"])["detail"] for m in drain(sqs, url, 1)] == [{"n": 1}]
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name], "detail": {"n": [2]}}))
    other.put_events(Entries=[entry({"n": 1}, Source=name), entry({"n": 2}, Source=name)])
    assert [json.loads(m["Body"])["detail"] for m in drain(sqs, url, 2)] == [{"n": 2}]
    events.disable_rule(Name=name)
    other.put_events(Entries=[entry({"n": 2}, Source=name)])
    assert drain(sqs, url, 1, wait=1) == []


def test_http_status_of_a_missing_rule(events: Any) -> None:
    with pytest.raises(ClientError) as missing:
        events.describe_rule(Name="no-such-rule")
    assert http_status(missing.value) == 400


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"Name": "x", "EventBusName": 7, "Limit": "ten", "Entries": {}, "Targets": [1]}',
        b'{"Name": "%%%", "Rule": "", "ArchiveName": "a", "ReplayName": "r", "Ids": [null]}',
    ],
    ids=["empty", "wrong-types", "bad-values"],
)
def test_every_action_answers_well_formed_errors_never_a_500(broker_url: str, body: bytes) -> None:
    from broker.protocols.aws.events.actions import ACTIONS

    for action in ACTIONS:
        response = json_post(broker_url, f"AWSEvents.{action}", body)
        assert response.status_code in (200, 400), (action, response.text)
        if response.status_code == 400:
            assert response.json()["__type"], action
            assert response.json()["message"], action


def test_targets_and_connections_of_the_wrong_shape_are_refused(
    events: Any, broker_url: str, name: str
) -> None:
    events.put_rule(Name=name, EventPattern='{"source":["a"]}')
    arn = "arn:aws:sqs:us-east-1:000000000000:q"
    for bad in (
        {"RetryPolicy": {"MaximumRetryAttempts": "3"}},
        {"RetryPolicy": "often"},
        {"SqsParameters": {"MessageGroupId": 5}},
        {"HttpParameters": {"HeaderParameters": {"x": 1}}},
        {"HttpParameters": {"PathParameterValues": "a"}},
        {"DeadLetterConfig": ["x"]},
    ):
        body = json.dumps({"Rule": name, "Targets": [{"Id": "t", "Arn": arn, **bad}]})
        response = json_post(broker_url, "AWSEvents.PutTargets", body.encode())
        assert response.status_code == 400, bad
        assert response.json()["__type"] == "ValidationException", bad
    connection = {
        "Name": name,
        "AuthorizationType": "API_KEY",
        "AuthParameters": {
            "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"},
            "InvocationHttpParameters": {"HeaderParameters": [{"Key": "a", "Value": 1}]},
        },
    }
    response = json_post(broker_url, "AWSEvents.CreateConnection", json.dumps(connection).encode())
    assert response.status_code == 400
    assert response.json()["__type"] == "ValidationException"
