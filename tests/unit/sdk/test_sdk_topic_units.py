"""broker.sdk topics without a server: the requests sent, the answers parsed, error classes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from broker.sdk import (
    AsyncClient,
    Client,
    PublishRequest,
    RetryPolicy,
    SubscriptionInfo,
    errors,
    wire,
)

SUB = {
    "arn": "arn:aws:sns:us-east-1:000000000000:t:abc",
    "topic_arn": "arn:aws:sns:us-east-1:000000000000:t",
    "protocol": "sqs",
    "endpoint": "arn:aws:sqs:us-east-1:000000000000:q",
    "pending_confirmation": False,
    "attributes": {"RawMessageDelivery": "true", "FilterPolicy": '{"k": ["v"]}'},
}


class Recorder:
    def __init__(self, answers: dict[tuple[str, str], tuple[int, Any]]) -> None:
        self.answers = answers
        self.seen: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.seen.append((request.method, request.url.raw_path.decode(), body))
        key = (request.method, request.url.path)
        status, payload = self.answers.get(key, (204, None))
        if payload is None:
            return httpx.Response(status)
        media = "application/problem+json" if status >= 400 else "application/json"
        return httpx.Response(status, json=payload, headers={"content-type": media})


def client_for(recorder: Recorder) -> Client:
    return Client(
        "http://broker.test",
        "AKID",
        "secret",
        transport=httpx.MockTransport(recorder),
        retry=RetryPolicy(max_attempts=1),
    )


def test_publish_and_subscribe_requests() -> None:
    recorder = Recorder(
        {
            ("POST", "/v1/topics/t/messages"): (201, {"message_id": "m", "sequence_number": None}),
            ("POST", "/v1/topics/t/subscriptions"): (201, SUB),
        }
    )
    with client_for(recorder) as client:
        topic = client.topic("t")
        published = topic.publish("hi", subject="s", attributes={"n": 1}, group_id="g")
        assert published.message_id == "m" and published.sequence_number is None
        sub = topic.subscribe_queue("q", filter_policy={"k": ["v"]}, raw=True)
        topic.subscribe_queue(SUB["endpoint"])
        topic.subscribe_http("https://hook.example/x", filter_policy='{"a": ["b"]}')
        topic.unsubscribe(sub)
    assert sub.raw and sub.filter_policy == {"k": ["v"]}
    publish, by_name, by_arn, by_url, unsubscribe = recorder.seen
    assert publish[2] == {
        "message": "hi",
        "attributes": {"n": {"data_type": "Number", "string_value": "1"}},
        "subject": "s",
        "group_id": "g",
    }
    assert by_name[2] == {
        "queue": "q",
        "attributes": {"FilterPolicy": '{"k": ["v"]}', "RawMessageDelivery": "true"},
    }
    assert by_arn[2] == {"protocol": "sqs", "endpoint": SUB["endpoint"]}
    assert by_url[2] == {
        "protocol": "https",
        "endpoint": "https://hook.example/x",
        "attributes": {"FilterPolicy": '{"a": ["b"]}'},
    }
    assert unsubscribe[:2] == (
        "DELETE",
        "/v1/subscriptions/arn%3Aaws%3Asns%3Aus-east-1%3A000000000000%3At%3Aabc",
    )


def test_publish_batch_splits_by_ten_and_numbers_entries() -> None:
    reqs = wire.publish_batch_requests("t", ["m"] * 11 + [PublishRequest("x", id="mine")])
    assert [len(r.body["entries"]) for r in reqs if r.body] == [10, 2]
    assert reqs[0].body and reqs[0].body["entries"][0] == {"id": "0", "message": "m"}
    assert reqs[1].body and reqs[1].body["entries"][1] == {"id": "mine", "message": "x"}
    with pytest.raises(ValueError, match="http"):
        wire.subscribe_http_request("t", "ftp://x", None, False, None)


@pytest.mark.parametrize(
    ("status", "code", "cls", "family"),
    [
        (404, "NotFound", errors.NotFound, errors.NotFoundError),
        (400, "InvalidParameter", errors.InvalidParameter, errors.InvalidParameterValue),
        (400, "ValidationError", errors.ValidationError, errors.MissingParameter),
        (400, "ParameterValueInvalid", errors.ParameterValueInvalid, errors.InvalidAttributeValue),
        (400, "TagLimitExceeded", errors.TagLimitExceeded, errors.InvalidRequestError),
        (409, "ConcurrentAccess", errors.ConcurrentAccess, errors.ConflictError),
    ],
)
def test_sns_codes_map_to_error_classes(
    status: int, code: str, cls: type[errors.ApiError], family: type[errors.ApiError]
) -> None:
    problem = {"code": code, "detail": "d", "aws_code": code, "status": status}
    recorder = Recorder({("GET", "/v1/topics/t"): (status, problem)})
    with client_for(recorder) as client, pytest.raises(cls) as caught:
        client.topic("t").info()
    assert isinstance(caught.value, family) and caught.value.status == status


def test_async_topic_pages_through_subscriptions() -> None:
    pages = iter([{"subscriptions": [SUB], "next_token": "n"}, {"subscriptions": [SUB]}])
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.params.get("next_token")))
        return httpx.Response(200, json=next(pages))

    async def run() -> list[SubscriptionInfo]:
        async with AsyncClient(
            "http://broker.test", "AKID", "secret", transport=httpx.MockTransport(handler)
        ) as client:
            return await client.topic("t").subscriptions()

    found = asyncio.run(run())
    assert [s.arn for s in found] == [SUB["arn"], SUB["arn"]] and seen == ["None", "n"]
