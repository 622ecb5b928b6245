"""Accounts and their access keys: creation, listing, status, rotation, and the credential lookup
every signed request makes.

An account is a 12-digit id and a name; every queue, topic and bus belongs to one. An access key
names its account and holds a secret, stored encrypted by a ``SecretCipher`` (the core never sees
the encryption library). ``credentials`` answers the signature verifier from a per-process cache
whose entries live ``cache_seconds``: that is how long a disabled or deleted key keeps working on
a process that saw it just before.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from broker.core.access_policies import PolicyKind, parse_policy
from broker.core.models import DEFAULT_ACCOUNT_ID
from broker.errors import Conflict, InvalidParameterValue, ResourceNotFound

ROOT_ACCOUNT_ID = DEFAULT_ACCOUNT_ID
"""The operator's account: it owns every resource created before accounts existed."""
ROOT_ACCOUNT_NAME = "root"

DEVELOPMENT_ACCESS_KEY_ID = "test"
DEVELOPMENT_SECRET_ACCESS_KEY = "test"
"""Fixed credentials for local development (LocalStack's convention), mapped to the root account."""

LAST_USED_GRANULARITY = timedelta(minutes=1)
"""``last_used_at`` is written at most this often per key and process (not once per request)."""

_CACHE_LIMIT = 10_000
_ACCOUNT_ID = re.compile(r"\d{12}")
_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")
_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

audit = logging.getLogger("broker.audit")


class KeyStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    created_at: datetime


@dataclass(frozen=True)
class AccessKey:
    """An access key without its secret."""

    access_key_id: str
    account_id: str
    status: KeyStatus
    admin: bool
    created_at: datetime
    last_used_at: datetime | None = None
    policy: str | None = None
    """An optional IAM policy document narrowing what the key may do."""


@dataclass(frozen=True)
class IssuedKey:
    """A key just created or rotated: the only time its secret is shown."""

    key: AccessKey
    secret_access_key: str


@dataclass(frozen=True)
class StoredKey:
    key: AccessKey
    ciphertext: bytes


@dataclass(frozen=True)
class Credential:
    """What the signature verifier needs of an active key."""

    access_key_id: str
    secret_access_key: str
    account_id: str
    admin: bool
    policy: str | None = None


class SecretCipher(Protocol):
    """Encryption of secrets at rest: the first configured key encrypts, every key decrypts."""

    def encrypt(self, plaintext: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Raises ``ValueError`` when no configured key opens the ciphertext."""
        ...

    def rotate(self, ciphertext: bytes) -> bytes:
        """The same plaintext, encrypted again with the first key."""
        ...


class AccountStore(Protocol):
    async def create_account(self, account_id: str, name: str) -> Account | None:
        """``None`` when the id or the name is taken."""
        ...

    async def get_account(self, account_id: str) -> Account | None: ...

    async def list_accounts(self) -> list[Account]: ...

    async def create_key(
        self, access_key_id: str, account_id: str, ciphertext: bytes, admin: bool
    ) -> AccessKey | None:
        """``None`` when the key id is taken."""
        ...

    async def create_key_once(
        self, marker: str, access_key_id: str, account_id: str, ciphertext: bytes, admin: bool
    ) -> AccessKey | None:
        """The key and the marker in one transaction; ``None`` when the marker exists,
        ``Conflict`` when the key id is taken."""
        ...

    async def get_key(self, access_key_id: str) -> StoredKey | None: ...

    async def list_keys(self, account_id: str | None) -> list[AccessKey]: ...

    async def set_key_status(self, access_key_id: str, status: KeyStatus) -> AccessKey | None: ...

    async def set_key_policy(self, access_key_id: str, policy: str | None) -> AccessKey | None: ...

    async def delete_key(self, access_key_id: str) -> bool: ...

    async def touch_key(self, access_key_id: str) -> None: ...

    async def all_ciphertexts(self) -> list[tuple[str, bytes]]: ...

    async def replace_ciphertexts(self, values: Sequence[tuple[str, bytes]]) -> int: ...


def new_access_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def new_secret_access_key() -> str:
    return secrets.token_urlsafe(30)


def _new_account_id() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(12))


def account_not_found(account_id: str) -> ResourceNotFound:
    return ResourceNotFound(f"Account {account_id} does not exist.")


def key_not_found(access_key_id: str) -> ResourceNotFound:
    return ResourceNotFound(f"Access key {access_key_id} does not exist.")


class AccountService:
    def __init__(
        self,
        store: AccountStore,
        cipher: SecretCipher | None = None,
        cache_seconds: float = 5.0,
        development_credentials: bool = False,
    ) -> None:
        self._store = store
        self._cipher_ = cipher
        self.cache_seconds = cache_seconds
        self.development_credentials = development_credentials
        self._cache: dict[str, tuple[float, Credential | None]] = {}
        self._touched: dict[str, float] = {}
        self._pending: set[asyncio.Task[None]] = set()

    def use_cipher(self, cipher: SecretCipher) -> None:
        """Set the cipher at start-up (when its key is read from the database)."""
        self._cipher_ = cipher
        self._cache.clear()

    @property
    def _cipher(self) -> SecretCipher:
        if self._cipher_ is None:
            raise RuntimeError("AccountService used before use_cipher()")
        return self._cipher_

    # -- the verifier's lookup ----------------------------------------------------------------

    async def credential(self, access_key_id: str) -> Credential | None:
        """The active key's secret and account, or ``None`` (unknown, disabled or deleted)."""
        if self.development_credentials and access_key_id == DEVELOPMENT_ACCESS_KEY_ID:
            return Credential(
                DEVELOPMENT_ACCESS_KEY_ID, DEVELOPMENT_SECRET_ACCESS_KEY, ROOT_ACCOUNT_ID, True
            )
        now = time.monotonic()
        cached = self._cache.get(access_key_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        credential = self._credential(await self._store.get_key(access_key_id))
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()  # unknown ids sent in bulk must not grow memory
        self._cache[access_key_id] = (now + self.cache_seconds, credential)
        return credential

    def _credential(self, stored: StoredKey | None) -> Credential | None:
        """The usable credential of a stored key (decrypted once per cache period)."""
        if stored is None or stored.key.status is not KeyStatus.ACTIVE:
            return None
        key = stored.key
        try:
            secret = self._cipher.decrypt(stored.ciphertext).decode("utf-8")
        except ValueError:
            audit.error(
                "cannot decrypt the secret of an access key: is BROKER_SECRET_ENCRYPTION_KEY "
                "missing a key?",
                extra={"event": "key.undecryptable", "access_key_id": key.access_key_id},
            )
            return None
        return Credential(key.access_key_id, secret, key.account_id, key.admin, key.policy)

    def used(self, access_key_id: str) -> None:
        """Note a verified request: ``last_used_at`` is written in the background, rarely."""
        now = time.monotonic()
        if now - self._touched.get(access_key_id, -1e9) < LAST_USED_GRANULARITY.total_seconds():
            return
        if access_key_id == DEVELOPMENT_ACCESS_KEY_ID and self.development_credentials:
            return
        if len(self._touched) >= _CACHE_LIMIT:
            self._touched.clear()
        self._touched[access_key_id] = now
        task = asyncio.get_running_loop().create_task(self._store.touch_key(access_key_id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def forget(self, access_key_id: str) -> None:
        """Drop this process's cached copy (the admin endpoints call it after a change)."""
        self._cache.pop(access_key_id, None)

    # -- administration -------------------------------------------------------------------------

    async def create_account(self, name: str, account_id: str | None = None) -> Account:
        if not _NAME.fullmatch(name):
            raise InvalidParameterValue(
                "Account name must be 1 to 64 letters, digits or +=,.@_- characters."
            )
        if account_id is not None and not _ACCOUNT_ID.fullmatch(account_id):
            raise InvalidParameterValue("Account id must be 12 digits.")
        for _ in range(5):
            candidate = account_id or _new_account_id()
            account = await self._store.create_account(candidate, name)
            if account is not None:
                audit.info(
                    "account created",
                    extra={
                        "event": "account.create",
                        "account_id": candidate,
                        "account_name": name,
                    },
                )
                return account
            if account_id is not None or any(
                a.name == name for a in await self._store.list_accounts()
            ):
                break
        raise Conflict(f"An account with the name {name} or id {account_id} already exists.")

    async def ensure_root_account(self) -> Account:
        account = await self._store.get_account(ROOT_ACCOUNT_ID)
        if account is not None:
            return account
        created = await self._store.create_account(ROOT_ACCOUNT_ID, ROOT_ACCOUNT_NAME)
        found = created or await self._store.get_account(ROOT_ACCOUNT_ID)
        assert found is not None
        return found

    async def account(self, account_id: str) -> Account:
        account = await self._store.get_account(account_id)
        if account is None:
            raise account_not_found(account_id)
        return account

    async def list_accounts(self) -> list[Account]:
        return await self._store.list_accounts()

    async def create_key(
        self,
        account_id: str,
        admin: bool = False,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> IssuedKey:
        """A new key for the account; ``access_key_id``/``secret_access_key`` import a known
        pair (the root credentials from configuration)."""
        await self.account(account_id)
        secret = secret_access_key or new_secret_access_key()
        if access_key_id is not None and not 3 <= len(access_key_id) <= 128:
            raise InvalidParameterValue("Access key id must be 3 to 128 characters.")
        ciphertext = self._cipher.encrypt(secret.encode("utf-8"))
        key = await self._store.create_key(
            access_key_id or new_access_key_id(), account_id, ciphertext, admin
        )
        if key is None:
            raise Conflict(f"Access key {access_key_id} already exists.")
        return _issued(key, secret)

    async def create_key_once(
        self, account_id: str, marker: str, admin: bool = False
    ) -> IssuedKey | None:
        """A new key for the account, made by the first caller to claim ``marker`` (in the same
        transaction as the key, so a crash leaves neither); None for every later caller."""
        await self.account(account_id)
        secret = new_secret_access_key()
        ciphertext = self._cipher.encrypt(secret.encode("utf-8"))
        key = await self._store.create_key_once(
            marker, new_access_key_id(), account_id, ciphertext, admin
        )
        if key is None:
            return None
        return _issued(key, secret)

    async def ensure_key(
        self, account_id: str, access_key_id: str, secret_access_key: str, admin: bool
    ) -> AccessKey:
        """The configured key, created or re-keyed so it holds exactly this secret."""
        stored = await self._store.get_key(access_key_id)
        if stored is None:
            try:
                issued = await self.create_key(account_id, admin, access_key_id, secret_access_key)
            except Conflict:  # another process created it first
                stored = await self._store.get_key(access_key_id)
                assert stored is not None
            else:
                return issued.key
        if stored.key.account_id != account_id:
            raise Conflict(f"Access key {access_key_id} belongs to another account.")
        try:
            current = self._cipher.decrypt(stored.ciphertext).decode("utf-8")
        except ValueError:
            current = None
        if current != secret_access_key:
            ciphertext = self._cipher.encrypt(secret_access_key.encode("utf-8"))
            await self._store.replace_ciphertexts([(access_key_id, ciphertext)])
            audit.info(
                "access key secret replaced from configuration",
                extra={"event": "key.reset", "access_key_id": access_key_id},
            )
        if stored.key.status is not KeyStatus.ACTIVE:
            await self._store.set_key_status(access_key_id, KeyStatus.ACTIVE)
        return stored.key

    async def key(self, access_key_id: str) -> AccessKey:
        stored = await self._store.get_key(access_key_id)
        if stored is None:
            raise key_not_found(access_key_id)
        return stored.key

    async def list_keys(self, account_id: str | None = None) -> list[AccessKey]:
        if account_id is not None:
            await self.account(account_id)
        return await self._store.list_keys(account_id)

    async def set_key_status(self, access_key_id: str, status: KeyStatus) -> AccessKey:
        key = await self._store.set_key_status(access_key_id, status)
        if key is None:
            raise key_not_found(access_key_id)
        self.forget(access_key_id)
        event = "key.enable" if status is KeyStatus.ACTIVE else "key.disable"
        audit.info(
            "access key enabled" if status is KeyStatus.ACTIVE else "access key disabled",
            extra={"event": event, "account_id": key.account_id, "access_key_id": access_key_id},
        )
        return key

    async def set_key_policy(self, access_key_id: str, policy: str | None) -> AccessKey:
        if policy is not None:
            parse_policy(policy, kind=PolicyKind.IDENTITY)  # InvalidPolicyDocument
        key = await self._store.set_key_policy(access_key_id, policy)
        if key is None:
            raise key_not_found(access_key_id)
        self.forget(access_key_id)
        audit.info(
            "access key policy set" if policy else "access key policy removed",
            extra={
                "event": "key.policy",
                "account_id": key.account_id,
                "access_key_id": access_key_id,
            },
        )
        return key

    async def delete_key(self, access_key_id: str) -> None:
        key = await self.key(access_key_id)
        if not await self._store.delete_key(access_key_id):
            raise key_not_found(access_key_id)
        self.forget(access_key_id)
        audit.info(
            "access key deleted",
            extra={
                "event": "key.delete",
                "account_id": key.account_id,
                "access_key_id": key.access_key_id,
            },
        )

    async def rotate_key(self, access_key_id: str) -> IssuedKey:
        """A new key for the same account (same admin flag and policy); the old one is disabled,
        so it can be enabled again if a client was missed, then deleted."""
        old = await self.key(access_key_id)
        issued = await self.create_key(old.account_id, old.admin)
        if old.policy is not None:
            await self._store.set_key_policy(issued.key.access_key_id, old.policy)
        await self.set_key_status(access_key_id, KeyStatus.INACTIVE)
        audit.info(
            "access key rotated",
            extra={
                "event": "key.rotate",
                "account_id": old.account_id,
                "access_key_id": access_key_id,
                "new_access_key_id": issued.key.access_key_id,
            },
        )
        return IssuedKey(
            AccessKey(**{**issued.key.__dict__, "policy": old.policy}), issued.secret_access_key
        )

    async def reencrypt_secrets(self) -> int:
        """Encrypt every stored secret with the first configured key; the count re-encrypted."""
        rotated = [
            (key_id, self._cipher.rotate(ct)) for key_id, ct in await self._store.all_ciphertexts()
        ]
        count = await self._store.replace_ciphertexts(rotated)
        self._cache.clear()
        audit.info("secrets re-encrypted", extra={"event": "secrets.reencrypt", "count": count})
        return count


def _issued(key: AccessKey, secret: str) -> IssuedKey:
    """A key just created, with its secret; the creation goes to the audit log (never the
    secret)."""
    audit.info(
        "access key created",
        extra={
            "event": "key.create",
            "account_id": key.account_id,
            "access_key_id": key.access_key_id,
            "admin": key.admin,
        },
    )
    return IssuedKey(key, secret)
