"""Event-rule HTTP targets (API destinations), delivered from the shared outbox.

The deliverer hands every claimed ``events`` row here. One POST (or the destination's method)
with the connection's authorisation: an API key header, basic auth, or an OAuth bearer token
fetched with client credentials from the connection's authorisation endpoint and cached until
shortly before it expires (and refetched after a 401). Each destination's
``InvocationRateLimitPerSecond`` holds per process (a token bucket). Failures are retried with
exponential backoff while the target's RetryPolicy allows (``MaximumRetryAttempts``,
``MaximumEventAgeInSeconds``); a 4xx other than 401, 407, 409 and 429 is not retried. When a
delivery gives up, its payload goes to the target's dead-letter queue with the attributes
EventBridge sets (``RULE_ARN``, ``TARGET_ARN``, ``ERROR_CODE``, ``ERROR_MESSAGE``,
``EXHAUSTED_RETRY_CONDITION``, ``RETRY_ATTEMPTS``).
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from broker.core.event_models import Connection, bus_of_rule
from broker.core.event_names import account_of
from broker.core.event_ports import EventObserver, NullEventObserver
from broker.core.ports import Outbox, Signal
from broker.core.rate_limits import TokenBuckets
from broker.core.topic_models import ClaimedDelivery

log = logging.getLogger(__name__)

USER_AGENT = "Amazon/EventBridge/ApiDestinations"
RETRYABLE_STATUSES = frozenset({401, 407, 409, 429})
MAX_BACKOFF_SECONDS = 300.0
TOKEN_MARGIN_SECONDS = 30.0
CONNECTION_CACHE_SECONDS = 5.0
API_DESTINATION = "api_destination"


class EventDeadLetters(Protocol):
    async def dead_letter_event_delivery(
        self, delivery_id: int, attempts: int, attributes: Mapping[str, str], account_id: str
    ) -> int | None: ...


@dataclass
class _Token:
    value: str
    expires_at: float


class _Failure(Exception):
    def __init__(self, code: str, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class EventTargetPoster:
    def __init__(
        self,
        outbox: Outbox,
        dead_letters: EventDeadLetters,
        connections: Callable[[str], Awaitable[Connection | None]],
        signal: Signal,
        *,
        backoff_seconds: float = 1.0,
    ) -> None:
        self._outbox = outbox
        self._dead_letters = dead_letters
        self._connections = connections
        self._signal = signal
        self.backoff_seconds = backoff_seconds
        self._buckets = TokenBuckets()
        self._tokens: dict[str, _Token] = {}
        self._cached: dict[str, tuple[float, Connection | None]] = {}
        self.observer: EventObserver = NullEventObserver()

    async def deliver(self, delivery: ClaimedDelivery, client: httpx.AsyncClient) -> None:
        details: Mapping[str, Any] = delivery.details or {}
        bus = bus_of_rule(str(details.get("rule_arn", delivery.topic_arn)))
        rate = details.get("rate_limit")
        if not self._buckets.take(delivery.subscription_arn, rate):
            await self._outbox.retry_delivery(
                delivery.id, delivery.attempts, 1.0 / (rate or 1), count_attempt=False
            )
            self.observer.target_throttled(bus)
            return
        try:
            await self._post(delivery, details, client)
        except _Failure as failure:
            self.observer.target_failed(bus, API_DESTINATION, 1)
            await self._failed(delivery, details, failure, bus)
            return
        await self._outbox.complete_delivery(delivery.id, delivery.attempts)
        self.observer.targets_invoked(bus, API_DESTINATION, 1)

    async def _failed(
        self,
        delivery: ClaimedDelivery,
        details: Mapping[str, Any],
        failure: _Failure,
        bus: str,
    ) -> None:
        max_attempts = int(details.get("max_attempts", 1))
        delay = self.backoff_seconds * 2 ** (delivery.attempts - 1)
        delay = min(delay, MAX_BACKOFF_SECONDS)
        expired = time.time() + delay > float(details.get("deadline", 0))
        if failure.retryable and delivery.attempts < max_attempts and not expired:
            await self._outbox.retry_delivery(delivery.id, delivery.attempts, delay, True)
            self.observer.target_retried(bus)
            return
        attributes = {
            "RULE_ARN": str(details.get("rule_arn", delivery.topic_arn)),
            "TARGET_ARN": str(details.get("target_arn", delivery.subscription_arn)),
            "ERROR_CODE": failure.code,
            "ERROR_MESSAGE": failure.message[:1000],
            "RETRY_ATTEMPTS": str(delivery.attempts - 1),
        }
        if failure.retryable:
            attributes["EXHAUSTED_RETRY_CONDITION"] = (
                "MaximumEventAgeInSeconds" if expired else "MaximumRetryAttempts"
            )
        log.warning(
            "event %s to %s failed %d times (%s); %s",
            delivery.message_id,
            delivery.endpoint,
            delivery.attempts,
            failure.code,
            "moved to its dead-letter queue" if delivery.dead_letter_arn else "dropped",
        )
        queue_id = await self._dead_letters.dead_letter_event_delivery(
            delivery.id, delivery.attempts, attributes, account_of(attributes["RULE_ARN"]) or ""
        )
        self.observer.target_dead_lettered(bus)
        if queue_id is not None:
            self._signal.sent(queue_id, 1)

    async def _connection(self, arn: str) -> Connection | None:
        cached = self._cached.get(arn)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        found = await self._connections(arn)
        self._cached[arn] = (time.monotonic() + CONNECTION_CACHE_SECONDS, found)
        return found

    async def _post(
        self, delivery: ClaimedDelivery, details: Mapping[str, Any], client: httpx.AsyncClient
    ) -> None:
        connection = await self._connection(str(details.get("connection_arn", "")))
        if connection is None:
            raise _Failure("NO_RESOURCE", "The connection of the API destination is gone.", False)
        if connection.state != "AUTHORIZED":
            raise _Failure("NO_PERMISSIONS", f"The connection is {connection.state}.", False)
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
        params: dict[str, str] = {}
        invocation = connection.auth_parameters.get("InvocationHttpParameters") or {}
        _add_parameters(invocation, headers, params)
        target = details.get("http_parameters") or {}
        for key, value in (target.get("HeaderParameters") or {}).items():
            headers[key] = str(value)
        for key, value in (target.get("QueryStringParameters") or {}).items():
            params[key] = str(value)
        url = _with_path_values(delivery.endpoint, target.get("PathParameterValues") or [])
        auth = await self._authorisation(connection, client)
        headers.update(auth)
        method = str(details.get("http_method", "POST"))
        content = delivery.body.encode() if method not in ("GET", "HEAD") else None
        try:
            response = await client.request(
                method, url, content=content, headers=headers, params=params
            )
        except httpx.HTTPError as exc:
            raise _Failure("TIMEOUT", f"{type(exc).__name__}: {exc}", True) from None
        if 200 <= response.status_code < 300:
            return
        if response.status_code == 401:
            self._tokens.pop(connection.arn, None)
        retryable = response.status_code >= 500 or response.status_code in RETRYABLE_STATUSES
        code = "THROTTLING" if response.status_code == 429 else "SDK_CLIENT_ERROR"
        raise _Failure(code, f"{response.status_code} from {delivery.endpoint}", retryable)

    async def _authorisation(
        self, connection: Connection, client: httpx.AsyncClient
    ) -> dict[str, str]:
        parameters = connection.auth_parameters
        kind = connection.authorization_type
        if kind == "API_KEY":
            section = parameters.get("ApiKeyAuthParameters") or {}
            return {str(section.get("ApiKeyName")): str(section.get("ApiKeyValue"))}
        if kind == "BASIC":
            section = parameters.get("BasicAuthParameters") or {}
            pair = f"{section.get('Username')}:{section.get('Password')}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        token = self._tokens.get(connection.arn)
        if token is None or token.expires_at <= time.monotonic():
            token = await self._fetch_token(connection, client)
            self._tokens[connection.arn] = token
        return {"Authorization": f"Bearer {token.value}"}

    async def _fetch_token(self, connection: Connection, client: httpx.AsyncClient) -> _Token:
        section = connection.auth_parameters.get("OAuthParameters") or {}
        client_parameters = section.get("ClientParameters") or {}
        headers: dict[str, str] = {}
        params: dict[str, str] = {}
        body: dict[str, str] = {"grant_type": "client_credentials"}
        extra = section.get("OAuthHttpParameters") or {}
        _add_parameters(extra, headers, params)
        for item in extra.get("BodyParameters") or []:
            body[str(item.get("Key"))] = str(item.get("Value"))
        try:
            response = await client.request(
                str(section.get("HttpMethod", "POST")),
                str(section.get("AuthorizationEndpoint")),
                headers=headers,
                params=params,
                data=body,
                auth=httpx.BasicAuth(
                    str(client_parameters.get("ClientID")),
                    str(client_parameters.get("ClientSecret")),
                ),
            )
        except httpx.HTTPError as exc:
            raise _Failure("TIMEOUT", f"OAuth token request failed: {exc}", True) from None
        if not 200 <= response.status_code < 300:
            raise _Failure(
                "NO_PERMISSIONS", f"OAuth token endpoint answered {response.status_code}", True
            )
        try:
            document = response.json()
            value = str(document["access_token"])
            lifetime = float(document.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise _Failure(
                "NO_PERMISSIONS", "OAuth token answer has no access_token", True
            ) from None
        return _Token(value, time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS))


def _add_parameters(
    section: Mapping[str, Any], headers: dict[str, str], params: dict[str, str]
) -> None:
    for item in section.get("HeaderParameters") or []:
        headers[str(item.get("Key"))] = str(item.get("Value"))
    for item in section.get("QueryStringParameters") or []:
        params[str(item.get("Key"))] = str(item.get("Value"))


def _with_path_values(endpoint: str, values: list[Any]) -> str:
    """Fill the endpoint's ``*`` wildcards with the target's PathParameterValues, in order."""
    for value in values:
        if "*" not in endpoint:
            break
        endpoint = endpoint.replace("*", str(value), 1)
    return endpoint
