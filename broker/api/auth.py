"""Credentials of REST requests, mapped to a ``Caller`` through the AWS adapter's one door.

Three schemes (HTTPS in production; the secret travels in the clear in the last two):

* ``Authorization: AWS4-HMAC-SHA256 Credential=...`` (what ``broker.sdk`` sends): handed unchanged
  to :func:`broker.protocols.aws.context.authenticate`, exactly like an SQS request, so the
  signature verification that function will gain covers the REST API with no change here.
* ``Authorization: Bearer <access-key-id>:<secret-access-key>`` (for curl).
* ``Authorization: Basic base64(<access-key-id>:<secret-access-key>)`` (``curl -u key:secret``).

The two simple schemes become a credential the same ``caller_for`` maps to an account. Secrets
are parsed, not yet verified, like SigV4 signatures today (see docs/rest-api.md).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from dataclasses import dataclass

from broker.api.problems import ApiProblem
from broker.core.models import Caller
from broker.protocols.aws.context import authenticate as aws_authenticate
from broker.protocols.aws.context import caller_for
from broker.protocols.aws.faults import AwsFault
from broker.protocols.aws.sigv4 import Credential, SignedRequest

REST_SCOPE_SERVICE = "broker"
"""The credential scope's service of a Bearer or Basic credential."""


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


def authenticate(headers: Mapping[str, str], query: Mapping[str, str], region: str) -> Caller:
    """The caller of a REST request; raises ``ApiProblem`` (401) without usable credentials."""
    authorization = headers.get("authorization") or ""
    try:
        secret = parse_secret_credential(authorization) if authorization else None
        if secret is None:
            _, caller = aws_authenticate(headers, query)
            return caller
    except AwsFault as fault:
        raise _unauthorized(fault.fault.query_code, fault.message) from None
    date = time.strftime("%Y%m%d", time.gmtime())
    signed = SignedRequest(
        credential=Credential(secret.access_key_id, date, region, REST_SCOPE_SERVICE),
        signed_headers=(),
        signature="",
        amz_date=None,
    )
    return caller_for(signed)


def _unauthorized(code: str, detail: str) -> ApiProblem:
    return ApiProblem(401, code, detail)
