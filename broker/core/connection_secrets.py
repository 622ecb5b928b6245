"""Connection secrets at rest: the API key value, basic password and OAuth client secret of an
EventBridge connection, sealed with the cipher that encrypts access-key secrets.

A sealed value is ``SEALED_PREFIX`` followed by the cipher's token; any other string is a
plaintext secret stored before sealing existed and is still read as it is (``broker admin
rotate-encryption-key`` seals it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from broker.core.accounts import SecretCipher

SECRET_FIELDS = frozenset({"Password", "ApiKeyValue", "ClientSecret"})
SEALED_PREFIX = "sealed:v1:"


def _map(parameters: Mapping[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        if isinstance(value, Mapping):
            out[key] = _map(value, change)
        elif key in SECRET_FIELDS and isinstance(value, str):
            out[key] = change(value)
        else:
            out[key] = value
    return out


def is_sealed(value: str) -> bool:
    return value.startswith(SEALED_PREFIX)


def seal(parameters: Mapping[str, Any], cipher: SecretCipher) -> dict[str, Any]:
    """The parameters with every plaintext secret sealed (sealed ones kept as they are)."""

    def sealed(value: str) -> str:
        if is_sealed(value):
            return value
        return SEALED_PREFIX + cipher.encrypt(value.encode()).decode("ascii")

    return _map(parameters, sealed)


def unseal(parameters: Mapping[str, Any], cipher: SecretCipher) -> dict[str, Any]:
    """The parameters with their secrets in clear (``ValueError`` when no key opens one)."""

    def opened(value: str) -> str:
        if not is_sealed(value):
            return value
        return cipher.decrypt(value.removeprefix(SEALED_PREFIX).encode("ascii")).decode()

    return _map(parameters, opened)


def reseal(parameters: Mapping[str, Any], cipher: SecretCipher) -> dict[str, Any] | None:
    """The parameters with every secret (re-)encrypted with the cipher's first key; None when
    they hold no secret."""
    found = False

    def resealed(value: str) -> str:
        nonlocal found
        found = True
        if is_sealed(value):
            token = value.removeprefix(SEALED_PREFIX).encode("ascii")
            return SEALED_PREFIX + cipher.rotate(token).decode("ascii")
        return SEALED_PREFIX + cipher.encrypt(value.encode()).decode("ascii")

    out = _map(parameters, resealed)
    return out if found else None
