"""The REST adapter's request cycle: read, authenticate, dispatch, answer (JSON or problem)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from broker.api import auth
from broker.api.openapi import docs_page, openapi_document
from broker.api.problems import ApiProblem, problem_response
from broker.api.queues import QUEUE_OPERATIONS, Call, Operation
from broker.api.topics import TOPIC_OPERATIONS
from broker.api.wire import Body, parse_json
from broker.core.service import BrokerService
from broker.core.topics import TopicService
from broker.errors import BrokerError
from broker.metrics.instruments import Instruments, RequestContext, request_context
from broker.protocols.aws.context import Authenticator, http_request

log = logging.getLogger(__name__)
access_log = logging.getLogger("broker.access")

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
PROTOCOL = "rest"


class RestEndpoint:
    def __init__(
        self,
        service: BrokerService,
        public_url: str | None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        instruments: Instruments | None = None,
        region: str = "us-east-1",
        topics: TopicService | None = None,
        *,
        authenticator: Authenticator,
    ) -> None:
        self._authenticator = authenticator
        self._service = service
        self._topics = topics
        self._public_url = public_url.rstrip("/") if public_url else None
        self._max_body_bytes = max_body_bytes
        self._instruments = instruments
        self._region = region

    def base_url(self, request: Request) -> str:
        if self._public_url:
            return self._public_url
        host = request.headers.get("host") or request.url.netloc
        return f"{request.url.scheme}://{host}"

    def route(self, op: Operation) -> Route:
        async def handle(request: Request) -> Response:
            return await self.handle(op, request)

        return Route(op.path, handle, methods=[op.method], name=op.id)

    async def handle(self, op: Operation, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        with request_context(request_id) as context:
            context.protocol = PROTOCOL
            context.action = op.id
            response = await self._answer(op, request, request_id, context)
            seconds = time.perf_counter() - started
            if self._instruments is not None:
                self._instruments.observe_request(PROTOCOL, op.id, response.status_code, seconds)
            access_log.info(
                "%s %s %d",
                PROTOCOL,
                op.id,
                response.status_code,
                extra={"status": response.status_code, "duration_ms": round(seconds * 1000, 3)},
            )
        return response

    async def _answer(
        self, op: Operation, request: Request, request_id: str, context: RequestContext
    ) -> Response:
        try:
            body = await self._read_body(request)
            caller = await auth.authenticate(
                self._authenticator,
                http_request(request, body),
                request.query_params,
                self._region,
            )
            context.account = caller.account_id
            if caller.key_policy is not None:
                raise ApiProblem(
                    403,
                    "AccessDenied",
                    "This key has a key policy, which only the AWS protocols evaluate: use "
                    "them, or a key without a policy, for the REST API.",
                )
            data = parse_json(body) if op.request is not None else {}
            call = Call(
                self._service,
                caller,
                self.base_url(request),
                request.path_params,
                request.query_params,
                Body(data),
                self._topics,
            )
            status, payload = await op.handler(call)
        except ApiProblem as problem:
            return problem_response(
                problem.status, problem.code, problem.detail, problem.aws_code, request_id
            )
        except BrokerError as error:
            status, code, aws_code = op.identity(error)
            if status >= 500:
                log.warning("REST %s failed: %s (request id %s)", op.id, error, request_id)
            return problem_response(status, code, error.message, aws_code, request_id)
        except Exception:
            log.exception("REST %s failed (request id %s)", op.id, request_id)
            return problem_response(
                500,
                "InternalFailure",
                f"An internal error occurred. Request id {request_id}.",
                "InternalError",
                request_id,
            )
        headers = {"x-request-id": request_id}
        if payload is None:
            return Response(status_code=status, headers=headers)
        return Response(
            orjson.dumps(payload),
            status_code=status,
            media_type="application/json",
            headers=headers,
        )

    async def _read_body(self, request: Request) -> bytes:
        limit = self._max_body_bytes
        too_large = ApiProblem(
            413, "RequestEntityTooLarge", f"The request body exceeds the limit of {limit} bytes."
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


def api_routes(
    service: BrokerService,
    public_url: str | None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    instruments: Instruments | None = None,
    region: str = "us-east-1",
    operations: Sequence[Operation] | None = None,
    topics: TopicService | None = None,
    *,
    authenticator: Authenticator,
) -> list[BaseRoute]:
    """The REST API under ``/v1``, its OpenAPI document at ``/openapi.json`` and a readable page
    at ``/docs``. Mount them before the AWS catch-all routes.

    ``operations`` defaults to the queue operations, plus the topic operations when ``topics``
    (the broker's ``TopicService``) is given."""
    if operations is None:
        operations = QUEUE_OPERATIONS + (TOPIC_OPERATIONS if topics is not None else ())
    endpoint = RestEndpoint(
        service,
        public_url,
        max_body_bytes,
        instruments,
        region,
        topics,
        authenticator=authenticator,
    )
    document = openapi_document(operations, public_url)
    page = docs_page(document)

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    async def docs(request: Request) -> Response:
        return HTMLResponse(page)

    return [
        Route("/openapi.json", openapi, methods=["GET"], name="openapi"),
        Route("/docs", docs, methods=["GET"], name="docs"),
        *(endpoint.route(op) for op in operations),
    ]
