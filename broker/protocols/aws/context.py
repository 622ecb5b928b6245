"""Who is calling and how to answer: the per-request facts every AWS handler needs.

``Authenticator.authenticate`` is the one door every AWS request (and every REST request) passes:
it parses the SigV4 credentials, finds the access key, verifies the signature and the request
time, applies the per-account rate limit and names the caller. A route added later gets all of
that by calling it; nothing else maps a request to an account.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.requests import Request

from broker.core.accounts import Credential
from broker.core.identifiers import random_uuid
from broker.core.models import Caller
from broker.core.rate_limits import RateLimiter
from broker.protocols.aws.faults import (
    INVALID_CLIENT_TOKEN_ID,
    SIGNATURE_DOES_NOT_MATCH,
    THROTTLING,
    AwsFault,
)
from broker.protocols.aws.sigv4 import SignedRequest, parse_signed_request
from broker.protocols.aws.verification import HttpRequest, verify

AWS_SERVICES = frozenset({"sqs", "sns", "events"})
"""The credential scope services the AWS endpoint answers."""

audit = logging.getLogger("broker.audit")


class ThrottledFault(AwsFault):
    """The caller's account is over its request rate; each protocol answers with its own code."""

    def __init__(self, account_id: str) -> None:
        super().__init__(THROTTLING, f"Rate exceeded for account {account_id}.")


class CredentialSource(Protocol):
    async def credential(self, access_key_id: str) -> Credential | None: ...

    def used(self, access_key_id: str) -> None: ...


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    caller: Caller
    signed: SignedRequest
    base_url: str
    """Where queue URLs point: the configured public URL, else this request's scheme and host."""


def new_request_id() -> str:
    return random_uuid()


def http_request(request: Request, body: bytes) -> HttpRequest:
    """The signed parts of a starlette request, as they arrived."""
    raw_path = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    headers = [
        (name.decode("latin-1").lower(), value.decode("latin-1"))
        for name, value in request.headers.raw
    ]
    client = request.client.host if request.client else ""
    return HttpRequest(request.method, path.split("?", 1)[0], query, headers, body, client=client)


class Authenticator:
    def __init__(
        self,
        credentials: CredentialSource,
        regions: Collection[str] = (),
        rate_limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self.regions = frozenset(regions)
        """Regions a credential scope may name; empty: any."""
        self._rate_limiter = rate_limiter
        self._clock = clock

    async def authenticate(
        self,
        request: HttpRequest,
        params: Mapping[str, str],
        services: Collection[str] = AWS_SERVICES,
    ) -> tuple[SignedRequest, Caller]:
        """The verified caller of ``request``; ``params`` are its query (and form) parameters.

        Raises ``AwsFault``: MissingAuthenticationToken, IncompleteSignature,
        InvalidClientTokenId, SignatureDoesNotMatch, RequestExpired, or ``ThrottledFault``.
        """
        headers = _Headers(request.headers)
        key_id = ""
        try:
            signed = parse_signed_request(headers, params)
            key_id = signed.credential.access_key_id
            self._check_scope(signed, services)
            credential = await self._credentials.credential(key_id)
            if credential is None:
                raise AwsFault(
                    INVALID_CLIENT_TOKEN_ID,
                    "The security token included in the request is invalid.",
                )
            verify(request, signed, credential.secret_access_key, self._now())
        except AwsFault as fault:
            audit.warning(
                "authentication failed: %s",
                fault.fault.query_code,
                extra={
                    "event": "auth.failure",
                    "code": fault.fault.query_code,
                    "access_key_id": key_id,
                    "client": request.client,
                    "reason": fault.message[:200],
                },
            )
            raise
        self._credentials.used(key_id)
        if self._rate_limiter is not None and not self._rate_limiter.allow(credential.account_id):
            raise ThrottledFault(credential.account_id)
        caller = Caller(
            account_id=credential.account_id,
            access_key_id=credential.access_key_id,
            region=signed.credential.region,
            admin=credential.admin,
            key_policy=credential.policy,
        )
        return signed, caller

    async def secret_caller(self, access_key_id: str, secret: str, region: str) -> Caller:
        """The caller of a request that sends the secret itself (REST Bearer and Basic)."""
        credential = await self._credentials.credential(access_key_id)
        if credential is None:
            fault = AwsFault(
                INVALID_CLIENT_TOKEN_ID, "The security token included in the request is invalid."
            )
        elif not hmac.compare_digest(
            credential.secret_access_key.encode("utf-8"), secret.encode("utf-8")
        ):
            fault = AwsFault(SIGNATURE_DOES_NOT_MATCH, "The secret access key is not valid.")
        else:
            self._credentials.used(access_key_id)
            if self._rate_limiter is not None and not self._rate_limiter.allow(
                credential.account_id
            ):
                raise ThrottledFault(credential.account_id)
            return Caller(
                account_id=credential.account_id,
                access_key_id=access_key_id,
                region=region,
                admin=credential.admin,
                key_policy=credential.policy,
            )
        audit.warning(
            "authentication failed: %s",
            fault.fault.query_code,
            extra={
                "event": "auth.failure",
                "code": fault.fault.query_code,
                "access_key_id": access_key_id,
            },
        )
        raise fault

    def _check_scope(self, signed: SignedRequest, services: Collection[str]) -> None:
        scope = signed.credential
        if scope.service not in services:
            raise AwsFault(
                SIGNATURE_DOES_NOT_MATCH,
                f"Credential should be scoped to correct service: one of "
                f"{', '.join(sorted(services))}; got '{scope.service}'.",
            )
        if self.regions and scope.region not in self.regions:
            raise AwsFault(
                SIGNATURE_DOES_NOT_MATCH,
                f"Credential should be scoped to a valid region, not '{scope.region}'.",
            )

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)


class _Headers(Mapping[str, str]):
    """Case-insensitive first-value lookup over raw header pairs (what the SigV4 parser reads)."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._values: dict[str, str] = {}
        for name, value in pairs:
            self._values.setdefault(name.lower(), value)

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:
        # Mapping.get would raise and catch a KeyError for every absent header (a few us each,
        # and the parser asks for several that SDKs rarely send).
        return self._values.get(name.lower(), default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)
