"""HTTP for the clients: connection pools (httpx), SigV4 signing, timeouts, retries, errors.

Retried, with exponential backoff and full jitter: connection errors and timeouts, 429 and 5xx
answers. Not retried: other 4xx answers (the request itself is wrong). A send retried after a
lost answer may be stored twice, as with any SQS client (at-least-once); FIFO queues deduplicate.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from broker.sdk import errors, signing
from broker.sdk.wire import Req

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
SIGNING_SERVICE = "sqs"
USER_AGENT = "pgbroker-sdk/0.1"


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` tries in all; the n-th retry waits a random time in
    ``[0, min(max_delay, base_delay * 2**n)]`` (full jitter)."""

    max_attempts: int = 4
    base_delay: float = 0.1
    max_delay: float = 5.0

    def delay(self, retry: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * (2**retry)))


@dataclass(frozen=True)
class ClientConfig:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"
    timeout: float = 10.0
    """Seconds to connect, and to wait for an answer beyond a long poll's own wait."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_connections: int = 20

    def __post_init__(self) -> None:
        if not urlsplit(self.endpoint_url).netloc:
            raise ValueError(f"endpoint_url must be an absolute URL, not {self.endpoint_url!r}")

    @property
    def limits(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self.max_connections, max_keepalive_connections=self.max_connections
        )


def build_request(
    config: ClientConfig, client: httpx.Client | httpx.AsyncClient, req: Req
) -> httpx.Request:
    content = b"" if req.body is None else json.dumps(req.body, separators=(",", ":")).encode()
    url = httpx.URL(config.endpoint_url.rstrip("/") + req.path, params=req.query or None)
    date = signing.amz_date()
    headers = {"host": url.netloc.decode("ascii"), "x-amz-date": date}
    if req.body is not None:
        headers["content-type"] = "application/json"
    authorization = signing.sign(
        req.method,
        url.raw_path.split(b"?", 1)[0].decode("ascii"),
        req.query,
        headers,
        content,
        config.access_key_id,
        config.secret_access_key,
        config.region,
        SIGNING_SERVICE,
        date,
    )
    timeout = httpx.Timeout(config.timeout, read=config.timeout + req.wait_seconds)
    return client.build_request(
        req.method,
        url,
        content=content if req.body is not None else None,
        headers={**headers, "authorization": authorization, "user-agent": USER_AGENT},
        timeout=timeout,
    )


def decode(response: httpx.Response) -> Any:
    """The answer's JSON (``None`` for 204); raises the ``ApiError`` subclass of an error."""
    if response.status_code < 400:
        if response.status_code == 204 or not response.content:
            return None
        return response.json()
    try:
        body = response.json()
    except ValueError:
        body = None
    request_id = response.headers.get("x-request-id")
    if isinstance(body, dict) and "code" in body:
        code = str(body["code"])
        cls = errors.error_class(response.status_code, code)
        raise cls(
            response.status_code,
            code,
            str(body.get("detail", "")),
            body.get("aws_code"),
            request_id,
            body,
        )
    cls = errors.error_class(response.status_code, "")
    raise cls(
        response.status_code, f"HTTP{response.status_code}", response.text[:500], None, request_id
    )


def transport_error(exc: httpx.TransportError) -> errors.TransportError:
    if isinstance(exc, httpx.TimeoutException):
        return errors.RequestTimeout(f"request timed out: {exc!r}")
    return errors.TransportError(f"request failed: {exc!r}")


class Retrier:
    """Counts attempts and says how long to wait before the next one (``None``: give up)."""

    def __init__(self, policy: RetryPolicy, rng: random.Random) -> None:
        self._policy = policy
        self._rng = rng
        self.attempt = 0

    def next_delay(self) -> float | None:
        self.attempt += 1
        if self.attempt >= self._policy.max_attempts:
            return None
        return self._policy.delay(self.attempt - 1, self._rng)


def should_retry(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES


Sleep = Callable[[float], None]
