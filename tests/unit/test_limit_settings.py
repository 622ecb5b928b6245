"""The limit settings are read from the environment and validated before the server binds."""

from __future__ import annotations

import pytest

from broker.config import ConfigError, Settings


def test_limits_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "BROKER_BODY_TIMEOUT_SECONDS": "5",
            "BROKER_MAX_LONG_POLLS": "10",
            "BROKER_MAX_CONNECTIONS": "100",
            "BROKER_KEEP_ALIVE_SECONDS": "30",
        }
    )
    assert settings.body_timeout_seconds == 5.0
    assert settings.max_long_polls == 10
    assert settings.max_connections == 100
    assert settings.keep_alive_seconds == 30.0


@pytest.mark.parametrize(
    "variable",
    [
        "BROKER_BODY_TIMEOUT_SECONDS=0",
        "BROKER_KEEP_ALIVE_SECONDS=-1",
        "BROKER_MAX_LONG_POLLS=0",
        "BROKER_MAX_CONNECTIONS=0",
    ],
)
def test_a_limit_that_would_refuse_everything_is_a_configuration_error(variable: str) -> None:
    name, _, value = variable.partition("=")
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
