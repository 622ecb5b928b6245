"""Accounts and keys in PostgreSQL: the admin CLI, encryption-key rotation, generated root
credentials, the key cache, last-used times and key policies."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner
from conftest import TEST_ACCESS_KEY, TEST_ENCRYPTION_KEY, BrokerFactory, settings_for
from cryptography.fernet import Fernet

from broker.app import AccessRuntime
from broker.cli import main
from broker.core.accounts import ROOT_ACCOUNT_ID, KeyStatus
from broker.core.connection_secrets import unseal
from broker.core.models import Caller
from broker.errors import AccessDenied, Unavailable
from broker.secret_cipher import FernetCipher
from broker.storage.postgres import PostgresStore, create_pool


def admin(database_url: str, *args: str, key: str = TEST_ENCRYPTION_KEY) -> Any:
    result = CliRunner().invoke(
        main,
        ["admin", *args, "--database-url", database_url],
        env={"BROKER_SECRET_ENCRYPTION_KEY": key},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    text = result.output.strip()
    return json.loads(text) if text.startswith(("{", "[")) else text


def credential(database_url: str, key_id: str, keys: str) -> Any:
    """The key as a broker process using ``keys`` sees it (its own event loop, like the CLI)."""
    return asyncio.run(_credential(database_url, key_id, keys))


async def _credential(database_url: str, key_id: str, keys: str) -> Any:
    pool = create_pool(database_url, 1, 2)
    await pool.open(wait=True)
    try:
        runtime = AccessRuntime(
            settings_for(database_url, secret_encryption_key=keys), PostgresStore(pool)
        )
        await runtime.load_cipher()
        return await runtime.accounts.credential(key_id)
    finally:
        await pool.close()


def test_the_admin_cli_manages_accounts_and_keys(fresh_database_url: str) -> None:
    url = fresh_database_url
    account = admin(url, "accounts", "create", "team-a", "--account-id", "111122223333")
    assert account["account_id"] == "111122223333"
    names = {a["name"] for a in admin(url, "accounts", "list")}
    assert {"root", "team-a"} <= names
    issued = admin(url, "keys", "create", "111122223333")
    key_id, secret = issued["access_key_id"], issued["secret_access_key"]
    assert key_id.startswith("AKIA") and len(key_id) == 20 and issued["admin"] is False
    listed = admin(url, "keys", "list", "--account", "111122223333")
    assert [k["access_key_id"] for k in listed] == [key_id]
    assert "secret_access_key" not in listed[0]
    found = credential(url, key_id, TEST_ENCRYPTION_KEY)
    assert (found.secret_access_key, found.account_id) == (secret, "111122223333")
    # At rest the secret is ciphertext, not the secret.
    with psycopg.connect(url) as conn:
        stored = conn.execute(
            "SELECT secret_ciphertext FROM broker.access_keys WHERE access_key_id = %s", (key_id,)
        ).fetchone()
    assert stored is not None and secret.encode() not in bytes(stored[0])

    assert admin(url, "keys", "disable", key_id)["status"] == "Inactive"
    assert credential(url, key_id, TEST_ENCRYPTION_KEY) is None
    assert admin(url, "keys", "enable", key_id)["status"] == "Active"
    rotated = admin(url, "keys", "rotate", key_id)
    assert rotated["account_id"] == "111122223333" and rotated["access_key_id"] != key_id
    statuses = {k["access_key_id"]: k["status"] for k in admin(url, "keys", "list")}
    assert statuses[key_id] == "Inactive" and statuses[rotated["access_key_id"]] == "Active"
    assert admin(url, "keys", "delete", key_id) == f"deleted {key_id}"
    failed = CliRunner().invoke(
        main,
        ["admin", "keys", "delete", key_id, "--database-url", url],
        env={"BROKER_SECRET_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY},
    )
    assert failed.exit_code != 0 and "does not exist" in failed.output


def test_rotating_the_encryption_key_re_encrypts_every_secret(
    fresh_database_url: str,
) -> None:
    url = fresh_database_url
    issued = admin(url, "keys", "create", ROOT_ACCOUNT_ID)
    new_key = Fernet.generate_key().decode()
    both = f"{new_key},{TEST_ENCRYPTION_KEY}"
    assert credential(url, issued["access_key_id"], new_key) is None  # not yet
    assert "re-encrypted 1 secrets" in admin(url, "rotate-encryption-key", key=both)
    found = credential(url, issued["access_key_id"], new_key)
    assert found.secret_access_key == issued["secret_access_key"]


def _connection_parameters(database_url: str, name: str) -> Any:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT auth_parameters FROM broker.event_connections WHERE name = %s", (name,)
        ).fetchone()
    assert row is not None
    return row[0]


def test_rotating_the_encryption_key_seals_connection_secrets(fresh_database_url: str) -> None:
    url = fresh_database_url
    plaintext = {"BasicAuthParameters": {"Username": "u", "Password": "old-plaintext"}}
    with psycopg.connect(url) as conn:  # a connection stored before secrets were sealed
        conn.execute(
            "INSERT INTO broker.event_connections "
            "(account_id, name, arn, authorization_type, auth_parameters, state) "
            "VALUES (%s, 'legacy', 'arn:aws:events:us-east-1:000000000000:connection/legacy/1', "
            "'BASIC', %s, 'AUTHORIZED')",
            (ROOT_ACCOUNT_ID, json.dumps(plaintext)),
        )
    assert "re-encrypted 1 secrets" in admin(url, "rotate-encryption-key")
    sealed = _connection_parameters(url, "legacy")
    assert "old-plaintext" not in json.dumps(sealed)
    assert unseal(sealed, FernetCipher([TEST_ENCRYPTION_KEY])) == plaintext

    new_key = Fernet.generate_key().decode()
    both = f"{new_key},{TEST_ENCRYPTION_KEY}"
    assert "re-encrypted 1 secrets" in admin(url, "rotate-encryption-key", key=both)
    rotated = _connection_parameters(url, "legacy")
    assert unseal(rotated, FernetCipher([new_key])) == plaintext
    with pytest.raises(ValueError, match="no configured key"):
        unseal(rotated, FernetCipher([TEST_ENCRYPTION_KEY]))


async def test_root_credentials_are_generated_and_printed_once(
    running_broker: BrokerFactory, fresh_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    no_credentials = {
        "root_access_key_id": None,
        "root_secret_access_key": None,
        "development_credentials": False,
    }
    async with running_broker(fresh_database_url, **no_credentials) as broker:
        printed = capsys.readouterr().err
        assert "Generated root credentials" in printed
        key_id = printed.split("access key id:")[1].split()[0]
        secret = printed.split("secret access key:")[1].split()[0]
        found = await broker.accounts.credential(key_id)
        assert found is not None and found.secret_access_key == secret and found.admin
    async with running_broker(fresh_database_url, **no_credentials):
        assert "Generated root credentials" not in capsys.readouterr().err


async def test_a_generator_that_dies_mid_way_leaves_the_root_key_to_the_next_start(
    running_broker: BrokerFactory, fresh_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    no_credentials = {
        "root_access_key_id": None,
        "root_secret_access_key": None,
        "development_credentials": False,
    }
    pool = create_pool(fresh_database_url, 1, 2)
    await pool.open(wait=True)
    try:
        runtime = AccessRuntime(
            settings_for(fresh_database_url, **no_credentials), PostgresStore(pool)
        )
        async with (
            await psycopg.AsyncConnection.connect(fresh_database_url) as blocker,
            await psycopg.AsyncConnection.connect(fresh_database_url, autocommit=True) as watcher,
        ):
            # The key's INSERT waits behind this lock; the generator's connection is then cut,
            # as if its process died between writing the marker and writing the key.
            await blocker.execute("LOCK TABLE broker.access_keys IN EXCLUSIVE MODE")
            starting = asyncio.create_task(runtime.start())
            waiting = None
            while waiting is None:
                assert not starting.done(), starting
                cursor = await watcher.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO broker.access_keys%'"
                )
                waiting = await cursor.fetchone()
                await asyncio.sleep(0.01)  # poll interval only: the condition above decides
            await watcher.execute("SELECT pg_terminate_backend(%s)", waiting)
            with pytest.raises(Unavailable):
                await starting
            await blocker.rollback()
    finally:
        await pool.close()
    assert "Generated root credentials" not in capsys.readouterr().err
    async with running_broker(fresh_database_url, **no_credentials) as broker:
        printed = capsys.readouterr().err
        assert "Generated root credentials" in printed
        key_id = printed.split("access key id:")[1].split()[0]
        found = await broker.accounts.credential(key_id)
        assert found is not None and found.account_id == ROOT_ACCOUNT_ID and found.admin


async def test_development_credentials_map_to_the_root_account(
    running_broker: BrokerFactory, fresh_database_url: str
) -> None:
    async with running_broker(fresh_database_url, development_credentials=True) as broker:
        found = await broker.accounts.credential("test")
        assert found is not None and found.account_id == ROOT_ACCOUNT_ID
    async with running_broker(fresh_database_url, development_credentials=False) as broker:
        assert await broker.accounts.credential("test") is None


async def test_a_key_change_is_seen_after_the_cache_time(
    running_broker: BrokerFactory, fresh_database_url: str
) -> None:
    async with running_broker(fresh_database_url, key_cache_seconds=0) as broker:
        assert await broker.accounts.credential(TEST_ACCESS_KEY) is not None
        await broker.accounts.set_key_status(TEST_ACCESS_KEY, KeyStatus.INACTIVE)
        assert await broker.accounts.credential(TEST_ACCESS_KEY) is None


async def test_a_key_policy_narrows_what_the_key_may_do(
    running_broker: BrokerFactory, fresh_database_url: str
) -> None:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
        }
    )
    async with running_broker(fresh_database_url) as broker:
        owner = Caller(access_key_id=TEST_ACCESS_KEY)
        await broker.service.create_queue(owner, "narrow", {}, {})
        narrowed = Caller(access_key_id="AKIDNARROW", key_policy=policy)
        await broker.service.get_queue(narrowed, "narrow", action="sqs:SendMessage")
        with pytest.raises(AccessDenied):
            await broker.service.get_queue(narrowed, "narrow", action="sqs:ReceiveMessage")
