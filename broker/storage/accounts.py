"""AccountStore: accounts and access keys on the PostgresStore's pool (``sql/accounts.sql``)."""

from __future__ import annotations

from collections.abc import Sequence

from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from broker.core.accounts import AccessKey, Account, KeyStatus, StoredKey
from broker.errors import Conflict
from broker.storage.queries import load_file
from broker.storage.statements import Connection, NamedStatements

ACCOUNT_QUERIES = load_file("accounts.sql")


class AccountStore(NamedStatements):
    def __init__(self, pool: AsyncConnectionPool[Connection]) -> None:
        super().__init__(pool, ACCOUNT_QUERIES)

    async def create_account(self, account_id: str, name: str) -> Account | None:
        row = await self._one("create_account", {"account_id": account_id, "name": name})
        return _account(row) if row else None

    async def get_account(self, account_id: str) -> Account | None:
        row = await self._one("get_account", {"account_id": account_id})
        return _account(row) if row else None

    async def list_accounts(self) -> list[Account]:
        return [_account(row) for row in await self._all("list_accounts", {})]

    async def create_key(
        self, access_key_id: str, account_id: str, ciphertext: bytes, admin: bool
    ) -> AccessKey | None:
        row = await self._one(
            "create_key",
            {
                "access_key_id": access_key_id,
                "account_id": account_id,
                "ciphertext": ciphertext,
                "admin": admin,
            },
        )
        return _key(row) if row else None

    async def create_key_once(
        self, marker: str, access_key_id: str, account_id: str, ciphertext: bytes, admin: bool
    ) -> AccessKey | None:
        """The key, created with the ``broker.secrets`` row ``marker`` in one transaction; None
        when the marker was already written (a process that dies in between leaves neither)."""
        params = {
            "access_key_id": access_key_id,
            "account_id": account_id,
            "ciphertext": ciphertext,
            "admin": admin,
        }
        async with self._connection() as conn, conn.transaction():
            cursor = await conn.execute(
                ACCOUNT_QUERIES["claim_marker"],
                {"name": marker, "value": access_key_id.encode("ascii")},
            )
            if await cursor.fetchone() is None:
                return None
            cursor = await conn.execute(ACCOUNT_QUERIES["create_key"], params)
            row = await cursor.fetchone()
            if row is None:  # the key id is taken: the marker is not written either
                raise Conflict(f"Access key {access_key_id} already exists.")
        return _key(row)

    async def get_key(self, access_key_id: str) -> StoredKey | None:
        row = await self._one("get_key", {"access_key_id": access_key_id})
        return StoredKey(_key(row), bytes(row["secret_ciphertext"])) if row else None

    async def list_keys(self, account_id: str | None) -> list[AccessKey]:
        return [_key(row) for row in await self._all("list_keys", {"account_id": account_id})]

    async def set_key_status(self, access_key_id: str, status: KeyStatus) -> AccessKey | None:
        row = await self._one(
            "set_key_status", {"access_key_id": access_key_id, "status": status.value}
        )
        return _key(row) if row else None

    async def set_key_policy(self, access_key_id: str, policy: str | None) -> AccessKey | None:
        row = await self._one("set_key_policy", {"access_key_id": access_key_id, "policy": policy})
        return _key(row) if row else None

    async def delete_key(self, access_key_id: str) -> bool:
        return await self._run("delete_key", {"access_key_id": access_key_id}) > 0

    async def touch_key(self, access_key_id: str) -> None:
        await self._run("touch_key", {"access_key_id": access_key_id})

    async def all_ciphertexts(self) -> list[tuple[str, bytes]]:
        rows = await self._all("all_ciphertexts", {})
        return [(row["access_key_id"], bytes(row["secret_ciphertext"])) for row in rows]

    async def replace_ciphertexts(self, values: Sequence[tuple[str, bytes]]) -> int:
        if not values:
            return 0
        async with self._connection() as conn, conn.transaction():
            cursor = conn.cursor()
            await cursor.executemany(
                self._queries["replace_ciphertext"],
                [{"access_key_id": k, "ciphertext": c} for k, c in values],
            )
        return len(values)

    async def get_secret(self, name: str) -> bytes | None:
        """A ``broker.secrets`` value, without creating it."""
        row = await self._one("get_secret", {"name": name})
        return bytes(row["value"]) if row else None


def _account(row: DictRow) -> Account:
    return Account(row["account_id"], row["name"], row["created_at"])


def _key(row: DictRow) -> AccessKey:
    return AccessKey(
        access_key_id=row["access_key_id"],
        account_id=row["account_id"],
        status=KeyStatus(row["status"]),
        admin=row["admin"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        policy=row["policy"],
    )
