"""The administration endpoints: accounts and access keys, for callers with an admin key.

Not in the OpenAPI document (they are for operators, not applications; see docs/security.md)::

    GET    /v1/admin/accounts                      list accounts
    POST   /v1/admin/accounts                      {"name", "account_id"?} -> 201 account
    GET    /v1/admin/accounts/{account}/keys       the account's keys (never a secret)
    POST   /v1/admin/accounts/{account}/keys       {"admin"?} -> 201 key with its secret
    GET    /v1/admin/keys                          every key
    PATCH  /v1/admin/keys/{key}                    {"status"?: "Active"|"Inactive", "policy"?}
    DELETE /v1/admin/keys/{key}                    -> 204
    POST   /v1/admin/keys/{key}/rotate             -> 201 a new key (the old one disabled)

The root account's keys are admin keys; ``broker admin keys create --admin`` makes others.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from broker.api import auth
from broker.api.problems import ApiProblem, error_identity, problem_response
from broker.api.wire import parse_json
from broker.core.accounts import AccessKey, Account, AccountService, IssuedKey, KeyStatus
from broker.core.models import Caller
from broker.errors import BrokerError, InvalidParameterValue
from broker.protocols.aws.context import Authenticator, http_request

log = logging.getLogger(__name__)

MAX_ADMIN_BODY_BYTES = 64 * 1024
Answer = tuple[int, Any]
AdminHandler = Callable[[AccountService, Request, dict[str, Any]], Awaitable[Answer]]


def account_json(account: Account) -> dict[str, Any]:
    return {
        "account_id": account.account_id,
        "name": account.name,
        "created_at": account.created_at.isoformat(),
    }


def key_json(key: AccessKey) -> dict[str, Any]:
    return {
        "access_key_id": key.access_key_id,
        "account_id": key.account_id,
        "status": key.status.value,
        "admin": key.admin,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "policy": key.policy,
    }


def issued_json(issued: IssuedKey) -> dict[str, Any]:
    return {**key_json(issued.key), "secret_access_key": issued.secret_access_key}


def _string(data: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise InvalidParameterValue(f"{name} is required.")
        return None
    if not isinstance(value, str):
        raise InvalidParameterValue(f"{name} must be a string.")
    return value


async def list_accounts(accounts: AccountService, request: Request, data: dict[str, Any]) -> Answer:
    return 200, {"accounts": [account_json(a) for a in await accounts.list_accounts()]}


async def create_account(
    accounts: AccountService, request: Request, data: dict[str, Any]
) -> Answer:
    name = _string(data, "name", required=True)
    assert name is not None
    account = await accounts.create_account(name, _string(data, "account_id"))
    return 201, account_json(account)


async def list_account_keys(
    accounts: AccountService, request: Request, data: dict[str, Any]
) -> Answer:
    keys = await accounts.list_keys(request.path_params["account"])
    return 200, {"keys": [key_json(k) for k in keys]}


async def create_key(accounts: AccountService, request: Request, data: dict[str, Any]) -> Answer:
    admin = data.get("admin", False)
    if not isinstance(admin, bool):
        raise InvalidParameterValue("admin must be a boolean.")
    issued = await accounts.create_key(request.path_params["account"], admin=admin)
    return 201, issued_json(issued)


async def list_keys(accounts: AccountService, request: Request, data: dict[str, Any]) -> Answer:
    return 200, {"keys": [key_json(k) for k in await accounts.list_keys()]}


async def update_key(accounts: AccountService, request: Request, data: dict[str, Any]) -> Answer:
    key_id = request.path_params["key"]
    key = await accounts.key(key_id)
    status = _string(data, "status")
    if status is not None:
        if status not in {s.value for s in KeyStatus}:
            raise InvalidParameterValue("status must be Active or Inactive.")
        key = await accounts.set_key_status(key_id, KeyStatus(status))
    if "policy" in data:
        policy = _string(data, "policy")
        key = await accounts.set_key_policy(key_id, policy or None)
    return 200, key_json(key)


async def delete_key(accounts: AccountService, request: Request, data: dict[str, Any]) -> Answer:
    await accounts.delete_key(request.path_params["key"])
    return 204, None


async def rotate_key(accounts: AccountService, request: Request, data: dict[str, Any]) -> Answer:
    return 201, issued_json(await accounts.rotate_key(request.path_params["key"]))


ROUTES: tuple[tuple[str, str, AdminHandler], ...] = (
    ("GET", "/v1/admin/accounts", list_accounts),
    ("POST", "/v1/admin/accounts", create_account),
    ("GET", "/v1/admin/accounts/{account}/keys", list_account_keys),
    ("POST", "/v1/admin/accounts/{account}/keys", create_key),
    ("GET", "/v1/admin/keys", list_keys),
    ("PATCH", "/v1/admin/keys/{key}", update_key),
    ("DELETE", "/v1/admin/keys/{key}", delete_key),
    ("POST", "/v1/admin/keys/{key}/rotate", rotate_key),
)


class AdminEndpoint:
    def __init__(self, accounts: AccountService, authenticator: Authenticator, region: str) -> None:
        self._accounts = accounts
        self._authenticator = authenticator
        self._region = region

    async def handle(self, handler: AdminHandler, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            body = await request.body()
            if len(body) > MAX_ADMIN_BODY_BYTES:
                raise ApiProblem(413, "RequestEntityTooLarge", "The request body is too large.")
            caller = await auth.authenticate(
                self._authenticator, http_request(request, body), request.query_params, self._region
            )
            self._check_admin(caller)
            status, payload = await handler(self._accounts, request, parse_json(body))
        except ApiProblem as problem:
            return problem_response(
                problem.status, problem.code, problem.detail, problem.aws_code, request_id
            )
        except BrokerError as error:
            status, code, aws_code = error_identity(error)
            return problem_response(status, code, error.message, aws_code, request_id)
        except Exception:
            log.exception("admin request failed (request id %s)", request_id)
            return problem_response(
                500, "InternalFailure", "An internal error occurred.", "InternalError", request_id
            )
        headers = {"x-request-id": request_id}
        if payload is None:
            return Response(status_code=status, headers=headers)
        return Response(
            orjson.dumps(payload), status, media_type="application/json", headers=headers
        )

    @staticmethod
    def _check_admin(caller: Caller) -> None:
        if not caller.admin:
            raise ApiProblem(
                403,
                "AccessDenied",
                f"Access key {caller.access_key_id} may not administer accounts and keys.",
            )


def admin_routes(
    accounts: AccountService, authenticator: Authenticator, region: str = "us-east-1"
) -> list[BaseRoute]:
    """The administration routes; mount them before the AWS catch-all routes."""
    endpoint = AdminEndpoint(accounts, authenticator, region)
    routes: list[BaseRoute] = []
    for method, path, handler in ROUTES:

        async def handle(request: Request, handler: AdminHandler = handler) -> Response:
            return await endpoint.handle(handler, request)

        routes.append(Route(path, handle, methods=[method]))
    return routes
