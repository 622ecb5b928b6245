"""The REST API (in process, over ASGI) against the real service and PostgreSQL, side by side
with the SQS JSON protocol it must agree with."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from broker.api import QUEUE_OPERATIONS, TOPIC_OPERATIONS
from broker.sdk import AsyncClient, errors
from broker.sdk.outbox import send_in_transaction

BEARER = {"Authorization": "Bearer AKIDTEST:secret"}

SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/us-east-1/sqs/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abcdef0123456789"
)


def name(prefix: str = "q") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def sqs(http: httpx.AsyncClient, action: str, body: dict[str, Any]) -> httpx.Response:
    return await http.post(
        "/",
        content=json.dumps(body),
        headers={
            "Authorization": SIGV4,
            "X-Amz-Date": "20240101T000000Z",
            "X-Amz-Target": f"AmazonSQS.{action}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"] == f"urn:pgbroker:problem:{code}"
    assert problem["title"] and problem["detail"]
    return dict(problem)


async def test_queue_lifecycle(http: httpx.AsyncClient) -> None:
    q = name()
    created = await http.post(
        "/v1/queues",
        json={"name": q, "attributes": {"VisibilityTimeout": "45"}, "tags": {"a": "1"}},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == q and body["fifo"] is False
    assert body["url"] == f"http://broker.test/000000000000/{q}"
    assert body["arn"] == f"arn:aws:sqs:us-east-1:000000000000:{q}"
    # Idempotent with the same attributes; a conflict with different ones.
    again = await http.post(
        "/v1/queues", json={"name": q, "attributes": {"VisibilityTimeout": "45"}}
    )
    assert again.status_code == 201
    clash = await http.post(
        "/v1/queues", json={"name": q, "attributes": {"VisibilityTimeout": "5"}}
    )
    assert_problem(clash, 409, "QueueNameExists")

    shown = (await http.get(f"/v1/queues/{q}")).json()
    assert shown["attributes"]["VisibilityTimeout"] == "45"
    assert shown["attributes"]["ApproximateNumberOfMessages"] == "0"
    assert shown["tags"] == {"a": "1"}

    listed = (await http.get("/v1/queues", params={"prefix": q})).json()
    assert [item["name"] for item in listed["queues"]] == [q]

    patched = await http.patch(
        f"/v1/queues/{q}/attributes", json={"attributes": {"DelaySeconds": "3"}}
    )
    assert patched.status_code == 204
    attrs = (await http.get(f"/v1/queues/{q}/attributes", params={"name": "DelaySeconds"})).json()
    assert attrs == {"attributes": {"DelaySeconds": "3"}}

    assert (await http.patch(f"/v1/queues/{q}/tags", json={"tags": {"b": "2"}})).status_code == 204
    assert (await http.delete(f"/v1/queues/{q}/tags", params={"key": "a"})).status_code == 204
    assert (await http.get(f"/v1/queues/{q}/tags")).json() == {"tags": {"b": "2"}}

    assert (await http.delete(f"/v1/queues/{q}")).status_code == 204
    assert_problem(await http.get(f"/v1/queues/{q}"), 404, "QueueDoesNotExist")


async def test_messages_round_trip(http: httpx.AsyncClient) -> None:
    q = name()
    await http.post("/v1/queues", json={"name": q})
    attributes = {
        "kind": {"data_type": "String", "string_value": "greeting"},
        "n": {"data_type": "Number", "string_value": "42"},
        "raw": {"data_type": "Binary", "binary_value": base64.b64encode(b"\x00\x01").decode()},
    }
    sent = await http.post(
        f"/v1/queues/{q}/messages", json={"body": "héllo", "attributes": attributes}
    )
    assert sent.status_code == 201, sent.text
    answer = sent.json()
    assert answer["md5_of_body"] == hashlib.md5("héllo".encode()).hexdigest()
    assert answer["md5_of_message_attributes"]

    got = await http.post(f"/v1/queues/{q}/messages/receive", json={"max_messages": 10})
    [message] = got.json()["messages"]
    assert message["body"] == "héllo"
    assert message["attributes"] == attributes
    assert message["md5_of_message_attributes"] == answer["md5_of_message_attributes"]
    assert message["system_attributes"]["ApproximateReceiveCount"] == "1"

    handle = message["receipt_handle"]
    changed = await http.put(
        f"/v1/queues/{q}/messages/{handle}/visibility", json={"visibility_timeout": 0}
    )
    assert changed.status_code == 204
    [again] = (await http.post(f"/v1/queues/{q}/messages/receive", json={})).json()["messages"]
    assert again["system_attributes"]["ApproximateReceiveCount"] == "2"
    assert (
        await http.delete(f"/v1/queues/{q}/messages/{again['receipt_handle']}")
    ).status_code == 204
    empty = await http.post(f"/v1/queues/{q}/messages/receive", json={"wait_seconds": 0})
    assert empty.json() == {"messages": []}
    assert_problem(
        await http.delete(f"/v1/queues/{q}/messages/not-a-handle"), 400, "ReceiptHandleIsInvalid"
    )


async def test_rest_and_sqs_json_store_the_same_message(http: httpx.AsyncClient) -> None:
    """One send through each protocol, each received through the other: same bodies,
    attributes and digests."""
    q = name()
    url = (await http.post("/v1/queues", json={"name": q})).json()["url"]
    rest_attributes = {
        "s": {"data_type": "String.custom", "string_value": "välue"},
        "b": {"data_type": "Binary", "binary_value": base64.b64encode(b"\xff\x00").decode()},
    }
    sqs_attributes = {
        "s": {"DataType": "String.custom", "StringValue": "välue"},
        "b": {"DataType": "Binary", "BinaryValue": base64.b64encode(b"\xff\x00").decode()},
    }
    by_rest = (
        await http.post(
            f"/v1/queues/{q}/messages", json={"body": "same", "attributes": rest_attributes}
        )
    ).json()
    by_sqs = (
        await sqs(
            http,
            "SendMessage",
            {"QueueUrl": url, "MessageBody": "same", "MessageAttributes": sqs_attributes},
        )
    ).json()
    assert by_rest["md5_of_body"] == by_sqs["MD5OfMessageBody"]
    assert by_rest["md5_of_message_attributes"] == by_sqs["MD5OfMessageAttributes"]

    received = (
        await sqs(
            http,
            "ReceiveMessage",
            {"QueueUrl": url, "MaxNumberOfMessages": 1, "MessageAttributeNames": ["All"]},
        )
    ).json()["Messages"][0]
    assert received["MessageId"] == by_rest["message_id"]
    assert received["MD5OfBody"] == by_rest["md5_of_body"]
    assert received["MD5OfMessageAttributes"] == by_rest["md5_of_message_attributes"]
    assert received["MessageAttributes"] == sqs_attributes

    [via_rest] = (await http.post(f"/v1/queues/{q}/messages/receive", json={})).json()["messages"]
    assert via_rest["message_id"] == by_sqs["MessageId"]
    assert via_rest["attributes"] == rest_attributes
    assert via_rest["md5_of_message_attributes"] == by_sqs["MD5OfMessageAttributes"]

    # The same invalid send fails the same way on both.
    bad_rest = await http.post(f"/v1/queues/{q}/messages", json={"body": "x", "delay_seconds": 901})
    bad_sqs = await sqs(
        http, "SendMessage", {"QueueUrl": url, "MessageBody": "x", "DelaySeconds": 901}
    )
    problem = assert_problem(bad_rest, 400, "InvalidParameterValue")
    assert problem["detail"] == bad_sqs.json()["message"]


async def test_batches_report_each_entry(http: httpx.AsyncClient) -> None:
    q = name()
    await http.post("/v1/queues", json={"name": q})
    result = await http.post(
        f"/v1/queues/{q}/messages/batch",
        json={
            "entries": [
                {"id": "a", "body": "one"},
                {"id": "b", "body": "two", "delay_seconds": 9999},
            ]
        },
    )
    assert result.status_code == 200
    data = result.json()
    assert [s["id"] for s in data["successful"]] == ["a"]
    [failure] = data["failed"]
    assert failure["id"] == "b" and failure["code"] == "InvalidParameterValue"
    assert failure["sender_fault"] is True
    [message] = (await http.post(f"/v1/queues/{q}/messages/receive", json={})).json()["messages"]
    deleted = await http.post(
        f"/v1/queues/{q}/messages/delete-batch",
        json={
            "entries": [
                {"id": "x", "receipt_handle": message["receipt_handle"]},
                {"id": "y", "receipt_handle": "bad"},
            ]
        },
    )
    assert [s["id"] for s in deleted.json()["successful"]] == ["x"]
    assert [f["code"] for f in deleted.json()["failed"]] == ["ReceiptHandleIsInvalid"]
    too_many = await http.post(
        f"/v1/queues/{q}/messages/batch",
        json={"entries": [{"id": str(i), "body": "x"} for i in range(11)]},
    )
    assert_problem(too_many, 400, "TooManyEntriesInBatchRequest")


async def test_request_errors_are_problems(http: httpx.AsyncClient) -> None:
    q = name()
    await http.post("/v1/queues", json={"name": q})
    assert_problem(await http.post("/v1/queues", content=b"{nope"), 400, "InvalidParameterValue")
    assert_problem(
        await http.post("/v1/queues", json={"name": q, "colour": 1}), 400, "InvalidParameterValue"
    )
    assert_problem(await http.post("/v1/queues", json={}), 400, "MissingParameter")
    assert_problem(
        await http.post("/v1/queues", json={"name": "bad name!"}), 400, "InvalidParameterValue"
    )
    assert_problem(
        await http.get("/v1/queues", params={"limit": "x"}), 400, "InvalidParameterValue"
    )
    assert_problem(
        await http.post(
            f"/v1/queues/{q}/messages",
            json={"body": "x", "attributes": {"a": {"data_type": "Binary", "binary_value": "%%"}}},
        ),
        400,
        "InvalidParameterValue",
    )
    assert_problem(
        await http.post("/v1/queues/nope/messages", json={"body": "x"}), 404, "QueueDoesNotExist"
    )
    unauthenticated = await http.get("/v1/queues", headers={"Authorization": ""})
    assert_problem(unauthenticated, 401, "MissingAuthenticationToken")
    assert "Bearer" in unauthenticated.headers["www-authenticate"]
    assert_problem(
        await http.get("/v1/queues", headers={"Authorization": "Bearer nocolon"}),
        401,
        "IncompleteSignature",
    )
    huge = await http.post(f"/v1/queues/{q}/messages", content=b"x" * (5 * 1024 * 1024))
    assert_problem(huge, 413, "RequestEntityTooLarge")
    assert (await http.post(f"/v1/queues/{q}/purge")).status_code == 204
    assert_problem(await http.post(f"/v1/queues/{q}/purge"), 409, "PurgeQueueInProgress")


async def test_every_auth_scheme_reaches_the_same_account(http: httpx.AsyncClient) -> None:
    q = name()
    await http.post("/v1/queues", json={"name": q})
    basic = "Basic " + base64.b64encode(b"AKIDTEST:secret").decode()
    for authorization in (BEARER["Authorization"], basic, SIGV4):
        response = await http.get(f"/v1/queues/{q}", headers={"Authorization": authorization})
        assert response.status_code == 200, (authorization, response.text)


async def test_long_poll_returns_when_a_message_arrives(http: httpx.AsyncClient) -> None:
    q = name()
    await http.post("/v1/queues", json={"name": q})
    waiting = asyncio.create_task(
        http.post(f"/v1/queues/{q}/messages/receive", json={"wait_seconds": 20})
    )
    await http.post(f"/v1/queues/{q}/messages", json={"body": "wake"})
    response = await asyncio.wait_for(waiting, 10)
    assert [m["body"] for m in response.json()["messages"]] == ["wake"]


async def test_redrive_moves_dead_letters_back(http: httpx.AsyncClient) -> None:
    dlq, source = name("dlq"), name("src")
    dlq_arn = (await http.post("/v1/queues", json={"name": dlq})).json()["arn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    await http.post("/v1/queues", json={"name": source, "attributes": {"RedrivePolicy": policy}})
    await http.post(f"/v1/queues/{dlq}/messages", json={"body": "dead"})
    sources = (await http.get(f"/v1/queues/{dlq}/dead-letter-sources")).json()
    assert [s["name"] for s in sources["queues"]] == [source]
    started = await http.post(f"/v1/queues/{dlq}/redrive", json={"destination": source})
    assert started.status_code == 202, started.text
    tasks = (await http.get(f"/v1/queues/{dlq}/redrive")).json()["tasks"]
    assert tasks[0]["task_handle"] == started.json()["task_handle"]
    assert tasks[0]["status"] in ("RUNNING", "COMPLETED")
    again = await http.post(f"/v1/queues/{dlq}/redrive", json={})
    if tasks[0]["status"] == "RUNNING":
        assert_problem(again, 400, "UnsupportedOperation")


async def test_openapi_document_lists_every_route(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    listed = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    assert listed == {(op.path, op.method) for op in (*QUEUE_OPERATIONS, *TOPIC_OPERATIONS)}
    page = await http.get("/docs")
    assert page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text and "http" not in page.text.split("<body>")[0]
    for op in QUEUE_OPERATIONS:
        assert f"id='{op.id}'" in page.text


async def test_sdk_client_in_process(sdk: AsyncClient) -> None:
    q = name()
    queue = await sdk.create_queue(q, tags={"team": "a"})
    sent = await queue.send("hi", attributes={"n": 7, "s": "x", "b": b"\x01"}, delay=0)
    assert sent.md5_of_body == hashlib.md5(b"hi").hexdigest()
    result = await queue.send_batch([f"m{i}" for i in range(12)])
    assert result.ok and len(result.successful) == 12
    info = await queue.info()
    assert info.approximate_messages == 13 and info.tags == {"team": "a"}
    first = await queue.receive(max_messages=1, wait_seconds=0)
    assert first[0].body == "hi"
    assert first[0].attributes["n"].string_value == "7"
    assert first[0].attributes["b"].value == b"\x01"
    await first[0].delete()
    rest = []
    while batch := await queue.receive(max_messages=10, wait_seconds=0):
        rest.extend(batch)
    assert sorted(m.body for m in rest) == sorted(f"m{i}" for i in range(12))
    deleted = await queue.delete_batch(rest)
    assert deleted.ok and len(deleted.successful) == 12
    with pytest.raises(errors.QueueDoesNotExist) as caught:
        await sdk.queue("missing-" + q).send("x")
    assert caught.value.status == 404 and caught.value.aws_code.endswith("NonExistentQueue")
    await queue.delete()


async def test_outbox_sends_inside_the_callers_transaction(
    sdk: AsyncClient, database_url: str
) -> None:
    q = name()
    queue = await sdk.create_queue(q)
    with psycopg.connect(database_url) as conn:
        with conn.transaction():
            message_id = send_in_transaction(conn, q, "kept", {"k": "v", "bin": b"\x02"})
        send_in_transaction(conn, q, "discarded")
        conn.rollback()
    [message] = await queue.receive(wait_seconds=0)
    assert message.message_id == message_id and message.body == "kept"
    assert message.attributes["k"].value == "v" and message.attributes["bin"].value == b"\x02"
    assert await queue.receive(wait_seconds=0) == []
