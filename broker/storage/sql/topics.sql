-- Every statement of the TopicStore, by name (topics, subscriptions, publish, the HTTP outbox).

-- name: create_topic
INSERT INTO broker.topics (account_id, name, arn, fifo, attributes, tags)
VALUES (%(account_id)s, %(name)s, %(arn)s, %(fifo)s, %(attributes)s, %(tags)s)
ON CONFLICT (arn) DO NOTHING
RETURNING *;

-- name: get_topic
SELECT * FROM broker.topics WHERE arn = %(arn)s;

-- name: get_topic_by_id
SELECT * FROM broker.topics WHERE id = %(topic_id)s;

-- name: list_topics
SELECT * FROM broker.topics
WHERE account_id = %(account_id)s AND arn > %(after)s
ORDER BY arn
LIMIT %(limit)s;

-- name: lock_topic_policy
-- AddPermission and RemovePermission edit the policy under this lock: none loses another's.
SELECT attributes ->> 'Policy' AS policy FROM broker.topics WHERE id = %(topic_id)s FOR UPDATE;

-- name: update_topic_attributes
UPDATE broker.topics SET attributes = (attributes || %(set)s) - %(unset)s::text[]
WHERE id = %(topic_id)s
RETURNING *;

-- name: tag_topic
UPDATE broker.topics SET tags = tags || %(tags)s WHERE id = %(topic_id)s RETURNING *;

-- name: untag_topic
UPDATE broker.topics SET tags = tags - %(keys)s::text[] WHERE id = %(topic_id)s RETURNING *;

-- name: delete_topic
-- Subscriptions go with the topic (ON DELETE CASCADE); so do its pending notifications.
WITH gone AS (DELETE FROM broker.topics WHERE id = %(topic_id)s RETURNING arn),
dropped AS (
    DELETE FROM broker.deliveries
    WHERE topic_arn IN (SELECT arn FROM gone) AND message_type = 'Notification'
)
SELECT count(*) AS deleted FROM gone;

-- name: subscription_counts
SELECT count(*) FILTER (WHERE confirmed) AS confirmed,
       count(*) FILTER (WHERE NOT confirmed) AS pending
FROM broker.subscriptions WHERE topic_id = %(topic_id)s;

-- name: create_subscription
WITH inserted AS (
    INSERT INTO broker.subscriptions (
        arn, topic_id, topic_arn, account_id, protocol, endpoint, attributes, confirmed, token
    )
    VALUES (
        %(arn)s, %(topic_id)s, %(topic_arn)s, %(account_id)s, %(protocol)s, %(endpoint)s,
        %(attributes)s, %(confirmed)s, %(token)s
    )
    ON CONFLICT (topic_id, protocol, endpoint) DO NOTHING
    RETURNING *, true AS created
)
SELECT * FROM inserted
UNION ALL
SELECT *, false AS created FROM broker.subscriptions
WHERE topic_id = %(topic_id)s AND protocol = %(protocol)s AND endpoint = %(endpoint)s
  AND NOT EXISTS (SELECT 1 FROM inserted);

-- name: get_subscription
SELECT * FROM broker.subscriptions WHERE arn = %(arn)s;

-- name: find_by_token
-- A token lives as long as its subscription's first confirmation message: created_at.
SELECT * FROM broker.subscriptions
WHERE topic_arn = %(topic_arn)s AND token = %(token)s
  AND created_at > now() - make_interval(secs => %(max_age)s);

-- name: confirm_subscription
UPDATE broker.subscriptions SET confirmed = true WHERE id = %(subscription_id)s RETURNING *;

-- name: update_subscription_attributes
UPDATE broker.subscriptions SET attributes = (attributes || %(set)s) - %(unset)s::text[]
WHERE id = %(subscription_id)s
RETURNING *;

-- name: delete_subscription
WITH gone AS (DELETE FROM broker.subscriptions WHERE id = %(subscription_id)s RETURNING id),
dropped AS (
    DELETE FROM broker.deliveries
    WHERE subscription_id IN (SELECT id FROM gone) AND message_type = 'Notification'
)
SELECT count(*) AS deleted FROM gone;

-- name: delete_unconfirmed_subscriptions
-- The janitor's step: unconfirmed subscriptions past their lifetime go, with their pending
-- confirmation messages, a bounded batch at a time.
WITH gone AS (
    DELETE FROM broker.subscriptions WHERE id IN (
        SELECT id FROM broker.subscriptions
        WHERE NOT confirmed AND created_at < now() - make_interval(secs => %(max_age)s)
        ORDER BY id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id
),
dropped AS (DELETE FROM broker.deliveries WHERE subscription_id IN (SELECT id FROM gone))
SELECT count(*) AS deleted FROM gone;

-- name: list_subscriptions
SELECT * FROM broker.subscriptions
WHERE account_id = %(account_id)s AND id > %(after)s
  AND (%(topic_id)s::bigint IS NULL OR topic_id = %(topic_id)s::bigint)
ORDER BY id
LIMIT %(limit)s;

-- name: topic_routes
-- SQS endpoints resolve to their live queue here, once per cache period, not per publish.
SELECT s.*, q.id AS queue_id, q.fifo AS queue_fifo,
       q.attributes ->> 'DeduplicationScope' AS queue_dedup_scope,
       q.account_id AS queue_account_id, q.attributes ->> 'Policy' AS queue_policy
FROM broker.subscriptions s
LEFT JOIN broker.queues q
  ON s.protocol = 'sqs' AND q.arn = s.endpoint AND q.deleted_at IS NULL
WHERE s.topic_id = %(topic_id)s AND s.confirmed
ORDER BY s.id;

-- name: lock_topic
-- FIFO publishes of one topic take turns: sequence numbers and deduplication follow commit order.
SELECT pg_advisory_xact_lock(1651665779, mod(%(topic_id)s, 2147483647)::int);

-- name: lock_queue
SELECT pg_advisory_xact_lock(1651665778, mod(%(queue_id)s, 2147483647)::int);

-- name: topic_duplicates
SELECT scope, dedup_id, message_id::text, sequence_number
FROM broker.topic_deduplication
WHERE topic_id = %(topic_id)s AND expires_at > now()
  AND (scope, dedup_id) IN (SELECT * FROM unnest(%(scopes)s::text[], %(dedup_ids)s::text[]));

-- name: remember_topic_messages
INSERT INTO broker.topic_deduplication (
    topic_id, scope, dedup_id, message_id, sequence_number, expires_at
)
SELECT %(topic_id)s, m.scope, m.dedup_id, m.message_id, nextval('broker.message_ids'),
       now() + interval '5 minutes'
FROM unnest(%(scopes)s::text[], %(dedup_ids)s::text[], %(message_ids)s::uuid[])
    WITH ORDINALITY AS m(scope, dedup_id, message_id, ord)
ORDER BY m.ord
ON CONFLICT (topic_id, scope, dedup_id) DO UPDATE
SET message_id = excluded.message_id, sequence_number = excluded.sequence_number,
    expires_at = excluded.expires_at
RETURNING message_id::text, sequence_number;

-- name: publish_messages
-- The queue rows of a publish: the queue's own delay and retention, read in the statement;
-- FIFO targets (locked by the caller) skip what their own deduplication window already holds.
WITH batch AS (
    SELECT * FROM unnest(
        %(queue_ids)s::bigint[], %(message_ids)s::uuid[], %(bodies)s::text[],
        %(attributes)s::jsonb[], %(group_ids)s::text[], %(dedup_ids)s::text[], %(scopes)s::text[]
    ) WITH ORDINALITY AS b(queue_id, message_id, body, attributes, group_id, dedup_id, scope, ord)
),
fresh AS (
    SELECT b.*, q.attributes AS queue_attributes
    FROM batch b
    JOIN broker.queues q ON q.id = b.queue_id AND q.deleted_at IS NULL
    WHERE b.dedup_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM broker.deduplication d
        WHERE d.queue_id = b.queue_id AND d.scope = b.scope AND d.dedup_id = b.dedup_id
          AND d.expires_at > now()
    )
),
inserted AS (
    INSERT INTO broker.messages (
        queue_id, id, message_id, body, attributes, sender_id,
        sent_at, visible_at, expires_at, group_id, dedup_id
    )
    SELECT
        f.queue_id, nextval('broker.message_ids'), f.message_id, f.body, f.attributes,
        %(sender_id)s, now(),
        now() + make_interval(secs => (f.queue_attributes ->> 'DelaySeconds')::int),
        now() + make_interval(secs => (f.queue_attributes ->> 'MessageRetentionPeriod')::int),
        f.group_id, f.dedup_id
    FROM fresh f
    ORDER BY f.ord
    RETURNING queue_id, id, message_id, dedup_id
),
remembered AS (
    INSERT INTO broker.deduplication (
        queue_id, scope, dedup_id, message_id, sequence_number, expires_at
    )
    SELECT i.queue_id, f.scope, i.dedup_id, i.message_id, i.id, now() + interval '5 minutes'
    FROM inserted i JOIN fresh f ON f.message_id = i.message_id
    WHERE i.dedup_id IS NOT NULL
    ON CONFLICT (queue_id, scope, dedup_id) DO UPDATE
    SET message_id = excluded.message_id, sequence_number = excluded.sequence_number,
        expires_at = excluded.expires_at
)
SELECT queue_id, count(*) AS inserted FROM inserted GROUP BY queue_id;

-- name: enqueue_deliveries
INSERT INTO broker.deliveries (
    subscription_id, subscription_arn, topic_arn, endpoint, message_type, message_id, body,
    raw, policy, dead_letter_arn, kind, details
)
SELECT * FROM unnest(
    %(subscription_ids)s::bigint[], %(subscription_arns)s::text[], %(topic_arns)s::text[],
    %(endpoints)s::text[], %(message_types)s::text[], %(message_ids)s::uuid[],
    %(bodies)s::text[], %(raws)s::boolean[], %(policies)s::text[], %(dead_letter_arns)s::text[],
    %(kinds)s::text[], %(details)s::jsonb[]
);

-- name: consume_publication
DELETE FROM broker.publications WHERE id = %(inbox_id)s RETURNING id;

-- name: claim_publications
UPDATE broker.publications p
SET next_attempt_at = now() + make_interval(secs => %(lease)s)
WHERE p.id IN (
    SELECT id FROM broker.publications
    WHERE next_attempt_at <= now()
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING p.*, p.message_id::text AS message_id_text;

-- name: claim_deliveries
-- next_attempt_at is the lease: a deliverer that dies mid-POST leaves the row due again when
-- the lease runs out, and another process retries it (at least once).
UPDATE broker.deliveries d
SET next_attempt_at = now() + make_interval(secs => %(lease)s), attempts = d.attempts + 1
WHERE d.id IN (
    SELECT id FROM broker.deliveries
    WHERE next_attempt_at <= now()
    ORDER BY next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING d.*, d.message_id::text AS message_id_text;

-- name: complete_delivery
DELETE FROM broker.deliveries WHERE id = %(delivery_id)s AND attempts = %(attempts)s;

-- name: retry_delivery
UPDATE broker.deliveries
SET next_attempt_at = now() + make_interval(secs => %(delay)s),
    attempts = attempts - CASE WHEN %(count_attempt)s THEN 0 ELSE 1 END
WHERE id = %(delivery_id)s AND attempts = %(attempts)s;

-- name: dead_letter_delivery
-- Retries ran out: the envelope goes to the subscription's dead-letter queue, if it has one,
-- in the transaction that removes the outbox row.
WITH gone AS (
    DELETE FROM broker.deliveries
    WHERE id = %(delivery_id)s AND attempts = %(attempts)s
    RETURNING body, dead_letter_arn
),
target AS (
    SELECT q.id, q.attributes, g.body FROM gone g
    JOIN broker.queues q ON q.arn = g.dead_letter_arn AND q.deleted_at IS NULL AND NOT q.fifo
)
INSERT INTO broker.messages (
    queue_id, id, message_id, body, sender_id, sent_at, visible_at, expires_at
)
SELECT t.id, nextval('broker.message_ids'), gen_random_uuid(), t.body, 'sns', now(), now(),
       now() + make_interval(secs => (t.attributes ->> 'MessageRetentionPeriod')::int)
FROM target t
RETURNING queue_id;

-- name: delete_expired_topic_deduplication
DELETE FROM broker.topic_deduplication
WHERE ctid IN (
    SELECT ctid FROM broker.topic_deduplication WHERE expires_at <= now() LIMIT %(limit)s
);

-- name: outbox_gauges
-- The outbox backlog for metrics, in one pass over the (normally short) outbox; metrics run it
-- in the background with the queue gauges. A leased delivery (mid-POST) counts as scheduled.
SELECT count(*) FILTER (WHERE next_attempt_at <= now()) AS due,
       count(*) FILTER (WHERE next_attempt_at > now()) AS scheduled,
       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age
FROM broker.deliveries;
