"""Real-PostgreSQL fixtures shared by the integration and acceptance tiers.

The server is ``BROKER_TEST_DATABASE_URL`` when set, else the embedded default (pgserver) under
``.data/test-postgres``. One template database is migrated per run; each test module (or test that
asks for ``fresh_database_url``) gets its own ``CREATE DATABASE ... TEMPLATE`` copy.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import conninfo as pg_conninfo

ROOT = Path(__file__).resolve().parents[1]


def _server_url() -> tuple[str, Any]:
    url = os.environ.get("BROKER_TEST_DATABASE_URL")
    if url:
        return url, None
    from broker import embedded

    return embedded.start(ROOT / ".data" / "test")


def _with_dbname(url: str, dbname: str) -> str:
    return pg_conninfo.make_conninfo(url, dbname=dbname)


def _admin(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    url, handle = _server_url()
    yield url
    del handle


@pytest.fixture(scope="session")
def template_url(server_url: str) -> Iterator[str]:
    from broker.storage import migrations

    name = f"broker_template_{uuid.uuid4().hex[:8]}"
    with _admin(server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_dbname(server_url, name)
    migrations.upgrade(url)
    yield url
    with _admin(server_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class DatabaseFactory:
    """Creates migrated copies of the template database and drops them at the end."""

    def __init__(self, server_url: str, template_url: str) -> None:
        self.server_url = server_url
        self.template = pg_conninfo.conninfo_to_dict(template_url)["dbname"]
        self.created: list[str] = []

    def create(self, migrated: bool = True) -> str:
        name = f"broker_test_{uuid.uuid4().hex[:10]}"
        template = f' TEMPLATE "{self.template}"' if migrated else ""
        with _admin(self.server_url) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        self.created.append(name)
        return _with_dbname(self.server_url, name)

    def drop_all(self) -> None:
        with _admin(self.server_url) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


@pytest.fixture(scope="session")
def databases(server_url: str, template_url: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(server_url, template_url)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="module")
def database_url(databases: DatabaseFactory) -> str:
    """A migrated database shared by the tests of one module."""
    return databases.create()


@pytest.fixture
def fresh_database_url(databases: DatabaseFactory) -> str:
    """A migrated database of this test's own."""
    return databases.create()
