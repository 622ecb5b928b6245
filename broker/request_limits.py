"""The request body limit and the body read timeout, enforced in front of every route.

``RequestLimits`` is ASGI middleware: it reads the whole body before the application sees the
request, so no endpoint starts parsing a body that is too large or still arriving. A declared
``Content-Length`` past the limit is refused without reading a byte; a chunked body is counted as
it arrives and refused at the first chunk past the limit; a body that takes longer than the read
timeout (a slow or stalled client) is refused too. Refusals have the shape of the route: an AWS
error of the request's protocol (413 ``RequestEntityTooLarge``, 408 ``RequestTimeout``), or a
problem+json object on the REST API (``/v1/...``). Each refusal is counted in the request metrics
and logged like any answered request (action ``unknown``: the body was never parsed).
"""

from __future__ import annotations

import asyncio
import logging
import time

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broker.api.problems import problem_response
from broker.metrics.instruments import UNKNOWN, Instruments
from broker.protocols.aws import faults
from broker.protocols.aws.context import new_request_id
from broker.protocols.aws.faults import Fault
from broker.protocols.aws.refusals import protocol_of, refusal

REST_PREFIX = "/v1/"
access_log = logging.getLogger("broker.access")


class BodyRefused(Exception):
    def __init__(self, fault: Fault, message: str) -> None:
        super().__init__(message)
        self.fault = fault
        self.message = message


class ClientGone(Exception):
    """The client disconnected before its body was complete."""


class RequestLimits:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int,
        body_timeout_seconds: float,
        instruments: Instruments | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_seconds = body_timeout_seconds
        self.instruments = instruments

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            body = await self._read(_content_length(scope), receive)
        except BodyRefused as refused:
            headers = Headers(scope=scope)
            await self._refusal(scope, headers, refused)(scope, receive, send)
            self._observe(scope, headers, refused.fault.status, time.perf_counter() - started)
            return
        except ClientGone:
            return  # nobody to answer
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # later calls: a disconnect, as the server reports it

        await self.app(scope, replay, send)

    def _observe(self, scope: Scope, headers: Headers, status: int, seconds: float) -> None:
        rest = str(scope.get("path", "")).startswith(REST_PREFIX)
        protocol = "rest" if rest else protocol_of(headers)
        if self.instruments is not None:
            self.instruments.observe_request(protocol, UNKNOWN, status, seconds)
        access_log.info(
            "%s %s %d",
            protocol,
            UNKNOWN,
            status,
            extra={"status": status, "duration_ms": round(seconds * 1000, 3)},
        )

    async def _read(self, declared: bytes, receive: Receive) -> bytes:
        limit = self.max_body_bytes
        if declared.isdigit() and int(declared) > limit:
            raise self._too_large()
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout_seconds):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ClientGone
                    chunk: bytes = message.get("body", b"")
                    size += len(chunk)
                    if size > limit:
                        raise self._too_large()
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise BodyRefused(
                faults.REQUEST_TIMEOUT,
                f"The request body did not arrive within {self.body_timeout_seconds:g} s.",
            ) from None
        return b"".join(chunks)

    def _too_large(self) -> BodyRefused:
        return BodyRefused(
            faults.REQUEST_ENTITY_TOO_LARGE,
            f"The request body exceeds the limit of {self.max_body_bytes} bytes.",
        )

    def _refusal(self, scope: Scope, headers: Headers, refused: BodyRefused) -> Response:
        response: Response
        if str(scope.get("path", "")).startswith(REST_PREFIX):
            code = refused.fault.query_code
            response = problem_response(
                refused.fault.status, code, refused.message, code, new_request_id()
            )
        else:
            response = refusal(headers, refused.fault, refused.message)
        # The rest of the body is not read: the connection cannot carry another request.
        response.headers["connection"] = "close"
        return response


def _content_length(scope: Scope) -> bytes:
    """The declared ``Content-Length`` (b"" when absent); a scan of the raw pairs costs less than
    building ``Headers`` for every request (ASGI servers send header names in lower case)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return bytes(value)
    return b""
