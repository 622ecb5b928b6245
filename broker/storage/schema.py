"""The database schema, in SQLAlchemy Core: the single source alembic compares migrations with.

Everything lives in the ``broker`` schema so the broker can share a database with an application
(which can then enqueue inside its own transactions with ``broker.send_message``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Sequence,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP, UUID

SCHEMA = "broker"

metadata = MetaData(schema=SCHEMA)

TZ = TIMESTAMP(timezone=True)

message_ids = Sequence("message_ids", metadata=metadata, start=1, cache=1)

queues = Table(
    "queues",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("account_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("arn", Text, nullable=False),
    Column("fifo", Boolean, nullable=False),
    Column("attributes", JSONB, nullable=False),
    Column("tags", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    Column("modified_at", TZ, nullable=False, server_default=text("now()")),
    Column("deleted_at", TZ),
    # PurgeQueue raises the floor; rows at or below it are invisible and the janitor deletes them.
    Column("purge_floor", BigInteger, nullable=False, server_default=text("0")),
    Column("purged_at", TZ),
    Column("purge_pending", Boolean, nullable=False, server_default=text("false")),
)
Index(
    "queues_live_name",
    queues.c.account_id,
    queues.c.name,
    unique=True,
    postgresql_where=queues.c.deleted_at.is_(None),
)
Index("queues_live_arn", queues.c.arn, postgresql_where=queues.c.deleted_at.is_(None))

# One table for every queue's messages; a receive never updates a row in place without
# creating new index entries (visible_at is indexed), so autovacuum is tuned aggressively in the
# migration and the table keeps free space on each page.
messages = Table(
    "messages",
    metadata,
    Column("queue_id", BigInteger, primary_key=True),
    Column("id", BigInteger, primary_key=True),
    Column("message_id", UUID(as_uuid=False), nullable=False),
    Column("body", Text, nullable=False),
    Column("attributes", JSONB),
    Column("trace_header", Text),
    Column("sender_id", Text),
    Column("sent_at", TZ, nullable=False),
    Column("visible_at", TZ, nullable=False),
    Column("expires_at", TZ, nullable=False),
    Column("receive_count", Integer, nullable=False, server_default=text("0")),
    Column("first_received_at", TZ),
    Column("received_at", TZ),
    Column("receipt_token", BigInteger),
    Column("group_id", Text),
    Column("dedup_id", Text),
    Column("dead_letter_source_arn", Text),
    postgresql_with={
        "fillfactor": "85",
        "autovacuum_vacuum_scale_factor": "0.01",
        "autovacuum_vacuum_threshold": "1000",
        "autovacuum_vacuum_cost_delay": "0",
        "autovacuum_analyze_scale_factor": "0.02",
    },
)
Index("messages_ready", messages.c.queue_id, messages.c.visible_at)
Index("messages_expiry", messages.c.expires_at)

deduplication = Table(
    "deduplication",
    metadata,
    Column("queue_id", BigInteger, primary_key=True),
    Column("scope", Text, primary_key=True),
    Column("dedup_id", Text, primary_key=True),
    Column("message_id", UUID(as_uuid=False), nullable=False),
    Column("sequence_number", BigInteger, nullable=False),
    Column("expires_at", TZ, nullable=False),
)
Index("deduplication_expiry", deduplication.c.expires_at)

receive_attempts = Table(
    "receive_attempts",
    metadata,
    Column("queue_id", BigInteger, primary_key=True),
    Column("attempt_id", Text, primary_key=True),
    Column("receipts", JSONB, nullable=False),
    Column("expires_at", TZ, nullable=False),
)
Index("receive_attempts_expiry", receive_attempts.c.expires_at)

move_tasks = Table(
    "move_tasks",
    metadata,
    Column("handle", Text, primary_key=True),
    Column("account_id", Text, nullable=False),
    Column("source_queue_id", BigInteger, nullable=False),
    Column("source_arn", Text, nullable=False),
    Column("destination_arn", Text),
    Column("max_per_second", Integer),
    Column("status", Text, nullable=False),
    Column("moved", BigInteger, nullable=False, server_default=text("0")),
    Column("to_move", BigInteger, nullable=False),
    Column("failure_reason", Text),
    Column("started_at", TZ, nullable=False, server_default=text("now()")),
    Column("updated_at", TZ, nullable=False, server_default=text("now()")),
)
Index(
    "move_tasks_one_active",
    move_tasks.c.source_queue_id,
    unique=True,
    postgresql_where=move_tasks.c.status.in_(["RUNNING", "CANCELLING"]),
)
Index("move_tasks_by_source", move_tasks.c.source_arn, move_tasks.c.started_at)

secrets = Table(
    "secrets",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", LargeBinary, nullable=False),
)

# -- topics (SNS), migration 0002 ---------------------------------------------------------------

topics = Table(
    "topics",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("account_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("arn", Text, nullable=False),
    Column("fifo", Boolean, nullable=False),
    Column("attributes", JSONB, nullable=False),
    Column("tags", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
)
Index("topics_arn", topics.c.arn, unique=True)
Index("topics_by_account", topics.c.account_id, topics.c.arn)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("arn", Text, nullable=False),
    Column(
        "topic_id",
        BigInteger,
        ForeignKey("broker.topics.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("topic_arn", Text, nullable=False),
    Column("account_id", Text, nullable=False),
    Column("protocol", Text, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("confirmed", Boolean, nullable=False),
    Column("token", Text),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
)
Index("subscriptions_arn", subscriptions.c.arn, unique=True)
Index(
    "subscriptions_endpoint",
    subscriptions.c.topic_id,
    subscriptions.c.protocol,
    subscriptions.c.endpoint,
    unique=True,
)
Index("subscriptions_by_account", subscriptions.c.account_id, subscriptions.c.id)

topic_deduplication = Table(
    "topic_deduplication",
    metadata,
    Column("topic_id", BigInteger, primary_key=True),
    Column("scope", Text, primary_key=True),
    Column("dedup_id", Text, primary_key=True),
    Column("message_id", UUID(as_uuid=False), nullable=False),
    Column("sequence_number", BigInteger, nullable=False),
    Column("expires_at", TZ, nullable=False),
)
Index("topic_deduplication_expiry", topic_deduplication.c.expires_at)

# The HTTP/S outbox: one row per POST still to make; next_attempt_at doubles as the lease.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("subscription_id", BigInteger, nullable=False),
    Column("subscription_arn", Text, nullable=False),
    Column("topic_arn", Text, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("message_type", Text, nullable=False),
    Column("message_id", UUID(as_uuid=False), nullable=False),
    Column("body", Text, nullable=False),
    Column("raw", Boolean, nullable=False),
    Column("policy", Text, nullable=False),
    Column("dead_letter_arn", Text),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", TZ, nullable=False, server_default=text("now()")),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
)
Index("deliveries_due", deliveries.c.next_attempt_at)
Index("deliveries_by_subscription", deliveries.c.subscription_id)

# Publications written by broker.publish_message inside an application's transaction; the
# deliverer fans each out (and deletes it) in one transaction.
publications = Table(
    "publications",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("topic_id", BigInteger, nullable=False),
    Column("message_id", UUID(as_uuid=False), nullable=False),
    Column("message", Text, nullable=False),
    Column("subject", Text),
    Column("attributes", JSONB),
    Column("group_id", Text),
    Column("dedup_id", Text),
    Column("sender_id", Text),
    Column("next_attempt_at", TZ, nullable=False, server_default=text("now()")),
)
Index("publications_due", publications.c.next_attempt_at)

# -- accounts and access keys, migration 0004 ---------------------------------------------------

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
)
Index("accounts_name", accounts.c.name, unique=True)

# The secret is encrypted by the application (BROKER_SECRET_ENCRYPTION_KEY), never stored in clear.
access_keys = Table(
    "access_keys",
    metadata,
    Column("access_key_id", Text, primary_key=True),
    Column(
        "account_id",
        Text,
        ForeignKey("broker.accounts.account_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("secret_ciphertext", LargeBinary, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'Active'")),
    Column("admin", Boolean, nullable=False, server_default=text("false")),
    Column("policy", Text),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
    Column("last_used_at", TZ),
)
Index("access_keys_by_account", access_keys.c.account_id, access_keys.c.access_key_id)
