"""Topics, subscriptions, FIFO topic deduplication, the HTTP outbox and broker.publish_message.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = "broker"
TZ = postgresql.TIMESTAMP(timezone=True)

# Transactional publish: an application sharing the database publishes inside its own
# transaction. The row commits (or rolls back) with the caller's transaction; a broker process
# then fans it out to the topic's subscriptions, filter policies applied, and deletes it in the
# same transaction, so each publication is delivered exactly once to every matching queue.
PUBLISH_MESSAGE = r"""
CREATE FUNCTION broker.publish_message(
    topic_name text,
    message text,
    subject text DEFAULT NULL,
    message_attributes jsonb DEFAULT NULL,
    message_group_id text DEFAULT NULL,
    deduplication_id text DEFAULT NULL,
    account_id text DEFAULT '000000000000'
) RETURNS uuid
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_topic broker.topics%ROWTYPE;
    v_message_id uuid := gen_random_uuid();
    v_attr record;
    v_type text;
BEGIN
    SELECT * INTO v_topic FROM broker.topics t
    WHERE t.account_id = publish_message.account_id AND t.name = publish_message.topic_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Topic does not exist: %', publish_message.topic_name
            USING ERRCODE = 'no_data_found';
    END IF;
    IF publish_message.message IS NULL OR publish_message.message = '' THEN
        RAISE EXCEPTION 'Invalid parameter: Empty message' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF octet_length(publish_message.message) > 262144 THEN
        RAISE EXCEPTION 'Invalid parameter: Message too long' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF publish_message.message_attributes IS NOT NULL THEN
        IF jsonb_typeof(publish_message.message_attributes) <> 'object' THEN
            RAISE EXCEPTION 'message_attributes must be a JSON object'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR v_attr IN SELECT key, value FROM jsonb_each(publish_message.message_attributes) LOOP
            v_type := v_attr.value ->> 'DataType';
            IF v_attr.key !~ '^[A-Za-z0-9_.-]+$' OR length(v_attr.key) > 256
               OR jsonb_typeof(v_attr.value) <> 'object'
               OR v_type IS NULL
               OR NOT (v_type ~ '^(String|Number|Binary)(\..*)?$')
               OR (v_type ~ '^Binary' AND jsonb_typeof(v_attr.value -> 'BinaryValue') IS DISTINCT FROM 'string')
               OR (v_type !~ '^Binary' AND jsonb_typeof(v_attr.value -> 'StringValue') IS DISTINCT FROM 'string')
            THEN
                RAISE EXCEPTION 'Message attribute % is invalid: expected {"DataType": ..., "StringValue"|"BinaryValue": ...}',
                    v_attr.key USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
    END IF;
    IF v_topic.fifo THEN
        IF publish_message.message_group_id IS NULL THEN
            RAISE EXCEPTION 'Invalid parameter: The MessageGroupId parameter is required for FIFO topics'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF publish_message.deduplication_id IS NULL
           AND coalesce(v_topic.attributes ->> 'ContentBasedDeduplication', 'false') <> 'true' THEN
            RAISE EXCEPTION 'Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    ELSIF publish_message.deduplication_id IS NOT NULL THEN
        RAISE EXCEPTION 'Invalid parameter: MessageDeduplicationId is only valid for FIFO topics'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO broker.publications (
        topic_id, message_id, message, subject, attributes, group_id, dedup_id, sender_id
    ) VALUES (
        v_topic.id, v_message_id, publish_message.message, publish_message.subject,
        nullif(publish_message.message_attributes, '{}'::jsonb), publish_message.message_group_id,
        publish_message.deduplication_id, current_user
    );
    RETURN v_message_id;
END
$fn$;
"""


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("arn", sa.Text, nullable=False),
        sa.Column("fifo", sa.Boolean, nullable=False),
        sa.Column("attributes", postgresql.JSONB, nullable=False),
        sa.Column("tags", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    op.create_index("topics_arn", "topics", ["arn"], unique=True, schema=S)
    op.create_index("topics_by_account", "topics", ["account_id", "arn"], schema=S)
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("arn", sa.Text, nullable=False),
        sa.Column(
            "topic_id",
            sa.BigInteger,
            sa.ForeignKey(f"{S}.topics.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("topic_arn", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("protocol", sa.Text, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column(
            "attributes", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
        sa.Column("confirmed", sa.Boolean, nullable=False),
        sa.Column("token", sa.Text),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    op.create_index("subscriptions_arn", "subscriptions", ["arn"], unique=True, schema=S)
    op.create_index(
        "subscriptions_endpoint",
        "subscriptions",
        ["topic_id", "protocol", "endpoint"],
        unique=True,
        schema=S,
    )
    op.create_index("subscriptions_by_account", "subscriptions", ["account_id", "id"], schema=S)
    op.create_table(
        "topic_deduplication",
        sa.Column("topic_id", sa.BigInteger, primary_key=True),
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("dedup_id", sa.Text, primary_key=True),
        sa.Column("message_id", postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column("sequence_number", sa.BigInteger, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        schema=S,
    )
    op.create_index("topic_deduplication_expiry", "topic_deduplication", ["expires_at"], schema=S)
    op.create_table(
        "deliveries",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.BigInteger, nullable=False),
        sa.Column("subscription_arn", sa.Text, nullable=False),
        sa.Column("topic_arn", sa.Text, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("message_type", sa.Text, nullable=False),
        sa.Column("message_id", postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("raw", sa.Boolean, nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("dead_letter_arn", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", TZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    op.create_index("deliveries_due", "deliveries", ["next_attempt_at"], schema=S)
    op.create_index("deliveries_by_subscription", "deliveries", ["subscription_id"], schema=S)
    op.create_table(
        "publications",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("topic_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("attributes", postgresql.JSONB),
        sa.Column("group_id", sa.Text),
        sa.Column("dedup_id", sa.Text),
        sa.Column("sender_id", sa.Text),
        sa.Column("next_attempt_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    op.create_index("publications_due", "publications", ["next_attempt_at"], schema=S)
    op.execute(PUBLISH_MESSAGE)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {S}.publish_message")
    for table in (
        "publications",
        "deliveries",
        "topic_deduplication",
        "subscriptions",
        "topics",
    ):
        op.drop_table(table, schema=S)
