"""EventBridge metrics of a whole app (``create_app``) against a real database: PutEvents over
the AWS JSON protocol, a queue target and a missing one, a failing and a rate-limited API
destination on loopback, an archive, a late schedule tick and a replay, then exact values in
/metrics."""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import psycopg
import pytest
from request_signing import Resigner

from broker.app import Broker, create_app
from broker.core.models import Caller
from broker.metrics.instruments import EVENT_ERROR_CODES, FAMILIES, TARGET_KINDS
from tests.integration.test_metrics import ACCOUNT, Samples, app_settings, broker_of, scrape, value

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette 1.x: its test client will move to httpx2
    from starlette.testclient import TestClient

EVENTS_AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/events/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=abcdef0123"
)
CALLER = Caller(access_key_id="AKIDEXAMPLE")
EVENT_FAMILIES = {f.name for f in FAMILIES if "_event" in f.name}
WAIT_SECONDS = 30.0
GONE_QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:gone"


class Endpoint:
    """A loopback HTTP server: 200 on ``/ok``, 500 on any other path; counts the calls."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                with endpoint._lock:
                    endpoint.calls[self.path] = endpoint.calls.get(self.path, 0) + 1
                self.send_response(200 if self.path == "/ok" else 500)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()


@pytest.fixture
def client(fresh_database_url: str) -> Iterator[TestClient]:
    # The scheduler and the deliverer's poll wait an hour: the test fires ticks and replays by
    # hand; committed deliveries wake the deliverer, retries come after 10 ms.
    settings = app_settings(
        fresh_database_url,
        scheduler_interval_seconds=3600.0,
        event_retry_seconds=0.01,
        delivery_poll_seconds=0.05,
    )
    app = create_app(settings, configure_logging=False)
    with TestClient(app) as client:
        client.auth = Resigner()
        yield client


def put_events(client: TestClient, *entries: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/",
        content=orjson.dumps({"Entries": list(entries)}),
        headers={
            "X-Amz-Target": "AWSEvents.PutEvents",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": EVENTS_AUTH,
        },
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def entry(source: str, detail_type: str, bus: str = "default", **more: str) -> dict[str, Any]:
    return {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps({"n": 1}),
        "EventBusName": bus,
        **more,
    }


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll an observable condition (each check is a scrape) until a deadline."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)  # pacing between polls, not synchronisation


def of_bus(samples: Samples, name: str, bus: str, **labels: str) -> float:
    return value(samples, name, account=ACCOUNT, bus=bus, **labels)


class Setup:
    """Calls into the app's services on its event loop."""

    def __init__(self, client: TestClient) -> None:
        self.broker: Broker = broker_of(client)
        assert self.broker.events is not None and client.portal is not None
        self.events = self.broker.events
        self.call = client.portal.call

    def queue(self, name: str) -> str:
        return self.call(self.broker.service.create_queue, CALLER, name, {}, {}).arn

    def rule(self, name: str, bus: str | None, pattern: str | None, schedule: str | None) -> str:
        service = self.events.service
        return self.call(
            service.put_rule, CALLER, name, bus, pattern, schedule, None, None, None, {}
        ).arn

    def targets(self, rule: str, bus: str | None, *targets: dict[str, Any]) -> None:
        self.call(self.events.service.put_targets, CALLER, rule, bus, list(targets))

    def destination(self, name: str, endpoint: str, rate: int | None) -> str:
        destinations = self.events.destinations
        api_key = {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}}
        connection = self.call(
            destinations.create_connection, CALLER, name, None, "API_KEY", api_key
        )
        return self.call(
            destinations.create_api_destination,
            CALLER,
            name,
            None,
            connection.arn,
            endpoint,
            "POST",
            rate,
        ).arn


def test_put_events_targets_and_api_destinations_are_counted_per_bus(
    client: TestClient, endpoint: Endpoint
) -> None:
    setup = Setup(client)
    setup.call(setup.events.service.create_event_bus, CALLER, "orders", None, None)
    dlq = setup.queue("orders-dlq")
    setup.rule("to-queue", "orders", '{"source": ["shop"]}', None)
    setup.targets(
        "to-queue",
        "orders",
        {"Id": "all", "Arn": setup.queue("orders-all")},
        {"Id": "gone", "Arn": GONE_QUEUE},
    )
    setup.rule("to-api", "orders", '{"detail-type": ["fail"]}', None)
    setup.targets(
        "to-api",
        "orders",
        {
            "Id": "api",
            "Arn": setup.destination("failing", endpoint.base + "/fail", None),
            "RetryPolicy": {"MaximumRetryAttempts": 1},
            "DeadLetterConfig": {"Arn": dlq},
        },
    )
    orders_bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/orders"
    archives = setup.events.archives
    setup.call(archives.create_archive, CALLER, "all-orders", orders_bus, None, None, None)
    setup.rule("paced", None, '{"source": ["paced"]}', None)
    paced = setup.destination("paced", endpoint.base + "/ok", 1)
    setup.targets("paced", None, {"Id": "api", "Arn": paced})

    answer = put_events(
        client,
        entry("shop", "ok", "orders"),
        entry("shop", "ok", "orders"),
        entry("shop", "fail", "orders"),
        {**entry("shop", "bad", "orders"), "Detail": "not json"},
        entry("shop", "ok", "nowhere"),
    )
    assert answer["FailedEntryCount"] == 2
    put_events(client, entry("paced", "a"), entry("paced", "b"))

    def settled() -> bool:
        samples = scrape(client)
        name = "broker_event_target_invocations_total"
        return (
            samples.get(_key("broker_events_dead_lettered_total", "orders")) == 1
            and samples.get(_key(name, "default", kind="api_destination")) == 2
        )

    wait_until(settled, "the API-destination deliveries to settle")
    samples = scrape(client)

    def orders(name: str, **labels: str) -> float:
        return of_bus(samples, name, "orders", **labels)

    assert orders("broker_events_put_total") == 3
    refused = "broker_events_put_failed_total"
    assert value(samples, refused, error_code="MalformedDetail") == 1
    assert value(samples, refused, error_code="ResourceNotFoundException") == 1
    assert value(samples, refused, error_code="InvalidArgument") == 0
    assert orders("broker_event_rule_matches_total") == 4  # to-queue 3 times, to-api once
    invocations = "broker_event_target_invocations_total"
    failures = "broker_event_target_invocation_failures_total"
    assert orders(invocations, kind="sqs") == 3
    assert orders(failures, kind="sqs") == 3  # the missing queue, once per event
    assert orders(invocations, kind="api_destination") == 0
    assert orders(failures, kind="api_destination") == 2  # two attempts
    assert orders("broker_event_target_retries_total") == 1
    assert orders("broker_events_dead_lettered_total") == 1
    assert orders("broker_events_archived_total") == 3
    assert orders(invocations, kind="sns") == orders(invocations, kind="event_bus") == 0

    def default(name: str, **labels: str) -> float:
        return of_bus(samples, name, "default", **labels)

    assert default("broker_events_put_total") == 2
    assert default(invocations, kind="api_destination") == 2
    assert default(failures, kind="api_destination") == 0
    # One token a second: the second call of the pair waits for the bucket at least once.
    assert default("broker_event_target_throttled_total") >= 1
    assert default("broker_event_target_retries_total") == 0
    assert endpoint.calls == {"/fail": 2, "/ok": 2}

    # Labelled by bus, never by rule or target.
    assert not any({"rule", "target"} & set(dict(labels)) for _, labels in samples)
    assert {dict(labels)["error_code"] for name, labels in samples if name == refused} == set(
        EVENT_ERROR_CODES
    )
    kinds = {dict(labels)["kind"] for name, labels in samples if name == invocations}
    assert kinds == set(TARGET_KINDS)

    # The gauges: freeze the outbox (no deliverer from here on), leave one delivery in it.
    assert setup.broker.topics is not None
    setup.call(setup.broker.topics.deliverer.stop)
    setup.call(setup.events.service.set_rule_state, CALLER, "to-queue", "orders", False)
    put_events(client, entry("shop", "fail", "orders"))
    setup.call(setup.broker.queue_gauges.refresh)
    samples = scrape(client)
    assert of_bus(samples, "broker_event_rules", "orders", state="enabled") == 1
    assert of_bus(samples, "broker_event_rules", "orders", state="disabled") == 1
    assert of_bus(samples, "broker_event_rules", "default", state="enabled") == 1
    assert value(samples, "broker_event_deliveries", state="due") == 1
    assert value(samples, "broker_event_deliveries", state="scheduled") == 0
    assert value(samples, "broker_event_replays_active") == 0
    exported = {name for name, _ in samples}
    for family in FAMILIES:
        if family.name in EVENT_FAMILIES:
            assert set(family.series) & exported, f"{family.name} is not exported"


def test_schedule_ticks_missed_ticks_and_replays_are_counted(
    client: TestClient, fresh_database_url: str
) -> None:
    setup = Setup(client)
    ticks = setup.queue("ticks")
    rule = setup.rule("every-five", None, None, "rate(5 minutes)")
    setup.targets("every-five", None, {"Id": "q", "Arn": ticks})
    # Twelve minutes late: the due tick fires, the two after it (5 and 10 minutes on) are missed.
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE broker.event_rules SET next_fire_at = now() - interval '12 minutes' "
            "WHERE arn = %s",
            (rule,),
        )
    assert setup.call(setup.events.service.fire_due_schedules) == 1

    default_bus = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"
    archives = setup.events.archives
    archive = setup.call(archives.create_archive, CALLER, "kept", default_bus, None, None, None)
    replayed_rule = setup.rule("replayed", None, '{"source": ["shop"]}', None)
    setup.targets("replayed", None, {"Id": "q", "Arn": setup.queue("replayed")})
    started = datetime.now(UTC) - timedelta(minutes=1)
    put_events(client, entry("shop", "one"), entry("shop", "two"))
    setup.call(
        archives.start_replay,
        CALLER,
        "again",
        None,
        archive.arn,
        started,
        datetime.now(UTC) + timedelta(minutes=1),
        default_bus,
        [replayed_rule],
    )
    setup.call(setup.broker.queue_gauges.refresh)
    assert value(scrape(client), "broker_event_replays_active") == 1
    while setup.call(archives.run_replay_step):
        pass
    setup.call(setup.broker.queue_gauges.refresh)
    assert value(scrape(client), "broker_event_replays_active") == 0

    samples = scrape(client)

    def default(name: str, **labels: str) -> float:
        return of_bus(samples, name, "default", **labels)

    assert default("broker_event_schedule_fires_total") == 1
    assert default("broker_event_schedule_missed_ticks_total") == 2
    assert default("broker_events_put_total") == 2
    assert default("broker_events_archived_total") == 2  # replayed events are not archived again
    assert default("broker_events_replayed_total") == 2
    # The scheduled event (no rule matches it) and both events routed twice to "replayed".
    assert default("broker_event_rule_matches_total") == 4
    assert default("broker_event_target_invocations_total", kind="sqs") == 1 + 2 + 2


def _key(name: str, bus: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset({"account": ACCOUNT, "bus": bus, **labels}.items())


def test_events_passed_between_buses_count_on_each_bus(client: TestClient) -> None:
    setup = Setup(client)
    arns = {}
    for name in ("first", "second", "third"):
        bus = setup.call(setup.events.service.create_event_bus, CALLER, name, None, None)
        arns[name] = bus.arn
    setup.rule("onwards", "first", '{"source": ["relay"]}', None)
    setup.targets("onwards", "first", {"Id": "bus", "Arn": arns["second"]})
    setup.rule("land", "second", '{"source": ["relay"]}', None)
    # A second hop is not taken: the third bus is a failed invocation of the second's rule.
    setup.targets(
        "land",
        "second",
        {"Id": "q", "Arn": setup.queue("landed")},
        {"Id": "bus", "Arn": arns["third"]},
    )
    put_events(client, entry("relay", "hop", "first"))

    samples = scrape(client)
    invocations = "broker_event_target_invocations_total"
    failures = "broker_event_target_invocation_failures_total"
    assert of_bus(samples, "broker_events_put_total", "first") == 1
    assert of_bus(samples, "broker_event_rule_matches_total", "first") == 1
    assert of_bus(samples, invocations, "first", kind="event_bus") == 1
    assert of_bus(samples, "broker_event_rule_matches_total", "second") == 1
    assert of_bus(samples, invocations, "second", kind="sqs") == 1
    assert of_bus(samples, failures, "second", kind="event_bus") == 1
    # Put on the first bus only; no counter of the third exists.
    assert of_bus(samples, "broker_events_put_total", "second") == 0
    counted = {dict(labels).get("bus") for name, labels in samples if name.endswith("_total")}
    assert "third" not in counted
