"""The broker's ASGI application: a Starlette application whose ``POST /`` skips the router.

Nearly every request is an SDK call posted to ``/``. Through Starlette it would pass the error
middleware, the request limits, the exception middleware, the router and the endpoint wrapper,
each a coroutine and most a wrapped ``send``: about 10 us of CPU per request (of 150-450 us,
docs/performance.md). Those requests go to the AWS endpoint behind
their own request limits instead; the AWS endpoint answers its failures in its protocol's own
shape, so it needs none of the other layers. Everything else (health, metrics, the REST and
admin APIs, the lifespan, Query requests posted to a queue URL) goes through Starlette.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Lifespan, Receive, Scope, Send


class FrontDoor(Starlette):
    def __init__(self, aws: ASGIApp, routes: Sequence[BaseRoute], lifespan: Lifespan[Any]) -> None:
        super().__init__(routes=routes, lifespan=lifespan)
        self.aws = aws

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] == "POST":
            scope["app"] = self
            await self.aws(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)
