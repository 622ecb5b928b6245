"""Parsing of AWS Signature Version 4 credentials, from the header or a presigned query.

Only the syntax is checked here. Everything a later verification needs (scope, signed header
names, signature, request date, session token) is kept on ``SignedRequest`` so adding signature
checks changes what consumes it, not this parser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from broker.protocols.aws.faults import (
    INCOMPLETE_SIGNATURE,
    MISSING_AUTHENTICATION_TOKEN,
    AwsFault,
)

ALGORITHM = "AWS4-HMAC-SHA256"

_SCOPE_DATE = re.compile(r"\d{8}")
_SIGNATURE = re.compile(r"[0-9a-fA-F]+")


@dataclass(frozen=True)
class Credential:
    """``<access key id>/<yyyymmdd>/<region>/<service>/aws4_request``."""

    access_key_id: str
    date: str
    region: str
    service: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True)
class SignedRequest:
    credential: Credential
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str | None
    """``X-Amz-Date`` (``yyyymmddThhmmssZ``) when sent; the string to sign starts with it."""
    security_token: str | None = None
    presigned: bool = False
    expires: int | None = None
    """Presigned URLs only: seconds of validity after ``amz_date``."""


def parse_credential(value: str) -> Credential:
    parts = value.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        raise AwsFault(
            INCOMPLETE_SIGNATURE,
            f"Credential should be scoped to a valid region and service, "
            f"in the form <key>/<date>/<region>/<service>/aws4_request; got '{value}'.",
        )
    access_key_id, date, region, service, _ = parts
    if not _SCOPE_DATE.fullmatch(date):
        raise AwsFault(INCOMPLETE_SIGNATURE, f"Credential date '{date}' is not yyyyMMdd.")
    return Credential(access_key_id, date, region, service)


def _parse_signed_headers(value: str) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not all(names):
        raise AwsFault(INCOMPLETE_SIGNATURE, f"SignedHeaders '{value}' is malformed.")
    return names


def _check_signature(value: str) -> str:
    if not _SIGNATURE.fullmatch(value):
        raise AwsFault(INCOMPLETE_SIGNATURE, "Signature must be hexadecimal.")
    return value


def parse_authorization_header(value: str, headers: Mapping[str, str]) -> SignedRequest:
    """Parse ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...``.

    ``headers`` must look names up case-insensitively or by lower-case name (starlette's
    ``Headers`` does).
    """
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AwsFault(
            INCOMPLETE_SIGNATURE,
            f"Unsupported authorization algorithm '{algorithm}'; expected {ALGORITHM}.",
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, field_value = part.strip().partition("=")
        if sep:
            fields[name] = field_value
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if not fields.get(n)]
    if missing:
        raise AwsFault(
            INCOMPLETE_SIGNATURE,
            " ".join(f"Authorization header requires '{n}' parameter." for n in missing)
            + f" Authorization={value}",
        )
    return SignedRequest(
        credential=parse_credential(fields["Credential"]),
        signed_headers=_parse_signed_headers(fields["SignedHeaders"]),
        signature=_check_signature(fields["Signature"]),
        amz_date=headers.get("x-amz-date") or headers.get("date"),
        security_token=headers.get("x-amz-security-token"),
    )


def parse_presigned_query(query: Mapping[str, str]) -> SignedRequest:
    """Parse the ``X-Amz-*`` parameters of a presigned URL."""
    algorithm = query.get("X-Amz-Algorithm", "")
    if algorithm != ALGORITHM:
        raise AwsFault(
            INCOMPLETE_SIGNATURE,
            f"Unsupported X-Amz-Algorithm '{algorithm}'; expected {ALGORITHM}.",
        )
    required = ("X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date")
    missing = [n for n in required if not query.get(n)]
    if missing:
        raise AwsFault(
            INCOMPLETE_SIGNATURE,
            " ".join(f"AWS query-string parameters must include '{n}'." for n in missing),
        )
    expires_text = query.get("X-Amz-Expires")
    expires: int | None = None
    if expires_text is not None:
        if not expires_text.isdigit():
            raise AwsFault(INCOMPLETE_SIGNATURE, "X-Amz-Expires must be a number of seconds.")
        expires = int(expires_text)
    return SignedRequest(
        credential=parse_credential(query["X-Amz-Credential"]),
        signed_headers=_parse_signed_headers(query["X-Amz-SignedHeaders"]),
        signature=_check_signature(query["X-Amz-Signature"]),
        amz_date=query["X-Amz-Date"],
        security_token=query.get("X-Amz-Security-Token"),
        presigned=True,
        expires=expires,
    )


def parse_signed_request(headers: Mapping[str, str], query: Mapping[str, str]) -> SignedRequest:
    """The request's SigV4 credentials: the ``Authorization`` header, else a presigned query."""
    authorization = headers.get("authorization")
    if authorization:
        return parse_authorization_header(authorization, headers)
    if "X-Amz-Algorithm" in query or "X-Amz-Credential" in query:
        return parse_presigned_query(query)
    raise AwsFault(MISSING_AUTHENTICATION_TOKEN, "Request is missing Authentication Token")
