"""A credential source over a fixed table: the accounts port without a database, for unit tests
of the verifier and the endpoints (the AccountService over PostgreSQL is tested in integration)."""

from __future__ import annotations

from broker.core.accounts import Credential
from broker.core.models import DEFAULT_ACCOUNT_ID


class KeyTable:
    def __init__(self, secrets: dict[str, str], account_id: str = DEFAULT_ACCOUNT_ID) -> None:
        self.secrets = secrets
        self.account_id = account_id
        self.used_keys: list[str] = []

    async def credential(self, access_key_id: str) -> Credential | None:
        secret = self.secrets.get(access_key_id)
        if secret is None:
            return None
        return Credential(access_key_id, secret, self.account_id, admin=True)

    def used(self, access_key_id: str) -> None:
        self.used_keys.append(access_key_id)
