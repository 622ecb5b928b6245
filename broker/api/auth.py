"""Credentials of REST requests, verified through the AWS adapter's one door.

Three schemes (HTTPS in production; the secret travels in the clear in the last two):

* ``Authorization: AWS4-HMAC-SHA256 Credential=...`` (what ``broker.sdk`` sends): verified by
  :meth:`broker.protocols.aws.context.Authenticator.authenticate`, exactly like an SQS request.
* ``Authorization: Bearer <access-key-id>:<secret-access-key>`` (for curl).
* ``Authorization: Basic base64(<access-key-id>:<secret-access-key>)`` (``curl -u key:secret``).

The two simple schemes are checked against the same keys, in constant time.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from broker.api.problems import ApiProblem
from broker.core.models import Caller
from broker.protocols.aws.context import AWS_SERVICES, Authenticator, ThrottledFault
from broker.protocols.aws.faults import AwsFault
from broker.protocols.aws.verification import HttpRequest

REST_SCOPE_SERVICES = AWS_SERVICES | {"broker"}
"""Credential scope services a signed REST request may name (the SDK signs as ``sqs``)."""


@dataclass(frozen=True)
class SecretCredential:
    access_key_id: str
    secret_access_key: str


def parse_secret_credential(authorization: str) -> SecretCredential | None:
    """The key pair of a ``Bearer key:secret`` or ``Basic`` header; ``None`` for other schemes."""
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        text = value
    elif scheme.lower() == "basic":
        try:
            text = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError, UnicodeError):
            raise _unauthorized(
                "IncompleteSignature", "Basic credentials are not base64."
            ) from None
    else:
        return None
    key, sep, secret = text.partition(":")
    if not sep or not key or not secret:
        raise _unauthorized(
            "IncompleteSignature",
            f"{scheme.capitalize()} credentials must be <access-key-id>:<secret-access-key>.",
        )
    return SecretCredential(key, secret)


async def authenticate(
    authenticator: Authenticator,
    request: HttpRequest,
    query: Mapping[str, str],
    region: str,
) -> Caller:
    """The caller of a REST request; raises ``ApiProblem`` (401, or 429 when throttled)."""
    authorization = next((v for n, v in request.headers if n == "authorization"), "")
    try:
        secret = parse_secret_credential(authorization) if authorization else None
        if secret is None:
            _, caller = await authenticator.authenticate(request, query, REST_SCOPE_SERVICES)
            return caller
        return await authenticator.secret_caller(
            secret.access_key_id, secret.secret_access_key, region
        )
    except ThrottledFault as fault:
        raise ApiProblem(429, "Throttled", fault.message, "RequestThrottled") from None
    except AwsFault as fault:
        raise _unauthorized(fault.fault.query_code, fault.message) from None


def _unauthorized(code: str, detail: str) -> ApiProblem:
    return ApiProblem(401, code, detail)
