"""The REST topic operations (in process, over ASGI) against the real services and PostgreSQL,
side by side with the SNS Query protocol they must agree with."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from broker.api import QUEUE_OPERATIONS, TOPIC_OPERATIONS
from broker.sdk import AsyncClient, errors

SNS_AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/us-east-1/sns/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature=abcdef0123"
)
# Envelope fields that differ between two publishes of the same message.
PER_MESSAGE = {"MessageId", "Timestamp", "Signature"}


def name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def sns(http: httpx.AsyncClient, action: str, **params: str) -> httpx.Response:
    return await http.post(
        "/",
        data={"Action": action, "Version": "2010-03-31", **params},
        headers={"Authorization": SNS_AUTH, "X-Amz-Date": "20240101T000000Z"},
    )


def xml_value(text: str, tag: str) -> str:
    found = re.search(f"<{tag}>(.*?)</{tag}>", text, re.S)
    assert found, text
    return found.group(1)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["code"] == code
    assert problem["type"] == f"urn:pgbroker:problem:{code}"
    assert problem["title"] and problem["detail"]
    return dict(problem)


async def queue_arn(http: httpx.AsyncClient, queue: str) -> str:
    created = await http.post("/v1/queues", json={"name": queue})
    assert created.status_code == 201, created.text
    return str(created.json()["arn"])


async def receive_all(http: httpx.AsyncClient, queue: str) -> list[dict[str, Any]]:
    answer = await http.post(
        f"/v1/queues/{queue}/messages/receive", json={"max_messages": 10, "wait_seconds": 0}
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["messages"])


async def test_topic_lifecycle(http: httpx.AsyncClient) -> None:
    t = name()
    created = await http.post(
        "/v1/topics", json={"name": t, "attributes": {"DisplayName": "Orders"}, "tags": {"a": "1"}}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == t and body["fifo"] is False
    assert body["arn"] == f"arn:aws:sns:us-east-1:000000000000:{t}"
    assert body["attributes"]["DisplayName"] == "Orders" and body["tags"] == {"a": "1"}
    # Idempotent with the same attributes; SNS's error with different ones.
    assert (await http.post("/v1/topics", json={"name": t})).status_code == 201
    clash = await http.post("/v1/topics", json={"name": t, "attributes": {"DisplayName": "x"}})
    assert_problem(clash, 400, "InvalidParameter")

    shown = (await http.get(f"/v1/topics/{t}")).json()
    assert shown["attributes"]["SubscriptionsConfirmed"] == "0"
    assert shown["tags"] == {"a": "1"}
    listed = (await http.get("/v1/topics")).json()
    assert t in [item["name"] for item in listed["topics"]]

    patched = await http.patch(
        f"/v1/topics/{t}/attributes", json={"attributes": {"DisplayName": "New"}}
    )
    assert patched.status_code == 204, patched.text
    attrs = (await http.get(f"/v1/topics/{t}/attributes", params={"name": "DisplayName"})).json()
    assert attrs == {"attributes": {"DisplayName": "New"}}

    assert (await http.patch(f"/v1/topics/{t}/tags", json={"tags": {"b": "2"}})).status_code == 204
    assert (await http.delete(f"/v1/topics/{t}/tags", params={"key": "a"})).status_code == 204
    assert (await http.get(f"/v1/topics/{t}/tags")).json() == {"tags": {"b": "2"}}

    assert (await http.delete(f"/v1/topics/{t}")).status_code == 204
    assert (await http.delete(f"/v1/topics/{t}")).status_code == 204  # idempotent, as in SNS
    assert_problem(await http.get(f"/v1/topics/{t}"), 404, "NotFound")
    assert_problem(await http.get("/v1/topics/no%00such"), 404, "NotFound")


async def test_fifo_topic_publishes_with_sequence_numbers(http: httpx.AsyncClient) -> None:
    t = name() + ".fifo"
    created = (
        await http.post(
            "/v1/topics", json={"name": t, "attributes": {"ContentBasedDeduplication": "true"}}
        )
    ).json()
    assert created["fifo"] is True and created["attributes"]["FifoTopic"] == "true"
    q = name("q") + ".fifo"
    arn = (await http.post("/v1/queues", json={"name": q, "fifo": True})).json()["arn"]
    await http.post(
        f"/v1/topics/{t}/subscriptions",
        json={"protocol": "sqs", "endpoint": arn, "attributes": {"RawMessageDelivery": "true"}},
    )
    first = await http.post(f"/v1/topics/{t}/messages", json={"message": "a", "group_id": "g"})
    assert first.status_code == 201, first.text
    assert first.json()["sequence_number"]
    missing_group = await http.post(f"/v1/topics/{t}/messages", json={"message": "b"})
    assert_problem(missing_group, 400, "InvalidParameter")
    [got] = await receive_all(http, q)
    assert got["body"] == "a"


async def test_subscriptions(http: httpx.AsyncClient) -> None:
    t = name()
    await http.post("/v1/topics", json={"name": t})
    q = name("q")
    arn = await queue_arn(http, q)
    by_arn = await http.post(
        f"/v1/topics/{t}/subscriptions",
        json={
            "protocol": "sqs",
            "endpoint": arn,
            "attributes": {"FilterPolicy": '{"kind": ["a"]}', "RawMessageDelivery": "true"},
        },
    )
    assert by_arn.status_code == 201, by_arn.text
    sub = by_arn.json()
    assert sub["protocol"] == "sqs" and sub["endpoint"] == arn
    assert sub["pending_confirmation"] is False
    assert sub["attributes"]["FilterPolicy"] == '{"kind": ["a"]}'
    assert sub["attributes"]["FilterPolicyScope"] == "MessageAttributes"

    # By queue name: the same subscription (Subscribe is idempotent).
    by_name = await http.post(
        f"/v1/topics/{t}/subscriptions",
        json={
            "queue": q,
            "attributes": {"FilterPolicy": '{"kind": ["a"]}', "RawMessageDelivery": "true"},
        },
    )
    assert by_name.json()["arn"] == sub["arn"]

    listed = (await http.get(f"/v1/topics/{t}/subscriptions")).json()
    assert [s["arn"] for s in listed["subscriptions"]] == [sub["arn"]]
    path = "/v1/subscriptions/" + quote(sub["arn"], safe="")
    shown = (await http.get(path)).json()
    assert shown["attributes"]["RawMessageDelivery"] == "true"
    patched = await http.patch(
        path + "/attributes", json={"attributes": {"RawMessageDelivery": "false"}}
    )
    assert patched.status_code == 204, patched.text
    assert (await http.get(path)).json()["attributes"]["RawMessageDelivery"] == "false"

    http_sub = await http.post(
        f"/v1/topics/{t}/subscriptions",
        json={"protocol": "https", "endpoint": "https://example.invalid/hook"},
    )
    assert http_sub.status_code == 201, http_sub.text
    assert http_sub.json()["pending_confirmation"] is True

    assert (await http.delete(path)).status_code == 204
    assert_problem(await http.get(path), 404, "NotFound")
    assert_problem(await http.get("/v1/subscriptions/not-an-arn"), 400, "InvalidParameter")


async def test_rest_and_sns_query_publish_the_same_envelope(http: httpx.AsyncClient) -> None:
    """One publish through each protocol reaches the same subscribed queue with the same SNS
    envelope, apart from the message id, timestamp and signature."""
    t = name()
    topic_arn = (await http.post("/v1/topics", json={"name": t})).json()["arn"]
    q = name("q")
    arn = await queue_arn(http, q)
    await http.post(f"/v1/topics/{t}/subscriptions", json={"protocol": "sqs", "endpoint": arn})

    rest = await http.post(
        f"/v1/topics/{t}/messages",
        json={
            "message": "same",
            "subject": "hi",
            "attributes": {
                "s": {"data_type": "String", "string_value": "välue"},
                "n": {"data_type": "Number", "string_value": "3"},
                "b": {"data_type": "Binary", "binary_value": base64.b64encode(b"\x00").decode()},
            },
        },
    )
    assert rest.status_code == 201, rest.text
    query = await sns(
        http,
        "Publish",
        TopicArn=topic_arn,
        Message="same",
        Subject="hi",
        **{
            "MessageAttributes.entry.1.Name": "s",
            "MessageAttributes.entry.1.Value.DataType": "String",
            "MessageAttributes.entry.1.Value.StringValue": "välue",
            "MessageAttributes.entry.2.Name": "n",
            "MessageAttributes.entry.2.Value.DataType": "Number",
            "MessageAttributes.entry.2.Value.StringValue": "3",
            "MessageAttributes.entry.3.Name": "b",
            "MessageAttributes.entry.3.Value.DataType": "Binary",
            "MessageAttributes.entry.3.Value.BinaryValue": base64.b64encode(b"\x00").decode(),
        },
    )
    assert query.status_code == 200, query.text
    ids = {rest.json()["message_id"], xml_value(query.text, "MessageId")}

    messages = await receive_all(http, q)
    envelopes = [json.loads(m["body"]) for m in messages]
    assert {e["MessageId"] for e in envelopes} == ids
    first, second = ({k: v for k, v in e.items() if k not in PER_MESSAGE} for e in envelopes)
    assert first == second
    assert first["Message"] == "same" and first["Subject"] == "hi"
    assert first["MessageAttributes"]["b"] == {"Type": "Binary", "Value": "AA=="}


async def test_validation_errors_match_sns_query(http: httpx.AsyncClient) -> None:
    t = name()
    topic_arn = (await http.post("/v1/topics", json={"name": t})).json()["arn"]
    cases: list[tuple[dict[str, Any], dict[str, str], int]] = [
        ({"message": ""}, {"Message": ""}, 400),
        ({"message": "x", "subject": ""}, {"Message": "x", "Subject": ""}, 400),
        (
            {"message": "x", "deduplication_id": "d"},
            {"Message": "x", "MessageDeduplicationId": "d"},
            400,
        ),
        (
            {"message": "x", "message_structure": "xml"},
            {"Message": "x", "MessageStructure": "xml"},
            400,
        ),
        ({"message": "x" * (256 * 1024 + 1)}, {"Message": "x" * (256 * 1024 + 1)}, 400),
        (
            {"message": "x", "attributes": {"a": {"data_type": "Bogus", "string_value": "1"}}},
            {
                "Message": "x",
                "MessageAttributes.entry.1.Name": "a",
                "MessageAttributes.entry.1.Value.DataType": "Bogus",
                "MessageAttributes.entry.1.Value.StringValue": "1",
            },
            400,
        ),
    ]
    for rest_body, query_params, status in cases:
        rest = await http.post(f"/v1/topics/{t}/messages", json=rest_body)
        query = await sns(http, "Publish", TopicArn=topic_arn, **query_params)
        assert query.status_code == status, query.text
        problem = assert_problem(rest, status, xml_value(query.text, "Code"))
        assert problem["detail"] == xml_value(query.text, "Message")
        assert problem["aws_code"] == problem["code"]

    # Missing and unknown members, wrong JSON types: problems too.
    assert_problem(await http.post(f"/v1/topics/{t}/messages", json={}), 400, "ValidationError")
    assert_problem(
        await http.post(f"/v1/topics/{t}/messages", json={"message": "x", "bogus": 1}),
        400,
        "InvalidParameter",
    )
    assert_problem(
        await http.post(f"/v1/topics/{t}/messages", json={"message": 3}), 400, "InvalidParameter"
    )
    missing = name()
    rest_missing = await http.post(f"/v1/topics/{missing}/messages", json={"message": "x"})
    query_missing = await sns(http, "Publish", TopicArn=topic_arn.replace(t, missing), Message="x")
    assert query_missing.status_code == 404
    assert assert_problem(rest_missing, 404, "NotFound")["detail"] == xml_value(
        query_missing.text, "Message"
    )
    bad_protocol = await http.post(
        f"/v1/topics/{t}/subscriptions", json={"protocol": "sms", "endpoint": "+1555"}
    )
    assert_problem(bad_protocol, 400, "InvalidParameter")
    bad_policy = await http.post(
        f"/v1/topics/{t}/subscriptions",
        json={"queue": "nope-" + missing, "attributes": {"FilterPolicy": "{"}},
    )
    assert_problem(bad_policy, 404, "NotFound")


async def test_publish_batch_reports_each_entry(http: httpx.AsyncClient) -> None:
    t = name()
    topic_arn = (await http.post("/v1/topics", json={"name": t})).json()["arn"]
    q = name("q")
    arn = await queue_arn(http, q)
    await http.post(
        f"/v1/topics/{t}/subscriptions",
        json={"queue": q, "attributes": {"RawMessageDelivery": "true"}},
    )
    del arn
    result = await http.post(
        f"/v1/topics/{t}/messages/batch",
        json={
            "entries": [
                {"id": "ok", "message": "one"},
                {"id": "bad", "message": "two", "subject": ""},
            ]
        },
    )
    assert result.status_code == 200, result.text
    body = result.json()
    assert [s["id"] for s in body["successful"]] == ["ok"]
    [failed] = body["failed"]
    query = await sns(
        http,
        "PublishBatch",
        TopicArn=topic_arn,
        **{
            "PublishBatchRequestEntries.member.1.Id": "bad",
            "PublishBatchRequestEntries.member.1.Message": "two",
            "PublishBatchRequestEntries.member.1.Subject": "",
        },
    )
    assert failed["id"] == "bad" and failed["status"] == 400 and failed["sender_fault"] is True
    assert failed["code"] == xml_value(query.text, "Code")
    assert failed["detail"] == xml_value(query.text, "Message")
    assert [m["body"] for m in await receive_all(http, q)] == ["one"]

    eleven = {"entries": [{"id": str(i), "message": "m"} for i in range(11)]}
    too_many = await http.post(f"/v1/topics/{t}/messages/batch", json=eleven)
    assert_problem(too_many, 400, "TooManyEntriesInBatchRequest")
    same_ids = {"entries": [{"id": "a", "message": "m"}, {"id": "a", "message": "n"}]}
    assert_problem(
        await http.post(f"/v1/topics/{t}/messages/batch", json=same_ids),
        400,
        "BatchEntryIdsNotDistinct",
    )
    assert_problem(
        await http.post(f"/v1/topics/{t}/messages/batch", json={"entries": []}),
        400,
        "EmptyBatchRequest",
    )


async def test_openapi_document_covers_topic_operations(http: httpx.AsyncClient) -> None:
    document = (await http.get("/openapi.json")).json()
    listed = {
        (path, method.upper(), op["operationId"])
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    }
    expected = {(op.path, op.method, op.id) for op in (*QUEUE_OPERATIONS, *TOPIC_OPERATIONS)}
    assert listed == expected
    for path in ("/v1/topics", "/v1/topics/{topic}/messages", "/v1/subscriptions/{subscription}"):
        assert path in document["paths"]
    tags = {tag["name"] for tag in document["tags"]}
    assert {op.tag for op in TOPIC_OPERATIONS} <= tags
    page = (await http.get("/docs")).text
    for op in TOPIC_OPERATIONS:
        assert f"id='{op.id}'" in page


async def test_sdk_topics_in_process(sdk: AsyncClient) -> None:
    topic = await sdk.create_topic(name())
    queue = await sdk.create_queue(name("q"))
    subscription = await topic.subscribe_queue(queue.name, filter_policy={"kind": ["a"]}, raw=True)
    assert subscription.protocol == "sqs" and subscription.raw is True
    assert subscription.filter_policy == {"kind": ["a"]}
    await topic.publish("skip", attributes={"kind": "b"})
    published = await topic.publish("take", attributes={"kind": "a"}, subject="s")
    [message] = await queue.receive(wait_seconds=0)
    assert message.body == "take" and message.attributes["kind"].value == "a"
    assert published.message_id
    info = await topic.info()
    assert info.attributes["SubscriptionsConfirmed"] == "1"
    assert [s.arn for s in await topic.subscriptions()] == [subscription.arn]
    await topic.unsubscribe(subscription.arn)
    assert await topic.subscriptions() == []
    with pytest.raises(errors.InvalidParameter) as caught:
        await topic.publish("")
    assert caught.value.status == 400 and isinstance(caught.value, errors.InvalidRequestError)
    await topic.delete()
    with pytest.raises(errors.NotFound):
        await topic.info()
