"""Connection secrets sealed at rest: sealing, opening (old plaintext rows included) and
re-sealing with a rotated key."""

from __future__ import annotations

import json

import pytest

from broker.core.connection_secrets import SEALED_PREFIX, is_sealed, reseal, seal, unseal
from broker.secret_cipher import FernetCipher, new_encryption_key

OAUTH = {
    "AuthorizationEndpoint": "https://auth.example/token",
    "HttpMethod": "POST",
    "ClientParameters": {"ClientID": "id-1", "ClientSecret": "client-secret"},
    "OAuthHttpParameters": {"HeaderParameters": [{"Key": "k", "Value": "v"}]},
}
PARAMETERS = {
    "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "api-secret"},
    "BasicAuthParameters": {"Username": "user", "Password": "pass-secret"},
    "OAuthParameters": OAUTH,
}


def test_every_secret_is_sealed_and_nothing_else() -> None:
    cipher = FernetCipher([new_encryption_key()])
    sealed = seal(PARAMETERS, cipher)
    text = json.dumps(sealed)
    for secret in ("api-secret", "pass-secret", "client-secret"):
        assert secret not in text
    assert sealed["ApiKeyAuthParameters"]["ApiKeyName"] == "x-api-key"
    assert sealed["BasicAuthParameters"]["Username"] == "user"
    assert sealed["OAuthParameters"]["ClientParameters"]["ClientID"] == "id-1"
    assert sealed["OAuthParameters"]["OAuthHttpParameters"] == OAUTH["OAuthHttpParameters"]
    assert is_sealed(sealed["BasicAuthParameters"]["Password"])
    assert unseal(sealed, cipher) == PARAMETERS


def test_sealing_twice_keeps_the_sealed_value() -> None:
    cipher = FernetCipher([new_encryption_key()])
    once = seal(PARAMETERS, cipher)
    assert seal(once, cipher) == once


def test_old_plaintext_rows_are_read_as_they_are() -> None:
    cipher = FernetCipher([new_encryption_key()])
    assert unseal(PARAMETERS, cipher) == PARAMETERS


def test_reseal_moves_every_secret_to_the_first_key() -> None:
    old_key, new_key = new_encryption_key(), new_encryption_key()
    sealed_with_old = seal(PARAMETERS, FernetCipher([old_key]))
    mixed = {**sealed_with_old, "BasicAuthParameters": PARAMETERS["BasicAuthParameters"]}
    resealed = reseal(mixed, FernetCipher([new_key, old_key]))
    assert resealed is not None
    assert unseal(resealed, FernetCipher([new_key])) == PARAMETERS
    with pytest.raises(ValueError, match="no configured key"):
        unseal(resealed, FernetCipher([old_key]))


def test_reseal_leaves_parameters_without_secrets_alone() -> None:
    cipher = FernetCipher([new_encryption_key()])
    assert reseal({"InvocationHttpParameters": {"BodyParameters": []}}, cipher) is None


def test_a_value_sealed_by_an_unknown_key_does_not_open() -> None:
    sealed = seal(PARAMETERS, FernetCipher([new_encryption_key()]))
    with pytest.raises(ValueError, match="no configured key"):
        unseal(sealed, FernetCipher([new_encryption_key()]))
    assert sealed["ApiKeyAuthParameters"]["ApiKeyValue"].startswith(SEALED_PREFIX)
