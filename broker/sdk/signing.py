"""AWS Signature Version 4 for the SDK's requests (standard library only).

The broker authenticates REST requests through the same function as SQS requests; signing them
with SigV4 means the secret never travels and signature verification, when the broker adds it,
covers the SDK without a change.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def amz_date(moment: datetime | None = None) -> str:
    return (moment or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def canonical_query(query: Sequence[tuple[str, str]]) -> str:
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in query)
    return "&".join(f"{k}={v}" for k, v in encoded)


def sign(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    date: str,
) -> str:
    """The ``Authorization`` header value for a request with these (lower-case named) headers.

    ``path`` is the path as sent on the wire (already percent-encoded); like botocore for
    services other than S3, it is encoded once more in the canonical request.
    """
    names = sorted(headers)
    canonical_headers = "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names)
    signed_headers = ";".join(names)
    canonical = "\n".join(
        [
            method.upper(),
            quote(path or "/", safe="/~"),
            canonical_query(query),
            canonical_headers,
            signed_headers,
            _sha256(body),
        ]
    )
    scope = f"{date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, date, scope, _sha256(canonical.encode("utf-8"))])
    key = _hmac(("AWS4" + secret_access_key).encode("utf-8"), date[:8])
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={access_key_id}/{scope}, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
