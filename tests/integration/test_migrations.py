"""Migrations: upgrade from empty, downgrade round trip, and no drift from the schema module."""

from __future__ import annotations

import psycopg

from broker.storage import migrations


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'broker'"
        ).fetchall()
    return {r[0] for r in rows}


def test_upgrade_from_empty_reaches_head(databases):
    url = databases.create(migrated=False)
    assert migrations.current_revision(url) is None
    migrations.upgrade(url)
    assert migrations.current_revision(url) == migrations.head_revision()
    assert {"queues", "messages", "deduplication", "move_tasks"} <= tables(url)


def test_downgrade_round_trip(databases):
    url = databases.create()
    migrations.downgrade(url, "base")
    assert tables(url) == {"alembic_version"}
    migrations.upgrade(url)
    assert migrations.current_revision(url) == migrations.head_revision()
    migrations.check(url)


def test_schema_module_matches_migrations(database_url: str):
    # alembic check: autogenerate finds nothing to do.
    migrations.check(database_url)


def test_message_table_has_autovacuum_settings(database_url: str):
    with psycopg.connect(database_url) as conn:
        [options] = conn.execute(
            "SELECT reloptions FROM pg_class WHERE oid = 'broker.messages'::regclass"
        ).fetchone()
    assert "autovacuum_vacuum_scale_factor=0.01" in options
    assert "fillfactor=85" in options
