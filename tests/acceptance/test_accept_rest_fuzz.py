"""The REST API fuzzed with schemathesis against its own OpenAPI document: no 5xx, and every
answer conforms to the document (status codes, content types, bodies).

schemathesis's pytest integration (``from_fixture``/``parametrize``) does not run under pytest 9,
so the test drives it directly: one hypothesis run per operation, positive and negative data.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

AUTH = {"Authorization": "Bearer AKIDEXAMPLE:secret"}
FUZZ_QUEUE = "fuzzed"
"""Positive cases address this queue (re-created before each), so message operations run for
real instead of answering 404 for a random name."""
EXAMPLES_PER_OPERATION = 12
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_schema(broker_url: str) -> Any:
    return schemathesis.openapi.from_url(broker_url + "/openapi.json")


def operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def test_the_document_has_every_operation(api_schema: Any) -> None:
    assert len(operations(api_schema)) >= 20


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_rest_api_never_fails_on_its_own_document(
    api_schema: Any, broker_url: str, mode: GenerationMode
) -> None:
    failures: list[str] = []
    http = httpx.Client(base_url=broker_url, headers=AUTH, timeout=30)
    for operation in operations(api_schema):
        strategy = operation.as_strategy(generation_mode=mode)

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            body = case.body
            if isinstance(body, dict) and isinstance(body.get("wait_seconds"), int):
                body["wait_seconds"] = min(body["wait_seconds"], 1)  # keep long polls short
            if mode is GenerationMode.POSITIVE and "queue" in (case.path_parameters or {}):
                http.post("/v1/queues", json={"name": FUZZ_QUEUE})
                http.post(f"/v1/queues/{FUZZ_QUEUE}/messages", json={"body": "fuzz"})
                case.path_parameters["queue"] = FUZZ_QUEUE
            response = case.call(headers=AUTH, timeout=30)
            if mode is GenerationMode.POSITIVE:
                case.validate_response(response, checks=CHECKS)
            else:
                assert response.status_code < 500, (case.method, case.path, response.text)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    http.close()
    assert not failures, "\n\n".join(failures)
