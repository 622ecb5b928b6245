"""The REST topic operations without a server: error identities, the OpenAPI table."""

from __future__ import annotations

import pytest

from broker import errors
from broker.api import QUEUE_OPERATIONS, TOPIC_OPERATIONS
from broker.api.openapi import docs_page, openapi_document
from broker.api.problems import entry_failure, topic_error_identity
from broker.core.topic_errors import resource_not_found, subscription_not_found, topic_not_found
from broker.protocols.aws.sns.faults import sns_fault


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (topic_not_found(), 404, "NotFound"),
        (subscription_not_found(), 404, "NotFound"),
        (resource_not_found(), 404, "ResourceNotFound"),
        (errors.InvalidParameterValue("x"), 400, "InvalidParameter"),
        (errors.MissingParameter("x"), 400, "ValidationError"),
        (errors.InvalidAttributeValue("x"), 400, "ParameterValueInvalid"),
        (errors.OverLimit("x"), 400, "TagLimitExceeded"),
        (errors.EmptyBatchRequest("x"), 400, "EmptyBatchRequest"),
        (errors.QueueNotFound(), 404, "NotFound"),
        (errors.Unavailable("x"), 503, "ServiceUnavailable"),
    ],
)
def test_topic_errors_carry_sns_codes(error: errors.BrokerError, status: int, code: str) -> None:
    assert topic_error_identity(error) == (status, code, code)
    assert code == sns_fault(error).query_code


def test_topic_batch_failures_use_sns_codes() -> None:
    failure = entry_failure("a", errors.InvalidParameterValue("bad"), True, topic_error_identity)
    assert failure == {
        "id": "a",
        "status": 400,
        "code": "InvalidParameter",
        "aws_code": "InvalidParameter",
        "detail": "bad",
        "sender_fault": True,
    }


def test_openapi_document_covers_the_topic_operations() -> None:
    operations = (*QUEUE_OPERATIONS, *TOPIC_OPERATIONS)
    document = openapi_document(operations)
    ids = [op.id for op in operations]
    assert len(ids) == len(set(ids))
    routes = [(op.path, op.method) for op in operations]
    assert len(routes) == len(set(routes))
    tags = {t["name"] for t in document["tags"]}
    for op in TOPIC_OPERATIONS:
        entry = document["paths"][op.path][op.method.lower()]
        assert entry["operationId"] == op.id and op.tag in tags
        assert op.identity is topic_error_identity
        assert str(op.status) in entry["responses"]
        path_names = {p["name"] for p in entry["parameters"] if p["in"] == "path"}
        assert path_names == {part[1:-1] for part in op.path.split("/") if part.startswith("{")}
    page = docs_page(document)
    for op in TOPIC_OPERATIONS:
        assert f"id='{op.id}'" in page
