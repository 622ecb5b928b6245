"""The AWS endpoint: one handler for every path, dispatching on headers and form fields.

SQS (JSON 1.0 or Query), SNS (Query) and EventBridge (JSON 1.1) share the port, as AWS SDKs
configured with one ``endpoint_url`` expect:

* ``X-Amz-Target: AmazonSQS.<Action>`` -> SQS JSON; ``AWSEvents.<Action>`` -> EventBridge.
* otherwise ``Action=...`` in the form or query string -> Query, for the service named by the
  credential scope or, failing that, by ``Version``.

Query requests may be POSTed to a queue URL (``/<account>/<name>``), so every path is served.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from broker import errors
from broker.core.service import BrokerService
from broker.metrics.instruments import CURRENT_REQUEST, UNKNOWN, Instruments, request_context
from broker.protocols.aws import faults
from broker.protocols.aws.context import (
    Authenticator,
    ThrottledFault,
    http_request,
    new_request_id,
)
from broker.protocols.aws.events.endpoint import EventsEndpoint
from broker.protocols.aws.faults import AwsFault
from broker.protocols.aws.json_protocol import JSON_1_0, JSON_1_1, json_error_response
from broker.protocols.aws.query_protocol import parse_query_params, xml_error_response
from broker.protocols.aws.sns.actions import ACTIONS as SNS_ACTIONS
from broker.protocols.aws.sns.actions import UNSIGNED_ACTIONS
from broker.protocols.aws.sns.endpoint import SnsEndpoint
from broker.protocols.aws.sns.faults import sns_fault
from broker.protocols.aws.sqs.actions import ACTIONS as SQS_ACTIONS
from broker.protocols.aws.sqs.endpoint import (
    SQS_VERSION,
    sqs_json,
    sqs_json_error,
    sqs_query,
    sqs_query_error,
)
from broker.protocols.aws.sqs.faults import sqs_fault
from broker.protocols.aws.sqs.queue_urls import queue_path

# A 1 MiB SQS message can triple on the wire: JSON escapes a 4-byte emoji as a 12-byte surrogate
# pair and form encoding turns every non-ASCII byte into %XX. 4 MiB leaves room for both.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024

SNS_NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"
SNS_VERSION = "2010-03-31"

access_log = logging.getLogger("broker.access")

# The ``protocol`` label of request metrics, by X-Amz-Target prefix.
JSON_PROTOCOLS = {"AmazonSQS": "sqs", "AWSEvents": "events"}


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with a 413 fault past ``limit`` bytes without buffering more."""
    too_large = AwsFault(
        faults.REQUEST_ENTITY_TOO_LARGE, f"The request body exceeds the limit of {limit} bytes."
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def query_service(fields: Mapping[str, str], scope_service: str | None) -> str:
    """``sqs``, ``sns`` or ``""`` (unknown) for a Query request."""
    if scope_service in ("sqs", "sns"):
        return scope_service
    version = fields.get("Version")
    if version == SQS_VERSION:
        return "sqs"
    if version == SNS_VERSION:
        return "sns"
    if version is None and fields.get("Action") in SQS_ACTIONS:
        return "sqs"
    return ""


def protocol_fault(fault: AwsFault, service_name: str) -> AwsFault:
    """A throttled request answers with its protocol's own throttling code."""
    if not isinstance(fault, ThrottledFault):
        return fault
    if service_name == "sqs":
        return AwsFault(sqs_fault(errors.Throttled("")), fault.message)
    if service_name == "sns":
        return AwsFault(sns_fault(errors.Throttled("")), fault.message)
    return fault


class AwsEndpoint:
    """An ASGI application: the front door calls it directly for the SDKs' ``POST /``, without
    the router and middleware in between (``broker/front_door.py``)."""

    def __init__(
        self,
        service: BrokerService,
        public_url: str | None,
        max_body_bytes: int,
        authenticator: Authenticator,
        instruments: Instruments | None = None,
        sns: SnsEndpoint | None = None,
        events: EventsEndpoint | None = None,
    ) -> None:
        self._auth = authenticator
        self._sns = sns
        self._events = events
        self._service = service
        self._public_url = public_url.rstrip("/") if public_url else None
        self._max_body_bytes = max_body_bytes
        self._instruments = instruments

    def _base_url(self, request: Request) -> str:
        if self._public_url:
            return self._public_url
        # From the scope, not request.url: building the URL object costs more than the rest.
        host = request.headers.get("host") or request.url.netloc
        return f"{request.scope['scheme']}://{host}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(Request(scope, receive))
        await response(scope, receive, send)

    async def handle(self, request: Request) -> Response:
        request_id = new_request_id()
        started = time.perf_counter()
        with request_context(request_id) as context:
            target = request.headers.get("x-amz-target")
            sns = self._sns
            if sns is not None and request.scope["path"] == sns.certificate_path:
                response = sns.certificate_response()
            elif target:
                response = await self._json(request, target, request_id)
            else:
                response = await self._query(request, request_id)
            seconds = time.perf_counter() - started
            if self._instruments is not None:
                self._instruments.observe_request(
                    context.protocol, context.action, response.status_code, seconds
                )
            access_log.info(
                "%s %s %d",
                context.protocol,
                context.action,
                response.status_code,
                extra={"status": response.status_code, "duration_ms": round(seconds * 1000, 3)},
            )
        return response

    async def _json(self, request: Request, target: str, request_id: str) -> Response:
        prefix, _, action = target.partition(".")
        context = CURRENT_REQUEST.get()
        if context is not None:
            context.protocol = JSON_PROTOCOLS.get(prefix, UNKNOWN)
            if prefix == "AmazonSQS" and action in SQS_ACTIONS:
                context.action = action
            if prefix == "AWSEvents" and self._events is not None and self._events.known(action):
                context.action = action
        try:
            body = await read_body(request, self._max_body_bytes)
            # A presigned request carries its signature in the query; SDK calls have none.
            query = request.query_params if request.scope["query_string"] else {}
            _, caller = await self._auth.authenticate(http_request(request, body), query)
            if context is not None:
                context.account = caller.account_id
            if prefix == "AmazonSQS":
                return await sqs_json(
                    self._service, caller, self._base_url(request), action, body, request_id
                )
            if prefix == "AWSEvents" and self._events is not None:
                return await self._events.handle(caller, action, body, request_id)
            raise AwsFault(faults.UNKNOWN_OPERATION, f"Unrecognized operation {target}.")
        except AwsFault as raised:
            fault = protocol_fault(raised, "sqs" if prefix == "AmazonSQS" else "")
            if prefix == "AmazonSQS":
                return sqs_json_error(fault.fault, fault.message, request_id)
            content_type = (
                JSON_1_1 if "1.1" in request.headers.get("content-type", "") else JSON_1_0
            )
            return json_error_response(fault.fault, fault.message, request_id, content_type)

    async def _query(self, request: Request, request_id: str) -> Response:
        service_name = ""
        try:
            body = await read_body(request, self._max_body_bytes)
            fields = parse_query_params(
                request.url.query, body, request.headers.get("content-type", "")
            )
            try:
                signed, caller = await self._auth.authenticate(http_request(request, body), fields)
                service_name = query_service(fields, signed.credential.service)
            except AwsFault:
                # Answer in the format of the service the request was meant for.
                service_name = query_service(fields, None)
                link = fields.get("Action", "")
                # Only unsigned requests: a bad signature is refused, not downgraded.
                unsigned = (
                    "authorization" not in request.headers and "X-Amz-Signature" not in fields
                )
                if self._sns and service_name != "sqs" and link in UNSIGNED_ACTIONS and unsigned:
                    # The SubscribeURL / UnsubscribeURL links a subscriber follows (unsigned).
                    return await self._sns.handle(
                        None, self._base_url(request), link, fields, request_id
                    )
                raise
            action = fields.get("Action")
            context = CURRENT_REQUEST.get()
            if context is not None:
                context.protocol = service_name or UNKNOWN
                context.account = caller.account_id
                if service_name == "sqs" and action is not None and action in SQS_ACTIONS:
                    context.action = action
            if not action:
                raise AwsFault(
                    faults.MISSING_ACTION, "The request must contain the parameter Action."
                )
            if service_name == "sns" and self._sns is not None:
                if context is not None and action in SNS_ACTIONS:
                    context.action = action
                return await self._sns.handle(
                    caller, self._base_url(request), action, fields, request_id
                )
            if service_name != "sqs":
                raise AwsFault(
                    faults.INVALID_ACTION, f"The action {action} is not valid for this endpoint."
                )
            if "QueueUrl" not in fields and queue_path(request.url.path):
                # Some SDKs POST to the queue URL and leave it out of the form.
                fields["QueueUrl"] = self._base_url(request) + request.url.path
            return await sqs_query(
                self._service, caller, self._base_url(request), action, fields, request_id
            )
        except AwsFault as raised:
            fault = protocol_fault(raised, service_name)
            if service_name == "sns":
                return xml_error_response(fault.fault, fault.message, request_id, SNS_NAMESPACE)
            return sqs_query_error(fault.fault, fault.message, request_id)


def aws_endpoint(
    service: BrokerService,
    public_url: str | None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    instruments: Instruments | None = None,
    sns: SnsEndpoint | None = None,
    events: EventsEndpoint | None = None,
    *,
    authenticator: Authenticator,
) -> AwsEndpoint:
    """The endpoint serving the AWS wire protocols; ``instruments`` times every request
    (``broker_http_request_duration_seconds``)."""
    return AwsEndpoint(service, public_url, max_body_bytes, authenticator, instruments, sns, events)


def aws_routes(endpoint: AwsEndpoint) -> tuple[Route, Route]:
    """Routes serving ``endpoint`` on ``/`` and on every other path.

    The first serves ``/`` only; the second is a catch-all, to mount after every more specific
    route.
    """
    methods = ["GET", "POST"]
    return Route("/", endpoint, methods=methods), Route("/{path:path}", endpoint, methods=methods)
