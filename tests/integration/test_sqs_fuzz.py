"""Bad input of every kind, for every SQS action, gets a well-formed error and never a 500.

Hypothesis builds request bodies from the real parameter names of each action with values of
every JSON type (and raw bytes that are not JSON at all), and sends them through the whole app
(wire decoding, service, PostgreSQL) in both protocols.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from request_signing import Resigner

from broker.app import create_app
from broker.config import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette 1.x: its test client will move to httpx2
    from starlette.testclient import TestClient

AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20261126/us-east-1/sqs/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=abcdef0123"
)
ACTIONS = [
    "CreateQueue",
    "GetQueueUrl",
    "ListQueues",
    "DeleteQueue",
    "GetQueueAttributes",
    "SetQueueAttributes",
    "TagQueue",
    "UntagQueue",
    "ListQueueTags",
    "SendMessage",
    "SendMessageBatch",
    "ReceiveMessage",
    "DeleteMessage",
    "DeleteMessageBatch",
    "ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch",
    "PurgeQueue",
    "ListDeadLetterSourceQueues",
    "StartMessageMoveTask",
    "ListMessageMoveTasks",
    "CancelMessageMoveTask",
    "AddPermission",
    "NoSuchAction",
]
FIELDS = [
    "QueueName",
    "QueueUrl",
    "Attributes",
    "tags",
    "Tags",
    "TagKeys",
    "MessageBody",
    "DelaySeconds",
    "MessageAttributes",
    "MessageSystemAttributes",
    "MessageGroupId",
    "MessageDeduplicationId",
    "Entries",
    "MaxNumberOfMessages",
    "WaitTimeSeconds",
    "VisibilityTimeout",
    "ReceiptHandle",
    "AttributeNames",
    "MessageAttributeNames",
    "MessageSystemAttributeNames",
    "ReceiveRequestAttemptId",
    "QueueNamePrefix",
    "MaxResults",
    "NextToken",
    "SourceArn",
    "DestinationArn",
    "MaxNumberOfMessagesPerSecond",
    "TaskHandle",
    "Id",
    "Label",
    "AWSAccountIds",
    "Actions",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["http://h/000000000000/fuzz", "fuzz", "-1", ""]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6)


@pytest.fixture(scope="module")
def client(database_url: str) -> Iterator[TestClient]:
    settings_ = Settings(
        database_url=database_url,
        pool_min_size=1,
        pool_max_size=4,
        janitor_interval_seconds=3600.0,
        metrics_interval_seconds=3600.0,
        root_access_key_id="AKIDFUZZ",
        root_secret_access_key="secret",
    )
    app = create_app(settings_, configure_logging=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.auth = Resigner({"AKIDFUZZ": "secret"})
        # One real queue, so that a share of the requests get past the lookup.
        test_client.post(
            "/", content=b'{"QueueName": "fuzz"}', headers=_json_headers("CreateQueue")
        )
        yield test_client


def _json_headers(action: str) -> dict[str, str]:
    return {
        "X-Amz-Target": f"AmazonSQS.{action}",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": AUTH,
    }


FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(action=st.sampled_from(ACTIONS), body=bodies)
def test_json_requests_never_fail_on_the_server(client: TestClient, action: str, body: Any):
    # The standard library, not orjson: it also writes integers beyond 64 bits.
    response = client.post("/", content=json.dumps(body).encode(), headers=_json_headers(action))
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()
        assert isinstance(error.get("__type"), str) and error["__type"]
        assert "x-amzn-query-error" in response.headers


@FUZZ
@given(action=st.sampled_from(ACTIONS), raw=st.binary(max_size=200))
def test_bodies_that_are_not_json_are_refused_cleanly(client: TestClient, action: str, raw: bytes):
    response = client.post("/", content=raw, headers=_json_headers(action))
    assert response.status_code < 500, response.text


@FUZZ
@given(
    action=st.sampled_from(ACTIONS),
    fields=st.dictionaries(
        st.sampled_from(FIELDS).flatmap(
            lambda f: st.sampled_from([f, f"{f}.1", f"{f}.1.Name", f"{f}.entry.1.Value"])
        ),
        st.text(max_size=30),
        max_size=6,
    ),
)
def test_query_requests_never_fail_on_the_server(client: TestClient, action: str, fields: Any):
    form = {"Action": action, "Version": "2012-11-05", **fields}
    response = client.post(
        "/",
        data=form,
        headers={"Authorization": AUTH, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        root = ElementTree.fromstring(response.content)
        assert root.tag.endswith("ErrorResponse")


_PRINTABLE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=200)


@FUZZ
@given(
    authorization=st.one_of(
        _PRINTABLE,
        st.builds(
            "AWS4-HMAC-SHA256 Credential={}/{}/{}/{}/aws4_request, SignedHeaders={}, "
            "Signature={}".format,
            st.sampled_from(["AKIDFUZZ", "AKIDOTHER", ""]) | _PRINTABLE,
            st.sampled_from(["20261126", "2026112", "x"]),
            st.sampled_from(["us-east-1", ""]) | _PRINTABLE,
            st.sampled_from(["sqs", "sns", "events", "s3"]),
            st.sampled_from(["host;x-amz-date", "host", ""]) | _PRINTABLE,
            st.sampled_from(["0" * 64, "zz", ""]) | _PRINTABLE,
        ),
    ),
    date=st.sampled_from(["20261126T000000Z", "", "garbage"]) | _PRINTABLE,
    json=st.booleans(),
)
def test_fuzzed_authorization_headers_never_fail_on_the_server(
    client: TestClient, authorization: str, date: str, json: bool
):
    headers = {"Authorization": authorization, "X-Amz-Date": date}
    if json:
        headers.update(_json_headers("ListQueues"))
        headers["Authorization"] = authorization
        response = client.post("/", content=b"{}", headers=headers, auth=None)
    else:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = client.post(
            "/", data={"Action": "ListQueues", "Version": "2012-11-05"}, headers=headers, auth=None
        )
    assert 400 <= response.status_code < 500, response.text
