"""Accounts and access keys (secrets encrypted by the application).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

S = "broker"
TZ = postgresql.TIMESTAMP(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    op.create_index("accounts_name", "accounts", ["name"], unique=True, schema=S)
    # Every resource so far belongs to the default account: it becomes the root account.
    op.execute("INSERT INTO broker.accounts (account_id, name) VALUES ('000000000000', 'root')")
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.Text, primary_key=True),
        sa.Column(
            "account_id",
            sa.Text,
            sa.ForeignKey(f"{S}.accounts.account_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("secret_ciphertext", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'Active'")),
        sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("policy", sa.Text),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("last_used_at", TZ),
        schema=S,
    )
    op.create_index(
        "access_keys_by_account", "access_keys", ["account_id", "access_key_id"], schema=S
    )


def downgrade() -> None:
    op.drop_table("access_keys", schema=S)
    op.drop_table("accounts", schema=S)
