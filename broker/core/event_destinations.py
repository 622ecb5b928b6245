"""Connections and API destinations: the HTTP targets of event rules.

A connection holds how to authorise (API key, basic, or OAuth client credentials) and extra
invocation parameters; an API destination an endpoint, a method and an invocation rate limit.
Secrets are stored in the broker's database (there is no separate secrets store), encrypted with
the access keys' cipher (``connection_secrets``), and never returned by Describe/List, as AWS
keeps them out of its answers.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from broker.core import connection_secrets
from broker.core.accounts import SecretCipher
from broker.core.connection_secrets import SECRET_FIELDS
from broker.core.event_errors import ResourceAlreadyExists, ValidationFailed, not_found
from broker.core.event_models import ApiDestination, Connection, events_arn
from broker.core.event_names import check_length, check_limit, check_name, decode_token, page
from broker.core.event_ports import EventStore
from broker.core.models import Caller
from broker.errors import Unavailable

log = logging.getLogger(__name__)

AUTHORIZATION_TYPES = frozenset({"BASIC", "API_KEY", "OAUTH_CLIENT_CREDENTIALS"})
HTTP_METHODS = frozenset({"POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
AUTHORIZED = "AUTHORIZED"
DEAUTHORIZED = "DEAUTHORIZED"
ACTIVE = "ACTIVE"
DEFAULT_RATE_LIMIT = 300
_AUTH_KEYS = {
    "BASIC": "BasicAuthParameters",
    "API_KEY": "ApiKeyAuthParameters",
    "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters",
}
_REQUIRED = {
    "BASIC": (("Username",), ("Password",)),
    "API_KEY": (("ApiKeyName",), ("ApiKeyValue",)),
    "OAUTH_CLIENT_CREDENTIALS": (
        ("AuthorizationEndpoint",),
        ("HttpMethod",),
        ("ClientParameters", "ClientID"),
        ("ClientParameters", "ClientSecret"),
    ),
}


class DestinationService:
    def __init__(self, store: EventStore, region: str) -> None:
        self._store = store
        self._region = region
        self._cipher: SecretCipher | None = None

    def use_cipher(self, cipher: SecretCipher) -> None:
        """The cipher sealing connection secrets (loaded with the access keys' at start)."""
        self._cipher = cipher

    def _sealed(self, parameters: Mapping[str, Any]) -> dict[str, Any]:
        if self._cipher is None:
            # Never store a secret in clear: refuse rather than write it unsealed.
            raise Unavailable("The secrets' encryption key is not loaded yet.")
        return connection_secrets.seal(parameters, self._cipher)

    # -- connections -------------------------------------------------------------------------

    async def create_connection(
        self,
        caller: Caller,
        name: str,
        description: str | None,
        authorization_type: str,
        auth_parameters: Mapping[str, Any],
    ) -> Connection:
        check_name("name", name)
        check_length("description", description, 512)
        _check_auth(authorization_type, auth_parameters, creating=True)
        arn = events_arn(self._region, caller.account_id, f"connection/{name}/{uuid.uuid4()}")
        created = await self._store.create_connection(
            {
                "account_id": caller.account_id,
                "name": name,
                "arn": arn,
                "description": description,
                "authorization_type": authorization_type,
                "auth_parameters": self._sealed(auth_parameters),
                "state": AUTHORIZED,
            }
        )
        if created is None:
            raise ResourceAlreadyExists(f"Connection {name} already exists.")
        return created

    async def connection(self, caller: Caller, name: str) -> Connection:
        check_name("name", name)
        found = await self._store.get_connection(caller.account_id, name)
        if found is None:
            raise not_found("Connection", name)
        return found

    async def connection_by_arn(self, arn: str) -> Connection | None:
        """The connection with its secrets in clear, for the HTTP poster only."""
        found = await self._store.get_connection_by_arn(arn)
        if found is None or self._cipher is None:
            return found
        try:
            opened = connection_secrets.unseal(found.auth_parameters, self._cipher)
        except ValueError:
            # The key that sealed it was removed: deliveries fail as for a deauthorized one.
            log.error("no configured encryption key opens the secrets of connection %s", arn)
            return dataclasses.replace(found, state=DEAUTHORIZED)
        return dataclasses.replace(found, auth_parameters=opened)

    async def list_connections(
        self, caller: Caller, prefix: str | None, token: str | None, limit: int | None
    ) -> tuple[list[Connection], str | None]:
        size = check_limit(limit)
        found = await self._store.list_connections(
            caller.account_id, prefix or "", decode_token(token), size + 1
        )
        return page(found, size, lambda c: c.name)

    async def update_connection(
        self,
        caller: Caller,
        name: str,
        description: str | None,
        authorization_type: str | None,
        auth_parameters: Mapping[str, Any] | None,
    ) -> Connection:
        current = await self.connection(caller, name)
        kind = authorization_type or current.authorization_type
        merged = dict(current.auth_parameters)
        if authorization_type and authorization_type != current.authorization_type:
            merged = {}
        for key, value in (auth_parameters or {}).items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = _merge(merged[key], value)
            else:
                merged[key] = value
        _check_auth(kind, merged, creating=False)
        updated = await self._store.update_connection(
            {
                "id": current.id,
                "description": description if description is not None else current.description,
                "authorization_type": kind,
                "auth_parameters": self._sealed(merged),
                "state": AUTHORIZED,
            }
        )
        if updated is None:
            raise not_found("Connection", name)
        return updated

    async def deauthorize_connection(self, caller: Caller, name: str) -> Connection:
        current = await self.connection(caller, name)
        updated = await self._store.update_connection(
            {
                "id": current.id,
                "description": current.description,
                "authorization_type": current.authorization_type,
                "auth_parameters": dict(current.auth_parameters),
                "state": DEAUTHORIZED,
            }
        )
        if updated is None:
            raise not_found("Connection", name)
        return updated

    async def delete_connection(self, caller: Caller, name: str) -> Connection:
        current = await self.connection(caller, name)
        deleted = await self._store.delete_connection(current.id)
        if deleted is None:
            raise not_found("Connection", name)
        return deleted

    # -- API destinations --------------------------------------------------------------------

    async def create_api_destination(
        self,
        caller: Caller,
        name: str,
        description: str | None,
        connection_arn: str,
        endpoint: str,
        http_method: str,
        rate_limit: int | None,
    ) -> ApiDestination:
        check_name("name", name)
        check_length("description", description, 512)
        await self._check_destination(
            caller.account_id, connection_arn, endpoint, http_method, rate_limit
        )
        arn = events_arn(self._region, caller.account_id, f"api-destination/{name}/{uuid.uuid4()}")
        created = await self._store.create_destination(
            {
                "account_id": caller.account_id,
                "name": name,
                "arn": arn,
                "description": description,
                "connection_arn": connection_arn,
                "endpoint": endpoint,
                "http_method": http_method,
                "rate_limit": rate_limit or DEFAULT_RATE_LIMIT,
                "state": ACTIVE,
            }
        )
        if created is None:
            raise ResourceAlreadyExists(f"Api destination {name} already exists.")
        return created

    async def api_destination(self, caller: Caller, name: str) -> ApiDestination:
        check_name("name", name)
        found = await self._store.get_destination(caller.account_id, name)
        if found is None:
            raise not_found("Api destination", name)
        return found

    async def list_api_destinations(
        self,
        caller: Caller,
        prefix: str | None,
        connection_arn: str | None,
        token: str | None,
        limit: int | None,
    ) -> tuple[list[ApiDestination], str | None]:
        size = check_limit(limit)
        found = await self._store.list_destinations(
            caller.account_id, prefix or "", connection_arn, decode_token(token), size + 1
        )
        return page(found, size, lambda d: d.name)

    async def update_api_destination(
        self,
        caller: Caller,
        name: str,
        description: str | None,
        connection_arn: str | None,
        endpoint: str | None,
        http_method: str | None,
        rate_limit: int | None,
    ) -> ApiDestination:
        current = await self.api_destination(caller, name)
        connection_arn = connection_arn or current.connection_arn
        endpoint = endpoint or current.endpoint
        http_method = http_method or current.http_method
        await self._check_destination(
            caller.account_id, connection_arn, endpoint, http_method, rate_limit
        )
        values = {
            "id": current.id,
            "description": description if description is not None else current.description,
            "connection_arn": connection_arn,
            "endpoint": endpoint,
            "http_method": http_method,
            "rate_limit": rate_limit or current.rate_limit,
        }
        updated = await self._store.update_destination(values)
        if updated is None:
            raise not_found("Api destination", name)
        return updated

    async def delete_api_destination(self, caller: Caller, name: str) -> None:
        current = await self.api_destination(caller, name)
        await self._store.delete_destination(current.id)

    async def _check_destination(
        self,
        account_id: str,
        connection_arn: str,
        endpoint: str,
        http_method: str,
        rate_limit: int | None,
    ) -> None:
        if not endpoint.startswith(("http://", "https://")):
            raise ValidationFailed("InvocationEndpoint must be an http:// or https:// URL.")
        check_length("invocationEndpoint", endpoint, 2048)
        if http_method not in HTTP_METHODS:
            raise ValidationFailed(
                f"1 validation error detected: Value '{http_method}' at 'httpMethod' failed to "
                f"satisfy constraint: Member must satisfy enum value set: {sorted(HTTP_METHODS)}"
            )
        if rate_limit is not None and rate_limit < 1:
            raise ValidationFailed("InvocationRateLimitPerSecond must be at least 1.")
        connection = await self._store.get_connection_by_arn(connection_arn)
        if connection is None or connection.account_id != account_id:
            # another account's connection is as absent as a missing one
            raise not_found("Connection", connection_arn)


def public_auth_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The auth parameters without their secrets, as Describe answers them."""
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        if key in SECRET_FIELDS:
            continue
        out[key] = public_auth_parameters(value) if isinstance(value, Mapping) else value
    return out


def _check_http_parameters(member: str, value: Any) -> None:
    """``{HeaderParameters|QueryStringParameters|BodyParameters: [{Key, Value, ...}]}``."""
    if value is None:
        return
    if not isinstance(value, Mapping):
        raise ValidationFailed(f"{member} must be a structure.")
    for kind in ("HeaderParameters", "QueryStringParameters", "BodyParameters"):
        items = value.get(kind)
        if items is None:
            continue
        if not isinstance(items, list) or not all(
            isinstance(i, Mapping)
            and isinstance(i.get("Key"), str)
            and isinstance(i.get("Value"), str)
            for i in items
        ):
            raise ValidationFailed(f"{member}.{kind} must be a list of Key and Value strings.")


def _merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _check_auth(kind: str, parameters: Mapping[str, Any], creating: bool) -> None:
    if kind not in AUTHORIZATION_TYPES:
        raise ValidationFailed(
            f"1 validation error detected: Value '{kind}' at 'authorizationType' failed to "
            "satisfy constraint: Member must satisfy enum value set: "
            "[BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]"
        )
    section = parameters.get(_AUTH_KEYS[kind])
    if not isinstance(section, Mapping):
        raise ValidationFailed(f"{_AUTH_KEYS[kind]} must be specified for {kind} authorization.")
    for path in _REQUIRED[kind]:
        value: Any = section
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if not value:
            raise ValidationFailed(f"{_AUTH_KEYS[kind]}.{'.'.join(path)} must be specified.")
    _check_http_parameters("InvocationHttpParameters", parameters.get("InvocationHttpParameters"))
    if kind == "OAUTH_CLIENT_CREDENTIALS":
        _check_http_parameters("OAuthHttpParameters", section.get("OAuthHttpParameters"))
        endpoint = str(section["AuthorizationEndpoint"])
        if not endpoint.startswith(("http://", "https://")):
            raise ValidationFailed("AuthorizationEndpoint must be an http:// or https:// URL.")
