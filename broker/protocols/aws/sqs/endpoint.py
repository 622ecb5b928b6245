"""SQS over AWS JSON 1.0 and over Query/XML: run one action and answer in the caller's format."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from starlette.responses import Response

from broker.core import access
from broker.core.access_policies import sqs_action
from broker.core.models import Caller, queue_arn
from broker.core.service import BrokerService
from broker.errors import BrokerError
from broker.protocols.aws import faults
from broker.protocols.aws.faults import AwsFault, Fault
from broker.protocols.aws.json_protocol import (
    JSON_1_0,
    JsonObject,
    json_error_response,
    json_response,
    parse_json_object,
)
from broker.protocols.aws.query_protocol import XmlNames, xml_error_response, xml_response
from broker.protocols.aws.sqs.actions import ACTIONS, SqsCall
from broker.protocols.aws.sqs.faults import sqs_fault
from broker.protocols.aws.sqs.params import JsonParams, Params, QueryParams
from broker.protocols.aws.sqs.queue_urls import parse_queue_url

logger = logging.getLogger(__name__)

SQS_NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"
SQS_VERSION = "2012-11-05"

# The SQS model's xmlName traits for result members (lists and maps are flattened).
SQS_XML_NAMES = XmlNames(
    lists={
        "QueueUrls": "QueueUrl",
        "queueUrls": "QueueUrl",
        "Messages": "Message",
        "Failed": "BatchResultErrorEntry",
        "Results": "ListMessageMoveTasksResultEntry",
    },
    maps={
        "Attributes": ("Attribute", "Name", "Value"),
        "MessageAttributes": ("MessageAttribute", "Name", "Value"),
        "Tags": ("Tag", "Key", "Value"),
    },
)


def xml_names_for(action: str) -> XmlNames:
    # Batch results name their success entries after the action.
    return XmlNames(
        lists={**SQS_XML_NAMES.lists, "Successful": f"{action}ResultEntry"},
        maps=SQS_XML_NAMES.maps,
    )


async def _run(
    service: BrokerService,
    caller: Caller,
    base_url: str,
    action: str,
    params: Params,
    request_id: str,
    unknown: Fault,
) -> JsonObject | None:
    """Run ``action``; raises ``AwsFault`` with the SQS identity of whatever went wrong."""
    handler = ACTIONS.get(action)
    if handler is None:
        raise AwsFault(unknown, f"The action {action} is not valid for this endpoint.")
    try:
        if caller.key_policy is not None:
            resource = _resource(service, caller, params)
            access.authorize_key(caller, sqs_action(action), resource)
        return await handler(SqsCall(service, caller, base_url, action), params)
    except AwsFault:
        raise
    except BrokerError as error:
        raise AwsFault(sqs_fault(error), error.message) from error
    except Exception as error:
        logger.exception("SQS %s failed (request id %s)", action, request_id)
        raise AwsFault(
            faults.INTERNAL_ERROR,
            f"An internal error occurred. Request id {request_id}.",
        ) from error


def _resource(service: BrokerService, caller: Caller, params: Params) -> str:
    """The queue ARN an operation addresses, for the key policy (``*`` when none)."""
    url = params.string("QueueUrl")
    if url:
        account_id, name = parse_queue_url(url)
        return queue_arn(service.limits.region, account_id, name)
    queue_name = params.string("QueueName")
    if queue_name:
        return queue_arn(service.limits.region, caller.account_id, queue_name)
    return "*"


def sqs_json_error(fault: Fault, message: str, request_id: str) -> Response:
    return json_error_response(fault, message, request_id, JSON_1_0, query_compatible=True)


def sqs_query_error(fault: Fault, message: str, request_id: str) -> Response:
    return xml_error_response(fault, message, request_id, SQS_NAMESPACE)


async def sqs_json(
    service: BrokerService,
    caller: Caller,
    base_url: str,
    action: str,
    body: bytes,
    request_id: str,
) -> Response:
    try:
        params = JsonParams(parse_json_object(body))
        result = await _run(
            service, caller, base_url, action, params, request_id, faults.UNKNOWN_OPERATION
        )
    except AwsFault as fault:
        return sqs_json_error(fault.fault, fault.message, request_id)
    return json_response(result, request_id, JSON_1_0)


async def sqs_query(
    service: BrokerService,
    caller: Caller,
    base_url: str,
    action: str,
    fields: Mapping[str, str],
    request_id: str,
) -> Response:
    try:
        result = await _run(
            service,
            caller,
            base_url,
            action,
            QueryParams(fields),
            request_id,
            faults.INVALID_ACTION,
        )
    except AwsFault as fault:
        return sqs_query_error(fault.fault, fault.message, request_id)
    return xml_response(action, result, request_id, SQS_NAMESPACE, xml_names_for(action))
