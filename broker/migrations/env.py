"""Alembic environment: migrations target ``broker.storage.schema.metadata`` in schema ``broker``.

The connection comes from ``broker.storage.migrations`` (``broker migrate``); with the plain
``alembic`` command, set ``BROKER_DATABASE_URL``.
"""

from __future__ import annotations

import os
from typing import Any

from alembic import context
from sqlalchemy import Connection, text

from broker.storage.schema import SCHEMA, metadata

config = context.config


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    # Only our schema: an application sharing the database keeps its own tables to itself.
    if type_ == "schema":
        return name == SCHEMA
    return True


def run(connection: Connection) -> None:
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    connection.commit()
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=SCHEMA,
        include_schemas=True,
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        # One migrator at a time, when several broker processes start together.
        context.execute(text("SELECT pg_advisory_xact_lock(1651665779)"))
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    from broker.storage.migrations import connect

    with connect(os.environ["BROKER_DATABASE_URL"]) as own:
        run(own)
        own.commit()
