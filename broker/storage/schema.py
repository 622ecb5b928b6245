"""The database schema, in SQLAlchemy Core: the single source alembic compares migrations with.

Everything lives in the ``broker`` schema so the broker can share a database with an application
(which can then enqueue inside its own transactions with ``broker.send_message``).
"""

from __future__ import annotations

from typing import Any

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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP, UUID

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
    Column("subscription_id", BigInteger),
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
    # 'sns' (a subscription's notification) or 'events' (an event rule's HTTP target).
    Column("kind", Text, nullable=False, server_default=text("'sns'")),
    Column("details", JSONB),
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


# -- EventBridge ---------------------------------------------------------------------------------


def _named(name: str, *columns: Column[Any]) -> Table:
    """A named account resource: id, account, name, ARN, the given columns, timestamps."""
    table = Table(
        name,
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("account_id", Text, nullable=False),
        Column("name", Text, nullable=False),
        Column("arn", Text, nullable=False),
        *columns,
        Column("created_at", TZ, nullable=False, server_default=text("now()")),
        Column("modified_at", TZ, nullable=False, server_default=text("now()")),
    )
    Index(f"{name}_arn", table.c.arn, unique=True)
    Index(f"{name}_by_account", table.c.account_id, table.c.name, unique=True)
    return table


# ``version`` grows with every change to the bus's rules, targets or archives: each process
# compares it with the version its compiled routing was built from.
event_buses = _named(
    "event_buses",
    Column("description", Text),
    Column("version", BigInteger, nullable=False, server_default=text("0")),
    # The bus's resource policy (PutPermission), migration 0005.
    Column("policy", Text),
)

event_rules = Table(
    "event_rules",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "bus_id",
        BigInteger,
        ForeignKey("broker.event_buses.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("account_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("arn", Text, nullable=False),
    Column("event_pattern", Text),
    Column("schedule_expression", Text),
    Column("state", Text, nullable=False),
    Column("description", Text),
    Column("role_arn", Text),
    Column("tags", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # The next tick of a scheduled rule; the scheduler claims due rows with SKIP LOCKED.
    Column("next_fire_at", TZ),
    Column("created_at", TZ, nullable=False, server_default=text("now()")),
)
Index("event_rules_arn", event_rules.c.arn, unique=True)
Index("event_rules_name", event_rules.c.bus_id, event_rules.c.name, unique=True)
Index(
    "event_rules_due",
    event_rules.c.next_fire_at,
    postgresql_where=event_rules.c.next_fire_at.isnot(None),
)

event_targets = Table(
    "event_targets",
    metadata,
    Column(
        "rule_id",
        BigInteger,
        ForeignKey("broker.event_rules.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("target_id", Text, primary_key=True),
    Column("arn", Text, nullable=False),
    Column("definition", JSONB, nullable=False),
)
Index("event_targets_by_arn", event_targets.c.arn)

event_connections = _named(
    "event_connections",
    Column("description", Text),
    Column("authorization_type", Text, nullable=False),
    Column("auth_parameters", JSONB, nullable=False),
    Column("state", Text, nullable=False),
)

api_destinations = _named(
    "api_destinations",
    Column("description", Text),
    Column("connection_arn", Text, nullable=False),
    Column("endpoint", Text, nullable=False),
    Column("http_method", Text, nullable=False),
    Column("rate_limit", Integer),
    Column("state", Text, nullable=False),
)

event_archives = _named(
    "event_archives",
    Column("source_arn", Text, nullable=False),
    Column("description", Text),
    Column("event_pattern", Text),
    Column("retention_days", Integer, nullable=False),
    Column("state", Text, nullable=False),
)

archived_events = Table(
    "archived_events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "archive_id",
        BigInteger,
        ForeignKey("broker.event_archives.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_time", TZ, nullable=False),
    Column("event", Text, nullable=False),
    Column("archived_at", TZ, nullable=False, server_default=text("now()")),
)
Index("archived_events_by_time", archived_events.c.archive_id, archived_events.c.event_time)
Index("archived_events_age", archived_events.c.archived_at)

event_replays = _named(
    "event_replays",
    Column("archive_arn", Text, nullable=False),
    Column("description", Text),
    Column("destination_arn", Text, nullable=False),
    Column("filter_arns", ARRAY(Text), nullable=False),
    Column("event_start_time", TZ, nullable=False),
    Column("event_end_time", TZ, nullable=False),
    Column("state", Text, nullable=False),
    Column("state_reason", Text),
    Column("last_replayed", TZ),
    # The archived event id the replay reached at ``last_replayed`` (its resume point).
    Column("replay_cursor", BigInteger, nullable=False, server_default=text("0")),
    Column("replay_start_time", TZ),
    Column("replay_end_time", TZ),
)
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
