"""AWS JSON 1.0 / 1.1: request bodies in, JSON answers and ``__type`` errors out."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.responses import Response

from broker.protocols.aws.faults import SERIALIZATION, AwsFault, Fault

JSON_1_0 = "application/x-amz-json-1.0"
JSON_1_1 = "application/x-amz-json-1.1"

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject = dict[str, JsonValue]


def parse_json_object(body: bytes) -> dict[str, object]:
    """The request body as a JSON object; an empty body is an empty object (no input members)."""
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise AwsFault(SERIALIZATION, f"The request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise AwsFault(SERIALIZATION, "The request body must be a JSON object.")
    return value


def json_response(
    payload: Mapping[str, JsonValue] | None, request_id: str, content_type: str = JSON_1_0
) -> Response:
    return Response(
        orjson.dumps(payload if payload is not None else {}),
        status_code=200,
        media_type=content_type,
        headers={"x-amzn-RequestId": request_id},
    )


def json_error_response(
    fault: Fault,
    message: str,
    request_id: str,
    content_type: str = JSON_1_0,
    query_compatible: bool = False,
) -> Response:
    """An error body botocore and the other SDKs parse: ``{"__type", "message"}``.

    ``query_compatible`` services (SQS) also send ``x-amzn-query-error: <code>;<Sender|Receiver>``
    so the SDKs report the legacy Query code users' code compares against.
    """
    headers = {"x-amzn-RequestId": request_id}
    if query_compatible:
        headers["x-amzn-query-error"] = f"{fault.query_code};{fault.fault_type}"
    return Response(
        orjson.dumps({"__type": fault.shape, "message": message}),
        status_code=fault.status,
        media_type=content_type,
        headers=headers,
    )
