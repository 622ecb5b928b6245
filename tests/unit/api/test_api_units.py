"""The REST adapter's pure parts: problem identities, credentials, the body reader, OpenAPI."""

from __future__ import annotations

import base64

import pytest
from key_table import KeyTable

from broker import errors
from broker.api import QUEUE_OPERATIONS
from broker.api.auth import authenticate, parse_secret_credential
from broker.api.openapi import docs_page, openapi_document
from broker.api.problems import ApiProblem, error_identity, problem_body, title_of
from broker.api.wire import Body, attribute_value, parse_json
from broker.protocols.aws.context import Authenticator
from broker.protocols.aws.verification import HttpRequest


@pytest.mark.parametrize(
    ("error", "status", "code", "aws_code"),
    [
        (
            errors.QueueNotFound(),
            404,
            "QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
        ),
        (errors.InvalidParameterValue("x"), 400, "InvalidParameterValue", "InvalidParameterValue"),
        (errors.MessageTooLarge("x"), 400, "InvalidParameterValue", "InvalidParameterValue"),
        (errors.MissingParameter("x"), 400, "MissingParameter", "MissingParameter"),
        (
            errors.ReceiptHandleIsInvalid("x"),
            400,
            "ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
        ),
        (errors.QueueAlreadyExists("x"), 409, "QueueNameExists", "QueueAlreadyExists"),
        (
            errors.PurgeQueueInProgress("x"),
            409,
            "PurgeQueueInProgress",
            "AWS.SimpleQueueService.PurgeQueueInProgress",
        ),
        (errors.ResourceNotFound("x"), 404, "ResourceNotFound", "ResourceNotFoundException"),
        (errors.Throttled("x"), 429, "RequestThrottled", "RequestThrottled"),
        (errors.Unavailable("x"), 503, "ServiceUnavailable", "ServiceUnavailable"),
    ],
)
def test_every_condition_has_a_rest_identity(
    error: errors.BrokerError, status: int, code: str, aws_code: str
) -> None:
    assert error_identity(error) == (status, code, aws_code)


def test_problem_body_is_rfc_9457_plus_codes() -> None:
    body = problem_body(404, "QueueDoesNotExist", "gone", "AWS.SimpleQueueService.NonExistentQueue")
    assert body == {
        "type": "urn:pgbroker:problem:QueueDoesNotExist",
        "title": "Queue does not exist",
        "status": 404,
        "detail": "gone",
        "code": "QueueDoesNotExist",
        "aws_code": "AWS.SimpleQueueService.NonExistentQueue",
    }
    assert title_of("MissingAuthenticationToken") == "Missing authentication token"


def test_credentials_schemes() -> None:
    assert parse_secret_credential("Bearer key:sec:ret").secret_access_key == "sec:ret"  # type: ignore[union-attr]
    basic = "Basic " + base64.b64encode(b"key:secret").decode()
    assert parse_secret_credential(basic).access_key_id == "key"  # type: ignore[union-attr]
    assert parse_secret_credential("AWS4-HMAC-SHA256 Credential=x") is None
    for bad in ("Bearer key", "Bearer :secret", "Basic !!!"):
        with pytest.raises(ApiProblem) as caught:
            parse_secret_credential(bad)
        assert caught.value.status == 401


async def test_credentials_are_verified() -> None:
    authenticator = Authenticator(KeyTable({"AKID": "s"}))

    def request(authorization: str | None) -> HttpRequest:
        headers = [("host", "broker.test")]
        if authorization is not None:
            headers.append(("authorization", authorization))
        return HttpRequest("GET", "/v1/queues", "", headers, b"")

    caller = await authenticate(authenticator, request("Bearer AKID:s"), {}, "eu-west-1")
    assert (caller.access_key_id, caller.region) == ("AKID", "eu-west-1")
    for authorization, code in (
        ("Bearer AKID:wrong", "SignatureDoesNotMatch"),
        ("Bearer NOBODY:s", "InvalidClientTokenId"),
        (None, "MissingAuthenticationToken"),
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-2/sqs/aws4_request, "
            "SignedHeaders=host, Signature=ab12",
            "IncompleteSignature",  # no X-Amz-Date
        ),
    ):
        with pytest.raises(ApiProblem) as refused:
            await authenticate(authenticator, request(authorization), {}, "us-east-1")
        assert (refused.value.status, refused.value.code) == (401, code)


def test_body_reader_is_strict() -> None:
    body = Body({"n": 1, "s": "x", "extra": True})
    assert body.integer("n") == 1 and body.string("s") == "x"
    with pytest.raises(errors.InvalidParameterValue, match="extra"):
        body.done()
    for data, read in (
        ({"n": True}, lambda b: b.integer("n")),
        ({"n": 2**40}, lambda b: b.integer("n")),
        ({"s": 1}, lambda b: b.string("s")),
        ({"s": "a\x00b"}, lambda b: b.string("s")),
        ({"m": {"a": 1}}, lambda b: b.string_map("m")),
        ({"l": "x"}, lambda b: b.string_list("l")),
        ({"e": [1]}, lambda b: b.entries("e")),
    ):
        with pytest.raises(errors.InvalidParameterValue):
            read(Body(data))
    with pytest.raises(errors.MissingParameter):
        Body({}).required_string("name")
    with pytest.raises(errors.InvalidParameterValue):
        parse_json(b"[1]")
    assert parse_json(b"  ") == {}


def test_attribute_values() -> None:
    binary = attribute_value(Body({"data_type": "Binary", "binary_value": "AAE="}))
    assert binary.binary_value == b"\x00\x01"
    assert attribute_value(Body({"data_type": "Number", "string_value": "1"})).string_value == "1"
    for bad in (
        {"data_type": "Binary", "string_value": "x"},
        {"data_type": "String", "binary_value": "AAE="},
        {"data_type": "Binary", "binary_value": "*"},
        {"data_type": "String", "string_value": "x", "other": 1},
    ):
        with pytest.raises(errors.InvalidParameterValue):
            attribute_value(Body(bad))


def test_openapi_document_is_complete_and_consistent() -> None:
    document = openapi_document(QUEUE_OPERATIONS, "https://broker.example")
    ids = [op.id for op in QUEUE_OPERATIONS]
    assert len(ids) == len(set(ids))
    assert document["servers"] == [{"url": "https://broker.example"}]
    for op in QUEUE_OPERATIONS:
        entry = document["paths"][op.path][op.method.lower()]
        assert entry["operationId"] == op.id
        assert str(op.status) in entry["responses"]
        path_names = {p["name"] for p in entry["parameters"] if p["in"] == "path"}
        assert path_names == {part[1:-1] for part in op.path.split("/") if part.startswith("{")}
        assert op.path.startswith("/v1/")
    page = docs_page(document)
    assert "<script" not in page and "://" not in page.replace("https://broker.example", "")
