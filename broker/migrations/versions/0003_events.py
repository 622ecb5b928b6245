"""EventBridge: buses, rules, targets, connections, API destinations, archives and replays; the
HTTP outbox learns a second kind of row (event targets).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "broker"
TZ = postgresql.TIMESTAMP(timezone=True)


def _named(table: str, *columns: sa.Column[Any]) -> None:
    """A named account resource: id, account, name, ARN, the given columns, timestamps."""
    op.create_table(
        table,
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("arn", sa.Text, nullable=False),
        *columns,
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("modified_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    op.create_index(f"{table}_arn", table, ["arn"], unique=True, schema=S)
    op.create_index(f"{table}_by_account", table, ["account_id", "name"], unique=True, schema=S)


def upgrade() -> None:
    _named(
        "event_buses",
        sa.Column("description", sa.Text),
        sa.Column("version", sa.BigInteger, nullable=False, server_default=sa.text("0")),
    )
    op.create_table(
        "event_rules",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "bus_id",
            sa.BigInteger,
            sa.ForeignKey(f"{S}.event_buses.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("arn", sa.Text, nullable=False),
        sa.Column("event_pattern", sa.Text),
        sa.Column("schedule_expression", sa.Text),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("role_arn", sa.Text),
        sa.Column("tags", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("next_fire_at", TZ),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    op.create_index("event_rules_arn", "event_rules", ["arn"], unique=True, schema=S)
    op.create_index("event_rules_name", "event_rules", ["bus_id", "name"], unique=True, schema=S)
    op.create_index(
        "event_rules_due",
        "event_rules",
        ["next_fire_at"],
        schema=S,
        postgresql_where=sa.text("next_fire_at IS NOT NULL"),
    )
    op.create_table(
        "event_targets",
        sa.Column(
            "rule_id",
            sa.BigInteger,
            sa.ForeignKey(f"{S}.event_rules.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("target_id", sa.Text, primary_key=True),
        sa.Column("arn", sa.Text, nullable=False),
        sa.Column("definition", postgresql.JSONB, nullable=False),
        schema=S,
    )
    op.create_index("event_targets_by_arn", "event_targets", ["arn"], schema=S)
    _named(
        "event_connections",
        sa.Column("description", sa.Text),
        sa.Column("authorization_type", sa.Text, nullable=False),
        sa.Column("auth_parameters", postgresql.JSONB, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
    )
    _named(
        "api_destinations",
        sa.Column("description", sa.Text),
        sa.Column("connection_arn", sa.Text, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("http_method", sa.Text, nullable=False),
        sa.Column("rate_limit", sa.Integer),
        sa.Column("state", sa.Text, nullable=False),
    )
    _named(
        "event_archives",
        sa.Column("source_arn", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("event_pattern", sa.Text),
        sa.Column("retention_days", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
    )
    op.create_table(
        "archived_events",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column(
            "archive_id",
            sa.BigInteger,
            sa.ForeignKey(f"{S}.event_archives.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_time", TZ, nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("archived_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    op.create_index(
        "archived_events_by_time", "archived_events", ["archive_id", "event_time"], schema=S
    )
    op.create_index("archived_events_age", "archived_events", ["archived_at"], schema=S)
    _named(
        "event_replays",
        sa.Column("archive_arn", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("destination_arn", sa.Text, nullable=False),
        sa.Column("filter_arns", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("event_start_time", TZ, nullable=False),
        sa.Column("event_end_time", TZ, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("state_reason", sa.Text),
        sa.Column("last_replayed", TZ),
        sa.Column("replay_cursor", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("replay_start_time", TZ),
        sa.Column("replay_end_time", TZ),
    )
    # The outbox carries event-target POSTs too: `kind` tells them apart and `details` holds
    # what an event delivery needs (destination, retry policy, dead-letter attributes).
    op.alter_column("deliveries", "subscription_id", nullable=True, schema=S)
    op.add_column(
        "deliveries",
        sa.Column("kind", sa.Text, nullable=False, server_default=sa.text("'sns'")),
        schema=S,
    )
    op.add_column("deliveries", sa.Column("details", postgresql.JSONB), schema=S)


def downgrade() -> None:
    op.execute(f"DELETE FROM {S}.deliveries WHERE kind <> 'sns'")
    op.drop_column("deliveries", "details", schema=S)
    op.drop_column("deliveries", "kind", schema=S)
    op.alter_column("deliveries", "subscription_id", nullable=False, schema=S)
    for table in (
        "event_replays",
        "archived_events",
        "event_archives",
        "api_destinations",
        "event_connections",
        "event_targets",
        "event_rules",
        "event_buses",
    ):
        op.drop_table(table, schema=S)
