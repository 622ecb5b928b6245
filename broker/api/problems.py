"""Errors of the REST API as RFC 9457 problem objects (``application/problem+json``).

Every failure answers with one shape::

    {"type": "urn:pgbroker:problem:QueueDoesNotExist", "title": "Queue does not exist",
     "status": 404, "detail": "The specified queue does not exist.",
     "code": "QueueDoesNotExist", "aws_code": "AWS.SimpleQueueService.NonExistentQueue"}

``code`` is the AWS error name (the one SDK exception classes are named after) and ``aws_code`` the
legacy SQS Query code boto3 users compare against. Both come from the SQS fault table, so a
condition has the same identity on every protocol; the HTTP status follows REST conventions
(404 not found, 409 conflict, 401 unauthenticated) instead of SQS's 400s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import orjson
from starlette.responses import Response

from broker import errors
from broker.protocols.aws import faults
from broker.protocols.aws.faults import Fault
from broker.protocols.aws.sns.faults import sns_fault
from broker.protocols.aws.sqs.faults import sqs_fault

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:pgbroker:problem:"

# REST statuses by condition family, looked up along the exception's MRO.
_STATUS: dict[type[errors.BrokerError], int] = {
    errors.BrokerError: 500,
    errors.InvalidRequest: 400,
    errors.Conflict: 409,
    errors.NotFound: 404,
    errors.AccessDenied: 403,
    errors.OverLimit: 429,
    errors.Throttled: 429,
    errors.Unavailable: 503,
}


class ApiProblem(Exception):
    """A failure found by the REST adapter itself (auth, framing, routing)."""

    def __init__(self, status: int, code: str, detail: str, aws_code: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.aws_code = aws_code or code


def fault_code(fault: Fault) -> str:
    """``com.amazonaws.sqs#QueueDoesNotExist`` -> ``QueueDoesNotExist`` (no ``Exception``)."""
    name = fault.shape.rsplit("#", 1)[-1]
    return name.removesuffix("Exception")


def rest_status(error: errors.BrokerError) -> int:
    for cls in type(error).__mro__:
        status = _STATUS.get(cls)
        if status is not None:
            return status
    return 500


def title_of(code: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", code).split()
    return " ".join([words[0], *(w.lower() for w in words[1:])]) if words else "Error"


def problem_body(status: int, code: str, detail: str, aws_code: str) -> dict[str, Any]:
    return {
        "type": TYPE_PREFIX + code,
        "title": title_of(code),
        "status": status,
        "detail": detail,
        "code": code,
        "aws_code": aws_code,
    }


def problem_response(
    status: int, code: str, detail: str, aws_code: str, request_id: str
) -> Response:
    headers = {"x-request-id": request_id}
    if status == 401:
        headers["www-authenticate"] = 'Bearer realm="broker", AWS4-HMAC-SHA256'
    return Response(
        orjson.dumps(problem_body(status, code, detail, aws_code)),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def error_identity(error: errors.BrokerError) -> tuple[int, str, str]:
    """(REST status, code, AWS Query code) of a broker condition."""
    fault = sqs_fault(error)
    return rest_status(error), fault_code(fault), fault.query_code


def topic_error_identity(error: errors.BrokerError) -> tuple[int, str, str]:
    """(REST status, code, SNS Query code) of a topic condition: the codes the SNS Query routes
    answer (``NotFound``, ``InvalidParameter``, ``ParameterValueInvalid``...) with REST statuses
    (the tag quota, SNS's ``TagLimitExceeded``, stays a 400)."""
    code = sns_fault(error).query_code
    status = 400 if isinstance(error, errors.OverLimit) else rest_status(error)
    return status, code, code


def entry_failure(
    entry_id: str,
    error: Exception,
    sender_fault: bool,
    identity: Callable[[errors.BrokerError], tuple[int, str, str]] = error_identity,
) -> dict[str, Any]:
    """One failed batch entry, with the codes a single call would have answered."""
    if isinstance(error, errors.BrokerError):
        status, code, aws_code = identity(error)
        detail = error.message
    else:
        status, code, aws_code = 500, fault_code(faults.INTERNAL_ERROR), "InternalError"
        detail = "An internal error occurred."
    return {
        "id": entry_id,
        "status": status,
        "code": code,
        "aws_code": aws_code,
        "detail": detail,
        "sender_fault": sender_fault and status < 500,
    }
