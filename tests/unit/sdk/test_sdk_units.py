"""broker.sdk without a server: signing, retries, errors, attributes, batching, tracing, outbox."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import httpx
import pytest

from broker.sdk import (
    AsyncClient,
    Client,
    MessageAttribute,
    RetryPolicy,
    SendRequest,
    errors,
    signing,
    tracing,
    wire,
)
from broker.sdk.outbox import SEND_SQL, attributes_document, send_in_transaction
from broker.sdk.worker import exponential_backoff


def test_sigv4_matches_botocore() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    date = "20240102T030405Z"
    body = b'{"body":"x y"}'
    path = "/v1/queues/a%20b/messages"
    query = [("prefix", "a b"), ("limit", "10")]
    headers = {"host": "broker:9324", "x-amz-date": date, "content-type": "application/json"}
    ours = signing.sign(
        "POST", path, query, headers, body, "AKID", "SECRET", "us-east-1", "sqs", date
    )

    request = AWSRequest(
        method="POST",
        url="http://broker:9324" + path + "?prefix=a%20b&limit=10",
        data=body,
        headers={"Host": "broker:9324", "X-Amz-Date": date, "Content-Type": "application/json"},
    )
    signer = SigV4Auth(Credentials("AKID", "SECRET"), "sqs", "us-east-1")
    request.context["timestamp"] = date
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    assert ours.endswith("Signature=" + expected)
    assert "SignedHeaders=content-type;host;x-amz-date" in ours


def mock_client(
    responses: list[Any], **kwargs: Any
) -> tuple[Client, list[httpx.Request], list[float]]:
    seen: list[httpx.Request] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer  # type: ignore[no-any-return]

    client = Client(
        "http://broker.test",
        "AKID",
        "SECRET",
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        **kwargs,
    )
    return client, seen, sleeps


def problem(status: int, code: str) -> httpx.Response:
    return httpx.Response(
        status, json={"status": status, "code": code, "detail": "d", "aws_code": "A." + code}
    )


SENT = {"message_id": "m1", "md5_of_body": "x"}


def test_retries_throttling_5xx_and_connection_errors_then_succeeds() -> None:
    client, seen, sleeps = mock_client(
        [
            problem(503, "ServiceUnavailable"),
            httpx.ConnectError("refused"),
            problem(429, "RequestThrottled"),
            httpx.Response(201, json=SENT),
        ],
        retry=RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=1.0),
    )
    assert client.queue("q").send("hello").message_id == "m1"
    assert len(seen) == 4 and len(sleeps) == 3
    for retry, delay in enumerate(sleeps):
        assert 0 <= delay <= min(1.0, 0.1 * 2**retry)
    request = seen[-1]
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKID/")
    assert json.loads(request.content) == {"body": "hello"}


def test_gives_up_after_max_attempts_and_does_not_retry_client_errors() -> None:
    client, seen, _ = mock_client(
        [problem(503, "ServiceUnavailable")] * 2, retry=RetryPolicy(max_attempts=2)
    )
    with pytest.raises(errors.ServiceUnavailable) as caught:
        client.queue("q").send("x")
    assert caught.value.status == 503 and len(seen) == 2
    client, seen, _ = mock_client([problem(404, "QueueDoesNotExist")])
    with pytest.raises(errors.QueueDoesNotExist) as missing:
        client.queue("q").send("x")
    assert isinstance(missing.value, errors.NotFoundError) and len(seen) == 1
    assert missing.value.aws_code == "A.QueueDoesNotExist"
    client, _, _ = mock_client([httpx.ReadTimeout("slow")] * 2, retry=RetryPolicy(max_attempts=2))
    with pytest.raises(errors.RequestTimeout):
        client.queue("q").send("x")


def test_error_classes_by_code_then_status() -> None:
    assert errors.error_class(400, "ReceiptHandleIsInvalid") is errors.ReceiptHandleIsInvalid
    assert errors.error_class(409, "SomethingNew") is errors.ConflictError
    assert errors.error_class(502, "") is errors.ServerError
    assert errors.error_class(418, "") is errors.InvalidRequestError
    assert errors.QueueAlreadyExists is errors.QueueNameExists


def test_attribute_values_from_python() -> None:
    assert MessageAttribute.of("x") == MessageAttribute("String", "x")
    assert MessageAttribute.of(3) == MessageAttribute("Number", "3")
    assert MessageAttribute.of(1.5) == MessageAttribute("Number", "1.5")
    assert MessageAttribute.of(b"\x00").to_json() == {"data_type": "Binary", "binary_value": "AA=="}
    with pytest.raises(TypeError):
        MessageAttribute.of(True)


def test_batches_are_split_in_tens_with_stable_ids() -> None:
    reqs = wire.send_batch_requests(
        "q", [*(f"m{i}" for i in range(23)), SendRequest("z", id="last")]
    )
    assert [len(r.body["entries"]) for r in reqs if r.body] == [10, 10, 4]
    assert reqs[2].body is not None and reqs[2].body["entries"][-1]["id"] == "last"
    assert wire.delete_request("q", "a/b+c").path == "/v1/queues/q/messages/a%2Fb%2Bc"
    assert wire.queue_path("a b") == "/v1/queues/a%20b"


def test_receive_read_timeout_covers_the_long_poll() -> None:
    client, seen, _ = mock_client([httpx.Response(200, json={"messages": []})], timeout=3.0)
    assert client.queue("q").receive(wait_seconds=20) == []
    assert seen[0].extensions["timeout"]["read"] == 23.0


def test_trace_context_is_injected_into_sends() -> None:
    parent = tracing.new_traceparent()
    assert tracing.is_valid(parent) and not tracing.is_valid(
        "00-" + "0" * 32 + "-" + "1" * 16 + "-01"
    )
    child = tracing.child_of(parent)
    assert tracing.trace_id(child) == tracing.trace_id(parent) and child != parent
    assert "attributes" not in wire.send_body("x", None, None, None, None)
    with tracing.trace_context(child):
        attributes = wire.send_body("x", None, None, None, None)["attributes"]
        assert attributes["traceparent"] == {"data_type": "String", "string_value": child}
        explicit = wire.send_body("x", {"traceparent": "mine"}, None, None, None)["attributes"]
        assert explicit["traceparent"]["string_value"] == "mine"
    assert tracing.current_traceparent() is None


def test_backoff_grows_and_is_capped() -> None:
    backoff = exponential_backoff(base=2, cap=60)
    assert [backoff(n) for n in (1, 2, 3, 4, 5, 6, 100)] == [2, 4, 8, 16, 32, 60, 60]
    rng = random.Random(1)
    policy = RetryPolicy(base_delay=1, max_delay=3)
    assert all(0 <= policy.delay(n, rng) <= min(3, 2**n) for n in range(10))


class FakeCursor:
    def __init__(self, row: tuple[Any, ...]) -> None:
        self.row = row

    def fetchone(self) -> tuple[Any, ...]:
        return self.row


class FakeConnection:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def execute(self, query: str, params: tuple[Any, ...]) -> FakeCursor:
        self.calls.append((query, params))
        return FakeCursor(("0b3c…",))


def test_outbox_calls_the_sql_function_with_aws_shaped_attributes() -> None:
    conn = FakeConnection()
    assert (
        send_in_transaction(conn, "orders", "body", {"k": "v", "b": b"\x01"}, 5, group_id="g")
        == "0b3c…"
    )
    [(query, params)] = conn.calls
    assert query == SEND_SQL
    assert params[:2] == ("orders", "body")
    assert json.loads(params[2]) == {
        "k": {"DataType": "String", "StringValue": "v"},
        "b": {"DataType": "Binary", "BinaryValue": "AQ=="},
    }
    assert params[3:] == (5, "g", None, "000000000000")
    assert attributes_document(None) is None


def test_async_client_retries_too() -> None:
    answers = [problem(500, "InternalFailure"), httpx.Response(204)]

    async def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0)

    async def main() -> None:
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        async with AsyncClient(
            "http://broker.test", "k", "s", transport=httpx.MockTransport(handler), sleep=sleep
        ) as client:
            await client.queue("q").delete_message("handle")
        assert len(sleeps) == 1

    asyncio.run(main())


def test_endpoint_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="absolute"):
        Client("localhost", "k", "s")
