"""Verification of AWS Signature Version 4: the canonical request, the string to sign, the key.

The request is rebuilt exactly as the SDKs sign it (botocore, the JS SDK v3): the path as sent,
encoded once more; the query re-encoded and sorted; the signed headers trimmed; the payload hash
from ``x-amz-content-sha256`` or the body. Signatures are compared in constant time and the
derived signing keys (one per secret, day, region and service) are cached.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from broker.protocols.aws.faults import (
    INCOMPLETE_SIGNATURE,
    REQUEST_EXPIRED,
    SIGNATURE_DOES_NOT_MATCH,
    AwsFault,
)
from broker.protocols.aws.sigv4 import ALGORITHM, SignedRequest

MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGNED_SECONDS = 7 * 24 * 3600
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_AMZ_DATE_PATTERN = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SPACES = re.compile(r"\s+")

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an HTTP request a signature covers, as they arrived on the wire."""

    method: str
    path: str
    """Percent-encoded as sent, without the query string."""
    query: str
    """The raw query string, without ``?``."""
    headers: Sequence[tuple[str, str]]
    """Every header in arrival order, names in lower case."""
    body: bytes
    client: str = ""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


@functools.lru_cache(maxsize=4096)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret).encode("utf-8"), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def canonical_path(path: str) -> str:
    """Dot segments and repeated slashes removed, then encoded once more (all but S3)."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normalized = "/" + "/".join(segments)
    if path.endswith("/") and segments:
        normalized += "/"
    return quote(normalized, safe="/~")


def canonical_query(query: str, presigned: bool) -> str:
    pairs: list[tuple[str, str]] = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = quote(unquote(name), safe="-_.~")
        if presigned and name == "X-Amz-Signature":
            continue
        pairs.append((name, quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_headers(headers: Sequence[tuple[str, str]], names: Sequence[str]) -> str:
    values: dict[str, list[str]] = {name: [] for name in names}
    for name, value in headers:
        if name in values:
            values[name].append(_SPACES.sub(" ", value.strip()))
    return "".join(f"{name}:{','.join(values[name])}\n" for name in names)


def canonical_request(request: HttpRequest, signed: SignedRequest, payload_hash: str) -> str:
    return "\n".join(
        [
            request.method.upper(),
            canonical_path(request.path or "/"),
            canonical_query(request.query, signed.presigned),
            canonical_headers(request.headers, signed.signed_headers),
            ";".join(signed.signed_headers),
            payload_hash,
        ]
    )


def string_to_sign(signed: SignedRequest, amz_date: str, canonical: str) -> str:
    return "\n".join(
        [ALGORITHM, amz_date, signed.credential.scope, _sha256(canonical.encode("utf-8"))]
    )


def request_time(signed: SignedRequest) -> datetime:
    if not signed.amz_date:
        raise AwsFault(
            INCOMPLETE_SIGNATURE,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    match = _AMZ_DATE_PATTERN.fullmatch(signed.amz_date)
    try:
        if match is None:
            raise ValueError(signed.amz_date)
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise AwsFault(
            INCOMPLETE_SIGNATURE,
            f"Date must be in ISO-8601 'basic format'. Got '{signed.amz_date}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601",
        ) from None


def check_time(signed: SignedRequest, now: datetime) -> None:
    """Refuse a request signed too long ago (or too far ahead), or a presigned URL past its life."""
    moment = request_time(signed)
    text = signed.amz_date or ""
    if signed.credential.date != text[:8]:
        raise AwsFault(
            SIGNATURE_DOES_NOT_MATCH,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{signed.credential.date}' != '{text[:8]}', from '{text}'.",
        )
    if moment - now > MAX_SKEW:
        raise AwsFault(
            SIGNATURE_DOES_NOT_MATCH,
            f"Signature not yet current: {text} is still later than "
            f"{(now + MAX_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} + 15 min.)",
        )
    if signed.presigned:
        expires = signed.expires if signed.expires is not None else int(MAX_SKEW.total_seconds())
        if expires > MAX_PRESIGNED_SECONDS:
            raise AwsFault(
                INCOMPLETE_SIGNATURE,
                f"X-Amz-Expires must be less than a week (in seconds) that is "
                f"{MAX_PRESIGNED_SECONDS}.",
            )
        if now > moment + timedelta(seconds=expires):
            raise AwsFault(REQUEST_EXPIRED, "Request has expired.")
        return
    if now - moment > MAX_SKEW:
        raise AwsFault(
            SIGNATURE_DOES_NOT_MATCH,
            f"Signature expired: {text} is now earlier than "
            f"{(now - MAX_SKEW).strftime(_AMZ_DATE)} ({now.strftime(_AMZ_DATE)} - 15 min.)",
        )


def _payload_hashes(request: HttpRequest, signed: SignedRequest) -> list[str]:
    declared = next((v.strip() for n, v in request.headers if n == "x-amz-content-sha256"), None)
    if declared is not None and declared != UNSIGNED_PAYLOAD:
        if not _HEX64.fullmatch(declared) or declared != _sha256(request.body):
            raise AwsFault(
                SIGNATURE_DOES_NOT_MATCH,
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
            )
        return [declared]
    if declared == UNSIGNED_PAYLOAD:
        return [UNSIGNED_PAYLOAD]
    if signed.presigned:  # botocore hashes the (empty) body; S3-style signers say UNSIGNED
        return [_sha256(request.body), UNSIGNED_PAYLOAD]
    return [_sha256(request.body)]


def verify(request: HttpRequest, signed: SignedRequest, secret: str, now: datetime) -> None:
    """Raise ``AwsFault`` unless ``signed`` is a current signature of ``request`` by ``secret``."""
    if "host" not in signed.signed_headers:
        raise AwsFault(
            SIGNATURE_DOES_NOT_MATCH,
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        )
    check_time(signed, now)
    amz_date = signed.amz_date or ""
    scope = signed.credential
    key = signing_key(secret, scope.date, scope.region, scope.service)
    given = signed.signature.lower()
    for payload_hash in _payload_hashes(request, signed):
        canonical = canonical_request(request, signed, payload_hash)
        expected = hmac.new(
            key, string_to_sign(signed, amz_date, canonical).encode("utf-8"), hashlib.sha256
        ).hexdigest()
        if hmac.compare_digest(expected, given):
            return
    raise AwsFault(SIGNATURE_DOES_NOT_MATCH, SIGNATURE_MISMATCH)
