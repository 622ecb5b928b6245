"""The secure defaults of the settings: development credentials, root credentials, TLS."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.config import ConfigError, Settings, loopback


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.5", False),
        ("::", False),
        ("broker.example.com", False),
    ],
)
def test_loopback_addresses(host: str, expected: bool) -> None:
    assert loopback(host) is expected


def test_development_credentials_default_to_loopback_without_root_credentials() -> None:
    assert Settings(host="127.0.0.1").development_credentials_enabled
    assert not Settings(host="0.0.0.0").development_credentials_enabled
    with_root = Settings(host="127.0.0.1", root_access_key_id="k", root_secret_access_key="secret")
    assert not with_root.development_credentials_enabled


def test_development_credentials_on_a_public_address_are_refused_unless_allowed() -> None:
    with pytest.raises(ConfigError, match="not a loopback address"):
        Settings(host="0.0.0.0", development_credentials=True)
    allowed = Settings(
        host="0.0.0.0", development_credentials=True, allow_development_credentials=True
    )
    assert allowed.development_credentials_enabled


def test_from_env_reads_the_auth_settings(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("x")
    key.write_text("x")
    settings = Settings.from_env(
        {
            "BROKER_ROOT_ACCESS_KEY_ID": "AKIDROOT",
            "BROKER_ROOT_SECRET_ACCESS_KEY": "s3cr3t",
            "BROKER_ALLOWED_REGIONS": "eu-west-1, us-east-1",
            "BROKER_RATE_LIMIT_PER_SECOND": "50",
            "BROKER_TLS_CERT_FILE": str(cert),
            "BROKER_TLS_KEY_FILE": str(key),
        }
    )
    assert settings.regions == ("eu-west-1", "us-east-1")
    assert settings.effective_rate_limit_burst == 100
    assert settings.tls_cert_file == cert


@pytest.mark.parametrize(
    "values",
    [
        {"root_access_key_id": "k"},
        {"root_access_key_id": "k", "root_secret_access_key": "ab"},
        {"tls_cert_file": Path("/nonexistent/cert.pem"), "tls_key_file": Path("/x")},
        {"tls_cert_file": Path("/nonexistent/cert.pem")},
        {"rate_limit_per_second": -1.0},
    ],
)
def test_incomplete_or_bad_auth_settings_are_refused(values: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Settings(**values)  # type: ignore[arg-type]
