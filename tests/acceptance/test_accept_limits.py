"""Limits and load shedding on a real server: the body size limit (enforced before any parsing,
chunked bodies included), the body read timeout for slow clients, and the bound on parked long
polls. Past each, a clean error of the route's protocol: never a 500, never a hang.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from accept_support import error_code, http_status, make_sqs_client, query_post, signed_headers
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LIMIT = 1_048_576 + 4096
"""The server's body limit here: just above the largest message, to make the edges cheap."""
BODY_TIMEOUT = 2
MAX_LONG_POLLS = 2
REST_AUTH = {"Authorization": "Bearer AKIDEXAMPLE:secret"}
CLIENT_TIMEOUT = 30.0
"""Every request of this module must be answered within this (else it hung)."""


@pytest.fixture(scope="module")
def broker_env() -> dict[str, str]:
    return {
        "BROKER_MAX_REQUEST_BYTES": str(LIMIT),
        "BROKER_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
        "BROKER_MAX_LONG_POLLS": str(MAX_LONG_POLLS),
    }


@pytest.fixture(scope="module")
def queue_url(sqs: Any) -> str:
    return str(sqs.create_queue(QueueName="limits")["QueueUrl"])


def _sqs_json(url: str, action: str, body: bytes, **extra: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": f"AmazonSQS.{action}",
        **extra,
    }
    return signed_headers(url, body, headers)


def _chunks(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


# -- the body size limit ------------------------------------------------------------------------


def test_the_largest_valid_messages_fit_in_every_protocol(sqs: Any, queue_url: str) -> None:
    # 1 MiB of 4-byte characters: JSON escapes each as a 12-byte surrogate pair and form
    # encoding as 12 bytes of %XX, so 3 MiB on the wire; the default limit (4 MiB) allows it.
    # Here, with the limit just above 1 MiB, ASCII bodies of the maximum size still fit.
    body = "x" * 1_048_576
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    reply = query_post(
        queue_url, {"Action": "SendMessage", "MessageBody": body, "Version": "2012-11-05"}
    )
    assert reply.status_code == 200, reply.text
    sqs.purge_queue(QueueUrl=queue_url)


def _post_past_the_limit(broker_url: str) -> httpx.Response:
    body = b"{" + b" " * LIMIT + b"}"
    return httpx.post(
        broker_url,
        content=body,
        headers=_sqs_json(broker_url, "SendMessage", body),
        timeout=CLIENT_TIMEOUT,
    )


def test_a_declared_body_past_the_limit_is_refused_unread(broker_url: str) -> None:
    reply = _post_past_the_limit(broker_url)
    assert reply.status_code == 413
    assert reply.json()["__type"].endswith("RequestEntityTooLargeException")
    assert reply.headers["x-amzn-query-error"] == "RequestEntityTooLarge;Sender"


def test_boto3_sees_request_entity_too_large(sqs: Any, queue_url: str) -> None:
    entries = [
        {"Id": str(i), "MessageBody": "y" * (LIMIT // 8)} for i in range(10)
    ]  # over the limit in total, each entry valid
    with pytest.raises(ClientError) as caught:
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    assert error_code(caught.value) == "RequestEntityTooLarge"
    assert http_status(caught.value) == 413


def test_a_chunked_body_past_the_limit_is_refused(broker_url: str) -> None:
    # No Content-Length: the limit is found by counting the chunks as they arrive.
    body = json.dumps({"QueueUrl": "x", "MessageBody": "z" * (LIMIT + 10)}).encode()
    reply = httpx.post(
        broker_url,
        content=_chunks(body, 65536),
        headers=_sqs_json(broker_url, "SendMessage", b""),
        timeout=CLIENT_TIMEOUT,
    )
    assert reply.status_code == 413
    assert reply.headers["x-amzn-query-error"] == "RequestEntityTooLarge;Sender"


def test_query_and_rest_refusals_have_their_routes_shape(broker_url: str) -> None:
    form = urlencode({"Action": "Publish", "Message": "m" * (LIMIT + 1)}).encode()
    headers = signed_headers(
        broker_url,
        form,
        {"Content-Type": "application/x-www-form-urlencoded"},
        service="sns",
    )
    sns = httpx.post(broker_url, content=form, headers=headers, timeout=CLIENT_TIMEOUT)
    assert sns.status_code == 413
    assert "sns.amazonaws.com/doc/2010-03-31/" in sns.text
    assert "<Code>RequestEntityTooLarge</Code>" in sns.text

    rest = httpx.post(
        broker_url + "/v1/queues/limits/messages",
        content=json.dumps({"body": "r" * (LIMIT + 1)}),
        headers={**REST_AUTH, "Content-Type": "application/json"},
        timeout=CLIENT_TIMEOUT,
    )
    assert rest.status_code == 413
    assert rest.headers["content-type"].startswith("application/problem+json")
    assert rest.json()["code"] == "RequestEntityTooLarge"


# -- slow clients -------------------------------------------------------------------------------


def _raw_request(port: int, head: bytes, body_part: bytes) -> bytes:
    """Send a request whose body never completes; what the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=CLIENT_TIMEOUT) as conn:
        conn.sendall(head + body_part)
        answer = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return answer
            answer += chunk


def test_a_stalled_body_is_answered_with_request_timeout(broker_url: str) -> None:
    port = int(broker_url.rsplit(":", 1)[1])
    body = b'{"QueueName": "never-finished"}'
    headers = _sqs_json(broker_url, "CreateQueue", body)
    head = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items() if k.lower() != "content-length")
        + f"Content-Length: {len(body) + 100}\r\n\r\n"
    ).encode()
    answer = _raw_request(port, head, body)  # 100 bytes short: the server waits, then refuses
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 408 " in status_line, answer[:300]
    assert b"RequestTimeout;Sender" in rest


# -- long polls ---------------------------------------------------------------------------------


def _waiters(broker_url: str) -> float:
    text = httpx.get(broker_url + "/metrics", timeout=CLIENT_TIMEOUT).text
    for line in text.splitlines():
        if line.startswith("broker_long_poll_waiters"):
            return float(line.split()[-1])
    return 0.0


def test_long_polls_past_the_bound_are_throttled(broker_url: str, sqs: Any) -> None:
    url = sqs.create_queue(QueueName="parked")["QueueUrl"]
    results: list[Any] = []

    def park() -> None:
        client = make_sqs_client(broker_url)
        results.append(client.receive_message(QueueUrl=url, WaitTimeSeconds=20))

    threads = [threading.Thread(target=park) for _ in range(MAX_LONG_POLLS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + CLIENT_TIMEOUT
    while _waiters(broker_url) < MAX_LONG_POLLS:
        assert time.monotonic() < deadline, "the long polls never parked"
        time.sleep(0.05)  # polling an observable condition

    # One more would park: refused with the throttling code the SDKs retry with a backoff.
    with pytest.raises(ClientError) as caught:
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
    assert error_code(caught.value) == "RequestThrottled"
    rest = httpx.post(
        broker_url + "/v1/queues/parked/messages/receive",
        json={"wait_seconds": 20},
        headers=REST_AUTH,
        timeout=CLIENT_TIMEOUT,
    )
    assert rest.status_code == 429, rest.text
    assert rest.headers["content-type"].startswith("application/problem+json")
    # A receive that finds a message does not park, so it is served past the bound.
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message(QueueUrl=url, MessageBody="two")
    sqs.send_message(QueueUrl=url, MessageBody="three")
    for thread in threads:
        thread.join(CLIENT_TIMEOUT)
    assert sorted(len(r.get("Messages", [])) for r in results) == [1, 1]
    left = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
    assert [m["Body"] for m in left["Messages"]] in (["one"], ["two"], ["three"])


# -- fuzz: sizes, framing and protocols around the limit -----------------------------------------


@given(
    size=st.integers(min_value=LIMIT - 64, max_value=LIMIT + 64),
    chunk=st.sampled_from([None, 1024, 65536]),
    route=st.sampled_from(["sqs-json", "sqs-query", "sns-query", "rest"]),
)
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_bodies_around_the_limit_never_give_a_500_or_a_hang(
    broker_url: str, size: int, chunk: int | None, route: str
) -> None:
    body = b"a" * size
    path = "/v1/queues/limits/messages" if route == "rest" else "/"
    if route == "sqs-json":
        headers = _sqs_json(broker_url, "SendMessage", b"")
    elif route == "rest":
        headers = {**REST_AUTH, "Content-Type": "application/json"}
    else:
        service = route.split("-")[0]
        headers = signed_headers(
            broker_url, b"", {"Content-Type": "application/x-www-form-urlencoded"}, service
        )
    headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
    content: bytes | Iterator[bytes] = body if chunk is None else _chunks(body, chunk)
    reply = httpx.post(broker_url + path, content=content, headers=headers, timeout=CLIENT_TIMEOUT)
    assert reply.status_code < 500, (route, size, reply.text[:300])
    if size > LIMIT:
        assert reply.status_code == 413, (route, size, reply.text[:300])
    else:
        assert reply.status_code != 413, (route, size, reply.text[:300])


def _refusals_counted(broker_url: str, protocol: str, status: int) -> float:
    text = httpx.get(f"{broker_url.rstrip('/')}/metrics", timeout=CLIENT_TIMEOUT).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("broker_http_request_duration_seconds_count{"):
            labels, _, value = line.partition("} ")
            if (
                f'protocol="{protocol}"' in labels
                and 'action="unknown"' in labels
                and f'status="{status}"' in labels
            ):
                total += float(value)
    return total


def test_refusals_are_counted_in_the_request_metrics(broker_url: str) -> None:
    before = _refusals_counted(broker_url, "sqs", 413)
    assert _post_past_the_limit(broker_url).status_code == 413
    assert _refusals_counted(broker_url, "sqs", 413) == before + 1
