"""Acceptance fixtures: real ``broker serve`` processes on a migrated database, real clients.

Every module gets its own broker process (``broker_url``) on its own database copy. A module
changes the server's environment by overriding the module-scoped ``broker_env`` fixture, and
starts extra processes (on the same or another database) with ``start_broker``.

Each server's stderr goes to a file; when a test fails, the tail of every running server's log is
attached to the failure report.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from accept_support import (
    ACCESS_KEY,
    SECRET_KEY,
    BrokerProcess,
    StartBroker,
    aws_cli_env,
    make_sqs_client,
)
from click.testing import CliRunner

from broker.cli import main

# Servers alive right now, so a failing test's report can show their logs.
RUNNING: list[BrokerProcess] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for server in RUNNING:
            report.sections.append(
                (
                    f"broker {server.url} ({server.status()}) log tail ({server.log_path})",
                    server.log_tail(),
                )
            )


@pytest.fixture(scope="session")
def broker_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("broker-logs")


@pytest.fixture(scope="module")
def start_broker(broker_log_dir: Path) -> Iterator[StartBroker]:
    """Start broker processes: ``start_broker(database_url, env)``. They are stopped with SIGTERM
    at the end of the module, which fails unless each exits cleanly with no traceback logged."""
    started: list[BrokerProcess] = []

    def start(database_url: str, env: Mapping[str, str] | None = None) -> BrokerProcess:
        server = BrokerProcess(database_url, env or {}, broker_log_dir)
        started.append(server)
        RUNNING.append(server)
        server.wait_ready()
        return server

    yield start
    problems = []
    for server in started:
        RUNNING.remove(server)
        problems.extend(server.stop_problems())
    assert not problems, "\n\n".join(problems)


@pytest.fixture(scope="module")
def broker_env() -> dict[str, str]:
    """Environment overrides of the module's server; override in a module to change them."""
    return {}


@pytest.fixture(scope="module")
def broker(
    start_broker: StartBroker, database_url: str, broker_env: dict[str, str]
) -> BrokerProcess:
    return start_broker(database_url, broker_env)


@pytest.fixture(scope="module")
def broker_url(broker: BrokerProcess) -> str:
    return broker.url


@pytest.fixture(scope="module")
def sqs(broker_url: str) -> Any:
    return make_sqs_client(broker_url)


@pytest.fixture
def queue_name(request: pytest.FixtureRequest) -> str:
    """A queue name unique to this test (and to this run)."""
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:50].strip("-")
    return f"{base}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return aws_cli_env(tmp_path_factory.mktemp("aws-home"))


@pytest.fixture(scope="module")
def broker_cli_env(broker_url: str) -> dict[str, str]:
    """The environment of the broker's own client commands."""
    return {
        "BROKER_ENDPOINT_URL": broker_url,
        "BROKER_ACCESS_KEY_ID": ACCESS_KEY,
        "BROKER_SECRET_ACCESS_KEY": SECRET_KEY,
    }


@pytest.fixture
def broker_cli(broker_cli_env: dict[str, str]) -> Any:
    """``broker ...`` client commands through click's runner: their output, exit code checked."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, code: int = 0) -> str:
        result = runner.invoke(
            main, list(args), env=broker_cli_env, input=input, catch_exceptions=False
        )
        assert result.exit_code == code, result.output
        return result.output

    return run
