"""Refusals answered before a request reaches its endpoint (a body too large, a body too slow):
the fault in the wire format the request's headers name, as the endpoint itself would answer.

Only headers are known at that point: ``X-Amz-Target`` selects JSON (SQS's query-compatible
flavour, or JSON 1.1 for the other services) and, for Query requests, the credential scope of the
``Authorization`` header selects the SNS or the SQS XML namespace.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from broker.protocols.aws.context import new_request_id
from broker.protocols.aws.faults import Fault
from broker.protocols.aws.json_protocol import JSON_1_1, json_error_response
from broker.protocols.aws.query_protocol import xml_error_response
from broker.protocols.aws.sqs.endpoint import SQS_NAMESPACE, sqs_json_error

SNS_NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"


def refusal(headers: Mapping[str, str], fault: Fault, message: str) -> Response:
    """``fault`` as the endpoint would answer a request with these (lower-case) headers."""
    request_id = new_request_id()
    target = headers.get("x-amz-target", "")
    if target.startswith("AmazonSQS."):
        return sqs_json_error(fault, message, request_id)
    if target:
        return json_error_response(fault, message, request_id, JSON_1_1)
    if "/sns/aws4_request" in headers.get("authorization", ""):
        return xml_error_response(fault, message, request_id, SNS_NAMESPACE)
    return xml_error_response(fault, message, request_id, SQS_NAMESPACE)


def protocol_of(headers: Mapping[str, str]) -> str:
    """The ``protocol`` label of request metrics for a request known only by its headers."""
    target = headers.get("x-amz-target", "")
    if target:
        return {"AmazonSQS": "sqs", "AWSEvents": "events"}.get(target.partition(".")[0], "unknown")
    authorization = headers.get("authorization", "")
    if "/sns/aws4_request" in authorization:
        return "sns"
    return "sqs" if "/sqs/aws4_request" in authorization else "unknown"
