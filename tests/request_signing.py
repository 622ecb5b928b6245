"""SigV4 signing of test requests with botocore (an implementation independent of the broker's).

``Resigner`` is an ``httpx.Auth``: a request carrying an ``AWS4-HMAC-SHA256`` Authorization
header is signed afresh for the key, region and service its credential scope names, with the
secret the table gives for that key, so tests can write a placeholder header and still send a
valid signature. Requests with any other Authorization header pass unchanged.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from datetime import UTC, datetime

import httpx
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TEST_ACCESS_KEY = "AKIDTEST"
TEST_SECRET_KEY = "secret"
ACCEPT_ACCESS_KEY = "AKIDEXAMPLE"
TEST_SECRETS = {TEST_ACCESS_KEY: TEST_SECRET_KEY, ACCEPT_ACCESS_KEY: TEST_SECRET_KEY}

_NOT_SIGNED = {"authorization", "x-amz-date", "user-agent", "content-length", "connection"}


def sign_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
    region: str = "us-east-1",
    service: str = "sqs",
) -> dict[str, str]:
    """``headers`` plus ``X-Amz-Date`` and ``Authorization`` signing the request (botocore)."""
    request = AWSRequest(
        method=method,
        url=url,
        data=body,
        headers={k: v for k, v in headers.items() if k.lower() not in _NOT_SIGNED},
    )
    SigV4Auth(Credentials(access_key, secret_key), service, region).add_auth(request)
    return dict(request.headers.items())


def scope_of(authorization: str) -> tuple[str, str, str] | None:
    """``(access key id, region, service)`` of a SigV4 Authorization header."""
    if not authorization.startswith("AWS4-HMAC-SHA256"):
        return None
    credential = authorization.split("Credential=", 1)[1].split(",", 1)[0].strip()
    parts = credential.split("/")
    if len(parts) != 5:
        return None
    return parts[0], parts[2], parts[3]


class Resigner(httpx.Auth):
    requires_request_body = True

    def __init__(self, secrets: Mapping[str, str] | None = None) -> None:
        self.secrets = dict(TEST_SECRETS if secrets is None else secrets)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        scope = scope_of(request.headers.get("authorization", ""))
        if scope is not None and scope[0] in self.secrets:
            key, region, service = scope
            headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
            signed = sign_headers(
                request.method,
                str(request.url),
                headers,
                request.content,
                key,
                self.secrets[key],
                region,
                service,
            )
            for name in ("X-Amz-Date", "Authorization"):
                request.headers[name] = signed[name]
        yield request


def presigned_url(
    url: str,
    access_key: str,
    secret_key: str,
    when: datetime,
    expires: int = 300,
    region: str = "us-east-1",
    service: str = "sns",
) -> str:
    """``url`` presigned for GET by botocore as if the client's clock read ``when``."""
    from unittest import mock

    request = AWSRequest(method="GET", url=url, headers={})
    auth = SigV4QueryAuth(Credentials(access_key, secret_key), service, region, expires=expires)
    naive = when.astimezone(UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=naive):
        auth.add_auth(request)
    return str(request.url)
