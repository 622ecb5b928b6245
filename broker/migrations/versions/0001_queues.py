"""Queues, messages, FIFO deduplication, move tasks and the SQL enqueue function.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

S = "broker"
TZ = postgresql.TIMESTAMP(timezone=True)

# Transactional enqueue: an application sharing the database sends inside its own transaction.
# It applies the same rules as the broker's send path: the queue's delay, retention, size limit
# and FIFO deduplication; broker processes are woken by NOTIFY when the transaction commits.
SEND_MESSAGE = r"""
CREATE FUNCTION broker.send_message(
    queue_name text,
    body text,
    message_attributes jsonb DEFAULT NULL,
    delay_seconds integer DEFAULT NULL,
    message_group_id text DEFAULT NULL,
    deduplication_id text DEFAULT NULL,
    account_id text DEFAULT '000000000000'
) RETURNS uuid
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_queue broker.queues%ROWTYPE;
    v_message_id uuid := gen_random_uuid();
    v_dedup text := send_message.deduplication_id;
    v_scope text := '';
    v_existing uuid;
    v_row bigint;
    v_attr record;
    v_type text;
BEGIN
    SELECT * INTO v_queue FROM broker.queues q
    WHERE q.account_id = send_message.account_id AND q.name = send_message.queue_name
      AND q.deleted_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'The specified queue does not exist: %', send_message.queue_name
            USING ERRCODE = 'no_data_found';
    END IF;
    IF send_message.body IS NULL OR send_message.body = '' THEN
        RAISE EXCEPTION 'The message body must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF send_message.body ~ '[\x01-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]' THEN
        RAISE EXCEPTION 'Invalid characters found in the message body'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF octet_length(send_message.body) > (v_queue.attributes ->> 'MaximumMessageSize')::int THEN
        RAISE EXCEPTION 'Message must be shorter than % bytes',
            v_queue.attributes ->> 'MaximumMessageSize' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF send_message.message_attributes IS NOT NULL THEN
        IF jsonb_typeof(send_message.message_attributes) <> 'object' THEN
            RAISE EXCEPTION 'message_attributes must be a JSON object'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR v_attr IN SELECT key, value FROM jsonb_each(send_message.message_attributes) LOOP
            v_type := split_part(v_attr.value ->> 'DataType', '.', 1);
            IF v_attr.key !~ '^[A-Za-z0-9_.-]+$' OR length(v_attr.key) > 256
               OR jsonb_typeof(v_attr.value) <> 'object'
               OR v_type NOT IN ('String', 'Number', 'Binary')
               OR (v_type = 'Binary' AND jsonb_typeof(v_attr.value -> 'BinaryValue') IS DISTINCT FROM 'string')
               OR (v_type <> 'Binary' AND jsonb_typeof(v_attr.value -> 'StringValue') IS DISTINCT FROM 'string')
            THEN
                RAISE EXCEPTION 'Message attribute % is invalid: expected {"DataType": ..., "StringValue"|"BinaryValue": ...}',
                    v_attr.key USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
    END IF;
    IF send_message.delay_seconds IS NOT NULL
       AND (v_queue.fifo OR send_message.delay_seconds NOT BETWEEN 0 AND 900) THEN
        RAISE EXCEPTION 'delay_seconds must be 0 to 900, and only on standard queues'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_queue.fifo THEN
        IF send_message.message_group_id IS NULL THEN
            RAISE EXCEPTION 'A FIFO queue needs a message_group_id'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF v_dedup IS NULL THEN
            IF v_queue.attributes ->> 'ContentBasedDeduplication' = 'true' THEN
                v_dedup := encode(sha256(convert_to(send_message.body, 'UTF8')), 'hex');
            ELSE
                RAISE EXCEPTION 'The queue should either have ContentBasedDeduplication enabled or deduplication_id provided explicitly'
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END IF;
        IF v_queue.attributes ->> 'DeduplicationScope' = 'messageGroup' THEN
            v_scope := send_message.message_group_id;
        END IF;
        -- The same lock the broker's FIFO sends take: sequence numbers follow commit order.
        PERFORM pg_advisory_xact_lock(1651665778, mod(v_queue.id, 2147483647)::int);
        SELECT d.message_id INTO v_existing FROM broker.deduplication d
        WHERE d.queue_id = v_queue.id AND d.scope = v_scope AND d.dedup_id = v_dedup
          AND d.expires_at > now();
        IF FOUND THEN
            RETURN v_existing;
        END IF;
    END IF;
    INSERT INTO broker.messages (
        queue_id, id, message_id, body, attributes, sender_id, sent_at, visible_at, expires_at,
        group_id, dedup_id
    ) VALUES (
        v_queue.id, nextval('broker.message_ids'), v_message_id, send_message.body,
        nullif(send_message.message_attributes, '{}'::jsonb), current_user, now(),
        now() + make_interval(secs => coalesce(send_message.delay_seconds,
                                               (v_queue.attributes ->> 'DelaySeconds')::int)),
        now() + make_interval(secs => (v_queue.attributes ->> 'MessageRetentionPeriod')::int),
        send_message.message_group_id, CASE WHEN v_queue.fifo THEN v_dedup END
    ) RETURNING id INTO v_row;
    IF v_queue.fifo THEN
        INSERT INTO broker.deduplication (queue_id, scope, dedup_id, message_id, sequence_number, expires_at)
        VALUES (v_queue.id, v_scope, v_dedup, v_message_id, v_row, now() + interval '5 minutes')
        ON CONFLICT (queue_id, scope, dedup_id) DO UPDATE
        SET message_id = excluded.message_id, sequence_number = excluded.sequence_number,
            expires_at = excluded.expires_at;
    END IF;
    PERFORM pg_notify('broker_wakeup', concat_ws(':', v_queue.id, 1));
    RETURN v_message_id;
END
$fn$;
"""


def upgrade() -> None:
    op.execute(f"CREATE SEQUENCE {S}.message_ids START WITH 1 CACHE 1")
    op.create_table(
        "queues",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("region", sa.Text, nullable=False),
        sa.Column("arn", sa.Text, nullable=False),
        sa.Column("fifo", sa.Boolean, nullable=False),
        sa.Column("attributes", postgresql.JSONB, nullable=False),
        sa.Column("tags", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("modified_at", TZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("deleted_at", TZ),
        sa.Column("purge_floor", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("purged_at", TZ),
        sa.Column("purge_pending", sa.Boolean, nullable=False, server_default=sa.text("false")),
        schema=S,
    )
    op.create_index(
        "queues_live_name",
        "queues",
        ["account_id", "name"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "queues_live_arn",
        "queues",
        ["arn"],
        schema=S,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "messages",
        sa.Column("queue_id", sa.BigInteger, primary_key=True),
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("message_id", postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attributes", postgresql.JSONB),
        sa.Column("trace_header", sa.Text),
        sa.Column("sender_id", sa.Text),
        sa.Column("sent_at", TZ, nullable=False),
        sa.Column("visible_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("receive_count", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("first_received_at", TZ),
        sa.Column("received_at", TZ),
        sa.Column("receipt_token", sa.BigInteger),
        sa.Column("group_id", sa.Text),
        sa.Column("dedup_id", sa.Text),
        sa.Column("dead_letter_source_arn", sa.Text),
        schema=S,
        postgresql_with={
            "fillfactor": "85",
            "autovacuum_vacuum_scale_factor": "0.01",
            "autovacuum_vacuum_threshold": "1000",
            "autovacuum_vacuum_cost_delay": "0",
            "autovacuum_analyze_scale_factor": "0.02",
        },
    )
    op.create_index("messages_ready", "messages", ["queue_id", "visible_at"], schema=S)
    op.create_index("messages_expiry", "messages", ["expires_at"], schema=S)
    op.create_table(
        "deduplication",
        sa.Column("queue_id", sa.BigInteger, primary_key=True),
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("dedup_id", sa.Text, primary_key=True),
        sa.Column("message_id", postgresql.UUID(as_uuid=False), nullable=False),
        sa.Column("sequence_number", sa.BigInteger, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        schema=S,
    )
    op.create_index("deduplication_expiry", "deduplication", ["expires_at"], schema=S)
    op.create_table(
        "receive_attempts",
        sa.Column("queue_id", sa.BigInteger, primary_key=True),
        sa.Column("attempt_id", sa.Text, primary_key=True),
        sa.Column("receipts", postgresql.JSONB, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        schema=S,
    )
    op.create_index("receive_attempts_expiry", "receive_attempts", ["expires_at"], schema=S)
    op.create_table(
        "move_tasks",
        sa.Column("handle", sa.Text, primary_key=True),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("source_queue_id", sa.BigInteger, nullable=False),
        sa.Column("source_arn", sa.Text, nullable=False),
        sa.Column("destination_arn", sa.Text),
        sa.Column("max_per_second", sa.Integer),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("moved", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("to_move", sa.BigInteger, nullable=False),
        sa.Column("failure_reason", sa.Text),
        sa.Column("started_at", TZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    op.create_index(
        "move_tasks_one_active",
        "move_tasks",
        ["source_queue_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status IN ('RUNNING', 'CANCELLING')"),
    )
    op.create_index("move_tasks_by_source", "move_tasks", ["source_arn", "started_at"], schema=S)
    op.create_table(
        "secrets",
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        schema=S,
    )
    op.execute(SEND_MESSAGE)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {S}.send_message")
    for table in (
        "secrets",
        "move_tasks",
        "receive_attempts",
        "deduplication",
        "messages",
        "queues",
    ):
        op.drop_table(table, schema=S)
    op.execute(f"DROP SEQUENCE {S}.message_ids")
