"""``broker admin``: accounts and access keys, straight in the database.

The commands use the broker's own settings (``BROKER_DATABASE_URL`` or the embedded server,
``BROKER_SECRET_ENCRYPTION_KEY``), so they run next to the servers, without a running broker.
Changes reach every running process within ``BROKER_KEY_CACHE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from broker.cli.server import _database_url, _settings, main
from broker.config import ConfigError
from broker.errors import BrokerError

T = TypeVar("T")


def _run(database_url: str | None, data_dir: Path | None, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(access_runtime)`` against the database, with the secrets' cipher loaded."""
    from broker.app import AccessRuntime
    from broker.storage.postgres import PostgresStore, create_pool

    settings = _settings(database_url=database_url, data_dir=data_dir)
    url, embedded_server = _database_url(settings)

    async def run() -> T:
        pool = create_pool(url, 1, 2)
        await pool.open(wait=True, timeout=30)
        try:
            runtime = AccessRuntime(settings, PostgresStore(pool))
            await runtime.load_cipher()
            return await work(runtime)
        finally:
            await pool.close()

    try:
        return asyncio.run(run())
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    except BrokerError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        del embedded_server


_database = click.option("--database-url", default=None, help="External PostgreSQL.")
_data_dir = click.option("--data-dir", type=click.Path(path_type=Path), default=None)


def _echo(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


@main.group()
def admin() -> None:
    """Accounts and access keys (see docs/security.md)."""


@admin.group()
def accounts() -> None:
    """Create and list accounts."""


@accounts.command("create")
@click.argument("name")
@click.option("--account-id", default=None, help="12 digits; random when absent.")
@_database
@_data_dir
def create_account(
    name: str, account_id: str | None, database_url: str | None, data_dir: Path | None
) -> None:
    """Create an account named NAME."""
    from broker.api.admin import account_json

    async def work(runtime: Any) -> Any:
        return account_json(await runtime.accounts.create_account(name, account_id))

    _echo(_run(database_url, data_dir, work))


@accounts.command("list")
@_database
@_data_dir
def list_accounts(database_url: str | None, data_dir: Path | None) -> None:
    """List every account."""
    from broker.api.admin import account_json

    async def work(runtime: Any) -> Any:
        return [account_json(a) for a in await runtime.accounts.list_accounts()]

    _echo(_run(database_url, data_dir, work))


@admin.group()
def keys() -> None:
    """Create, list, disable, enable, rotate and delete access keys."""


@keys.command("create")
@click.argument("account_id")
@click.option("--admin", "is_admin", is_flag=True, help="The key may administer accounts.")
@_database
@_data_dir
def create_key(
    account_id: str, is_admin: bool, database_url: str | None, data_dir: Path | None
) -> None:
    """Create a key for ACCOUNT_ID; its secret is shown this once."""
    from broker.api.admin import issued_json

    async def work(runtime: Any) -> Any:
        return issued_json(await runtime.accounts.create_key(account_id, admin=is_admin))

    _echo(_run(database_url, data_dir, work))


@keys.command("list")
@click.option("--account", "account_id", default=None, help="Only this account's keys.")
@_database
@_data_dir
def list_keys(account_id: str | None, database_url: str | None, data_dir: Path | None) -> None:
    """List keys (never their secrets)."""
    from broker.api.admin import key_json

    async def work(runtime: Any) -> Any:
        return [key_json(k) for k in await runtime.accounts.list_keys(account_id)]

    _echo(_run(database_url, data_dir, work))


def _status_command(name: str, active: bool) -> None:
    @keys.command(name)
    @click.argument("access_key_id")
    @_database
    @_data_dir
    def command(access_key_id: str, database_url: str | None, data_dir: Path | None) -> None:
        from broker.api.admin import key_json
        from broker.core.accounts import KeyStatus

        status = KeyStatus.ACTIVE if active else KeyStatus.INACTIVE

        async def work(runtime: Any) -> Any:
            return key_json(await runtime.accounts.set_key_status(access_key_id, status))

        _echo(_run(database_url, data_dir, work))

    command.__doc__ = f"{'Enable' if active else 'Disable'} the key ACCESS_KEY_ID."


_status_command("disable", active=False)
_status_command("enable", active=True)


@keys.command("delete")
@click.argument("access_key_id")
@_database
@_data_dir
def delete_key(access_key_id: str, database_url: str | None, data_dir: Path | None) -> None:
    """Delete the key ACCESS_KEY_ID."""

    async def work(runtime: Any) -> None:
        await runtime.accounts.delete_key(access_key_id)

    _run(database_url, data_dir, work)
    click.echo(f"deleted {access_key_id}")


@keys.command("rotate")
@click.argument("access_key_id")
@_database
@_data_dir
def rotate_key(access_key_id: str, database_url: str | None, data_dir: Path | None) -> None:
    """Issue a new key for the same account and disable ACCESS_KEY_ID (delete it once every
    client uses the new one)."""
    from broker.api.admin import issued_json

    async def work(runtime: Any) -> Any:
        return issued_json(await runtime.accounts.rotate_key(access_key_id))

    _echo(_run(database_url, data_dir, work))


@admin.command("rotate-encryption-key")
@_database
@_data_dir
def rotate_encryption_key(database_url: str | None, data_dir: Path | None) -> None:
    """Re-encrypt every secret with the first key of BROKER_SECRET_ENCRYPTION_KEY."""

    async def work(runtime: Any) -> int:
        count: int = await runtime.reencrypt_secrets()
        return count

    count = _run(database_url, data_dir, work)
    click.echo(f"re-encrypted {count} secrets with the first configured key")
