"""Event bus resource policies (PutPermission / RemovePermission).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

S = "broker"


def upgrade() -> None:
    # Expand-only: a replica of the previous release neither reads nor writes the column.
    op.add_column("event_buses", sa.Column("policy", sa.Text), schema=S)


def downgrade() -> None:
    op.drop_column("event_buses", "policy", schema=S)
