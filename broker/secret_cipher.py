"""Encryption of access-key secrets at rest (the core's ``SecretCipher``), with Fernet.

``BROKER_SECRET_ENCRYPTION_KEY`` is a comma-separated list of Fernet keys: the first encrypts,
every one decrypts, so a key is rotated by putting a new one first, running
``broker admin rotate-encryption-key``, then removing the old one. Like ``broker.signing`` this
is a leaf module: the one place besides it that imports ``cryptography``.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

DATABASE_KEY_NAME = "access-key-encryption"
"""The ``broker.secrets`` row holding a generated key when none is configured."""


def new_encryption_key() -> str:
    return Fernet.generate_key().decode("ascii")


def parse_keys(value: str) -> list[str]:
    """The keys of a ``BROKER_SECRET_ENCRYPTION_KEY`` value; ``ValueError`` for a malformed one."""
    keys = [k.strip() for k in value.split(",") if k.strip()]
    for key in keys:
        Fernet(key.encode("ascii"))  # raises ValueError for anything but 32 url-safe base64 bytes
    return keys


class FernetCipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        try:
            return self._fernet.decrypt(ciphertext)
        except InvalidToken:
            raise ValueError("no configured key decrypts this secret") from None

    def rotate(self, ciphertext: bytes) -> bytes:
        try:
            return self._fernet.rotate(ciphertext)
        except InvalidToken:
            raise ValueError("no configured key decrypts this secret") from None
