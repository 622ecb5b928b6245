"""EventBridge HTTP targets through unmodified boto3: connections (API key, basic, OAuth client
credentials), API destinations, retries and dead-letter queues, against a loopback endpoint."""

from __future__ import annotations

import base64
import json
import queue
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from accept_support import error_code
from botocore.exceptions import ClientError
from events_clients import entry, make_events_client
from events_receiver import Receiver
from sns_clients import drain, queue_arn


@pytest.fixture(scope="module")
def broker_env() -> dict[str, str]:
    return {"BROKER_EVENT_RETRY_SECONDS": "0.2", "BROKER_DELIVERY_POLL_SECONDS": "0.2"}


@pytest.fixture(scope="module")
def events(broker_url: str) -> Any:
    return make_events_client(broker_url)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def name() -> str:
    return f"h-{uuid.uuid4().hex[:10]}"


API_KEY = {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"}}


def destination(
    events: Any, name: str, endpoint: str, kind: str = "API_KEY", auth: Any = None, **kw: Any
) -> str:
    connection = events.create_connection(
        Name=name, AuthorizationType=kind, AuthParameters=auth or API_KEY
    )["ConnectionArn"]
    return str(
        events.create_api_destination(
            Name=name,
            ConnectionArn=connection,
            InvocationEndpoint=endpoint,
            HttpMethod=kw.pop("HttpMethod", "POST"),
            **kw,
        )["ApiDestinationArn"]
    )


def rule_to(events: Any, name: str, arn: str, **target: Any) -> None:
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(Rule=name, Targets=[{"Id": "http", "Arn": arn, **target}])


def test_connection_lifecycle_keeps_secrets_out_of_answers(events: Any, name: str) -> None:
    created = events.create_connection(
        Name=name, Description="shop", AuthorizationType="API_KEY", AuthParameters=API_KEY
    )
    assert created["ConnectionState"] == "AUTHORIZED"
    assert f":connection/{name}/" in created["ConnectionArn"]
    with pytest.raises(ClientError) as exists:
        events.create_connection(Name=name, AuthorizationType="API_KEY", AuthParameters=API_KEY)
    assert error_code(exists.value) == "ResourceAlreadyExistsException"
    described = events.describe_connection(Name=name)
    assert described["AuthParameters"] == {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key"}}
    assert (described["Description"], described["AuthorizationType"]) == ("shop", "API_KEY")
    assert [c["Name"] for c in events.list_connections(NamePrefix=name)["Connections"]] == [name]
    events.update_connection(
        Name=name,
        AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}},
    )
    assert events.describe_connection(Name=name)["AuthParameters"] == {
        "BasicAuthParameters": {"Username": "u"}
    }
    assert events.deauthorize_connection(Name=name)["ConnectionState"] == "DEAUTHORIZED"
    assert events.delete_connection(Name=name)["ConnectionState"] == "DELETING"
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_connection(Name=name)
    with pytest.raises(ClientError) as incomplete:
        events.create_connection(Name=name, AuthorizationType="BASIC", AuthParameters=API_KEY)
    assert error_code(incomplete.value) == "ValidationException"


def test_api_destination_lifecycle(events: Any, name: str) -> None:
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.create_api_destination(
            Name=name,
            ConnectionArn="arn:aws:events:us-east-1:000000000000:connection/none/x",
            InvocationEndpoint="http://127.0.0.1:9/",
            HttpMethod="POST",
        )
    arn = destination(events, name, "http://127.0.0.1:9/orders", InvocationRateLimitPerSecond=5)
    described = events.describe_api_destination(Name=name)
    assert described["ApiDestinationArn"] == arn
    assert (described["InvocationRateLimitPerSecond"], described["HttpMethod"]) == (5, "POST")
    assert described["ApiDestinationState"] == "ACTIVE"
    listed = events.list_api_destinations(ConnectionArn=described["ConnectionArn"])
    assert [d["Name"] for d in listed["ApiDestinations"]] == [name]
    events.update_api_destination(Name=name, HttpMethod="PUT", InvocationRateLimitPerSecond=9)
    updated = events.describe_api_destination(Name=name)
    assert (updated["HttpMethod"], updated["InvocationRateLimitPerSecond"]) == ("PUT", 9)
    with pytest.raises(ClientError) as bad_method:
        events.update_api_destination(Name=name, HttpMethod="FETCH")
    assert error_code(bad_method.value) == "ValidationException"
    events.delete_api_destination(Name=name)
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.describe_api_destination(Name=name)


def test_an_api_key_destination_receives_the_event(
    events: Any, receiver: Receiver, name: str
) -> None:
    arn = destination(events, name, receiver.url + "/orders/*")
    rule_to(
        events,
        name,
        arn,
        HttpParameters={
            "PathParameterValues": ["eu"],
            "HeaderParameters": {"x-shop": "one"},
            "QueryStringParameters": {"src": "eb"},
        },
    )
    event_id = events.put_events(Entries=[entry({"order": 1}, Source=name)])["Entries"][0][
        "EventId"
    ]
    got = receiver.next()
    assert (got.method, got.path, got.query) == ("POST", "/orders/eu", {"src": ["eb"]})
    assert got.headers["x-api-key"] == "s3cret"
    assert got.headers["x-shop"] == "one"
    assert got.headers["content-type"].startswith("application/json")
    assert got.json()["id"] == event_id
    assert got.json()["detail"] == {"order": 1}


def test_a_basic_auth_destination_with_an_input_transformer(
    events: Any, receiver: Receiver, name: str
) -> None:
    auth = {"BasicAuthParameters": {"Username": "shop", "Password": "pw"}}
    arn = destination(events, name, receiver.url + "/hook", "BASIC", auth)
    rule_to(
        events,
        name,
        arn,
        InputTransformer={
            "InputPathsMap": {"order": "$.detail.order"},
            "InputTemplate": '{"text": "order <order> placed"}',
        },
    )
    events.put_events(Entries=[entry({"order": 42}, Source=name)])
    got = receiver.next()
    assert got.headers["authorization"] == "Basic " + base64.b64encode(b"shop:pw").decode()
    assert got.json() == {"text": "order 42 placed"}


def test_an_oauth_destination_fetches_and_reuses_a_token(
    events: Any, receiver: Receiver, name: str
) -> None:
    auth = {
        "OAuthParameters": {
            "AuthorizationEndpoint": receiver.url + "/token",
            "HttpMethod": "POST",
            "ClientParameters": {"ClientID": "client", "ClientSecret": "secret"},
            "OAuthHttpParameters": {"BodyParameters": [{"Key": "scope", "Value": "orders"}]},
        }
    }
    arn = destination(events, name, receiver.url + "/hook", "OAUTH_CLIENT_CREDENTIALS", auth)
    rule_to(events, name, arn)
    events.put_events(Entries=[entry({"n": 1}, Source=name)])
    first = receiver.next()
    events.put_events(Entries=[entry({"n": 2}, Source=name)])
    second = receiver.next()
    assert first.headers["authorization"] == second.headers["authorization"] == "Bearer token-1"
    token_request = receiver.token_requests.get(timeout=1)
    assert token_request.headers["authorization"] == (
        "Basic " + base64.b64encode(b"client:secret").decode()
    )
    form = dict(pair.split("=") for pair in token_request.body.split("&"))
    assert form == {"grant_type": "client_credentials", "scope": "orders"}
    assert receiver.tokens_issued == 1


def test_retries_to_a_failing_target_then_its_dead_letter_queue(
    events: Any, sqs: Any, receiver: Receiver, name: str
) -> None:
    dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    receiver.statuses = [500, 503, 502]
    arn = destination(events, name, receiver.url + "/hook")
    rule_to(
        events,
        name,
        arn,
        RetryPolicy={"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
        DeadLetterConfig={"Arn": queue_arn(sqs, dlq)},
    )
    event_id = events.put_events(Entries=[entry({"n": 1}, Source=name)])["Entries"][0]["EventId"]
    attempts = [receiver.next() for _ in range(3)]
    assert {a.json()["id"] for a in attempts} == {event_id}
    (dead,) = drain(sqs, dlq, 1, wait=10)
    assert json.loads(dead["Body"])["id"] == event_id
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["RULE_ARN"].endswith(f":rule/{name}")
    assert attributes["TARGET_ARN"] == arn
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "2"
    assert attributes["ERROR_CODE"] == "SDK_CLIENT_ERROR"
    with pytest.raises(queue.Empty):
        receiver.received.get(timeout=1)  # no fourth attempt


def test_a_client_error_is_not_retried(
    events: Any, sqs: Any, receiver: Receiver, name: str
) -> None:
    dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    receiver.statuses = [400]
    arn = destination(events, name, receiver.url + "/hook")
    rule_to(events, name, arn, DeadLetterConfig={"Arn": queue_arn(sqs, dlq)})
    events.put_events(Entries=[entry({"n": 1}, Source=name)])
    assert receiver.next().json()["detail"] == {"n": 1}
    (dead,) = drain(sqs, dlq, 1, wait=10)
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes


def test_the_invocation_rate_limit_spaces_deliveries(
    events: Any, receiver: Receiver, name: str
) -> None:
    arn = destination(events, name, receiver.url + "/hook", InvocationRateLimitPerSecond=1)
    rule_to(events, name, arn)
    events.put_events(Entries=[entry({"n": i}, Source=name) for i in range(3)])
    started = time.monotonic()
    got = sorted(receiver.next().json()["detail"]["n"] for _ in range(3))
    assert got == [0, 1, 2]
    # A bucket of one token refilled at 1/s cannot pass the third event sooner than ~1 s after
    # the first (a lower bound: a slow machine only makes it longer).
    assert time.monotonic() - started >= 0.9
