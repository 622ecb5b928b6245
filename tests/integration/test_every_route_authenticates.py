"""Every route of the app goes through the one authentication door: unsigned, forged or unknown
credentials are refused on every REST operation, admin endpoint and SQS and SNS action, and
each refusal leaves one audit line without a secret."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from conftest import TEST_ACCESS_KEY, TEST_SECRET_KEY, settings_for
from request_signing import Resigner

from broker.api import QUEUE_OPERATIONS, TOPIC_OPERATIONS
from broker.api.admin import ROUTES as ADMIN_ROUTES
from broker.app import create_app
from broker.protocols.aws.sns.actions import ACTIONS as SNS_ACTIONS
from broker.protocols.aws.sns.actions import UNSIGNED_ACTIONS
from broker.protocols.aws.sqs.actions import ACTIONS as SQS_ACTIONS

FORGED = (
    f"AWS4-HMAC-SHA256 Credential={TEST_ACCESS_KEY}/20261126/us-east-1/sqs/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
)
BAD_CREDENTIALS = [
    ({}, "MissingAuthenticationToken"),
    ({"Authorization": f"Bearer {TEST_ACCESS_KEY}:wrong"}, "SignatureDoesNotMatch"),
    ({"Authorization": f"Bearer AKIDNOBODY:{TEST_SECRET_KEY}"}, "InvalidClientTokenId"),
    ({"Authorization": FORGED, "X-Amz-Date": "20261126T000000Z"}, "SignatureDoesNotMatch"),
]


@pytest.fixture
async def app_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_for(database_url), configure_logging=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://broker.test", timeout=30
        ) as client:
            yield client


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.mark.parametrize(("headers", "code"), BAD_CREDENTIALS)
async def test_every_rest_and_admin_route_refuses_bad_credentials(
    app_client: httpx.AsyncClient, headers: dict[str, str], code: str
) -> None:
    routes = [(op.method, op.path) for op in (*QUEUE_OPERATIONS, *TOPIC_OPERATIONS)]
    routes += [(method, path) for method, path, _ in ADMIN_ROUTES]
    for method, path in routes:
        response = await app_client.request(
            method, _concrete(path), headers=headers, content=b"{}", auth=None
        )
        assert response.status_code == 401, (method, path, response.text)
        if code != "SignatureDoesNotMatch" or "Bearer" in headers.get("Authorization", ""):
            assert response.json()["code"] == code, (method, path)


@pytest.mark.parametrize(("headers", "code"), BAD_CREDENTIALS[:1] + BAD_CREDENTIALS[2:])
async def test_every_sqs_and_sns_action_refuses_bad_credentials(
    app_client: httpx.AsyncClient, headers: dict[str, str], code: str
) -> None:
    aws_headers = {k: v for k, v in headers.items() if not v.startswith("Bearer")}
    for action in SQS_ACTIONS:
        response = await app_client.post(
            "/",
            content=b"{}",
            headers={
                **aws_headers,
                "X-Amz-Target": f"AmazonSQS.{action}",
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
        assert response.status_code in (400, 403), (action, response.text)
        assert response.headers["x-amzn-query-error"].startswith(
            code if aws_headers else "MissingAuthenticationToken"
        ), action
    for action in set(SNS_ACTIONS) - UNSIGNED_ACTIONS:
        form = {"Action": action, "Version": "2010-03-31"}
        response = await app_client.post("/", data=form, headers=aws_headers)
        assert response.status_code in (400, 403), (action, response.text)
        expected = code if aws_headers else "MissingAuthenticationToken"
        assert f"<Code>{expected}</Code>" in response.text, action


async def test_audit_lines_for_failures_and_admin_changes_carry_no_secret(
    app_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="broker.audit")
    await app_client.get("/v1/queues", headers={"Authorization": "Bearer AKIDNOBODY:hunter2"})
    admin = {"Authorization": f"Bearer {TEST_ACCESS_KEY}:{TEST_SECRET_KEY}"}
    created = await app_client.post("/v1/admin/accounts", json={"name": "audited"}, headers=admin)
    account_id = created.json()["account_id"]
    issued = await app_client.post(f"/v1/admin/accounts/{account_id}/keys", json={}, headers=admin)
    key = issued.json()
    await app_client.patch(
        f"/v1/admin/keys/{key['access_key_id']}", json={"status": "Inactive"}, headers=admin
    )
    events = [getattr(r, "event", None) for r in caplog.records if r.name == "broker.audit"]
    assert events == ["auth.failure", "account.create", "key.create", "key.disable"]
    failure = next(r for r in caplog.records if getattr(r, "event", None) == "auth.failure")
    assert failure.access_key_id == "AKIDNOBODY"  # type: ignore[attr-defined]
    everything = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    for secret in ("hunter2", key["secret_access_key"]):
        assert secret not in everything


async def test_a_signed_request_passes_the_same_door(app_client: httpx.AsyncClient) -> None:
    response = await app_client.post(
        "/",
        content=b"{}",
        headers={
            "Authorization": FORGED,
            "X-Amz-Target": "AmazonSQS.ListQueues",
            "Content-Type": "application/x-amz-json-1.0",
        },
        auth=Resigner(),
    )
    assert response.status_code == 200, response.text
