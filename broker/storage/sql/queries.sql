-- Every statement the broker runs, by name. A PostgresStore method and its statement share the
-- name. Parameters use psycopg's %(name)s style; time always comes from the database (now()).

-- name: create_queue
INSERT INTO broker.queues (account_id, name, region, arn, fifo, attributes, tags)
VALUES (%(account_id)s, %(name)s, %(region)s, %(arn)s, %(fifo)s, %(attributes)s, %(tags)s)
ON CONFLICT (account_id, name) WHERE deleted_at IS NULL DO NOTHING
RETURNING *;

-- name: get_queue
SELECT * FROM broker.queues
WHERE account_id = %(account_id)s AND name = %(name)s AND deleted_at IS NULL;

-- name: get_queue_by_arn
SELECT * FROM broker.queues WHERE arn = %(arn)s AND deleted_at IS NULL;

-- name: get_queue_by_id
SELECT * FROM broker.queues WHERE id = %(queue_id)s AND deleted_at IS NULL;

-- name: recently_deleted
SELECT EXISTS (
    SELECT 1 FROM broker.queues
    WHERE account_id = %(account_id)s AND name = %(name)s
      AND deleted_at > now() - make_interval(secs => %(seconds)s)
);

-- name: list_queues
SELECT * FROM broker.queues
WHERE account_id = %(account_id)s AND deleted_at IS NULL
  AND starts_with(name, %(prefix)s) AND name > %(after)s
ORDER BY name
LIMIT %(limit)s;

-- name: list_dead_letter_sources
SELECT * FROM broker.queues
WHERE account_id = %(account_id)s AND deleted_at IS NULL AND name > %(after)s
  AND attributes ? 'RedrivePolicy'
  AND ((attributes ->> 'RedrivePolicy')::jsonb ->> 'deadLetterTargetArn') = %(arn)s
ORDER BY name
LIMIT %(limit)s;

-- name: lock_queue_policy
-- AddPermission and RemovePermission edit the policy under this lock: none loses another's.
SELECT attributes ->> 'Policy' AS policy FROM broker.queues
WHERE id = %(queue_id)s AND deleted_at IS NULL
FOR UPDATE;

-- name: update_queue_attributes
UPDATE broker.queues
SET attributes = (attributes || %(set)s) - %(unset)s::text[], modified_at = now()
WHERE id = %(queue_id)s AND deleted_at IS NULL
RETURNING *;

-- name: tag_queue
UPDATE broker.queues SET tags = tags || %(tags)s
WHERE id = %(queue_id)s AND deleted_at IS NULL
RETURNING *;

-- name: untag_queue
UPDATE broker.queues SET tags = tags - %(keys)s::text[]
WHERE id = %(queue_id)s AND deleted_at IS NULL
RETURNING *;

-- name: delete_queue
UPDATE broker.queues SET deleted_at = now()
WHERE id = %(queue_id)s AND deleted_at IS NULL
RETURNING id;

-- name: purge_queue
-- Purge is O(1): raise the floor; the janitor deletes the rows below it in batches.
UPDATE broker.queues
SET purge_floor = nextval('broker.message_ids'), purged_at = now(), purge_pending = true
WHERE id = %(queue_id)s AND deleted_at IS NULL
  AND (purged_at IS NULL OR purged_at <= now() - make_interval(secs => %(cooldown)s))
RETURNING id;

-- name: count_messages
SELECT
    count(*) FILTER (WHERE m.visible_at <= now()) AS visible,
    count(*) FILTER (WHERE m.visible_at > now() AND m.receive_count > 0) AS in_flight,
    count(*) FILTER (WHERE m.visible_at > now() AND m.receive_count = 0) AS delayed
FROM broker.messages m
WHERE m.queue_id = %(queue_id)s
  AND m.id > (SELECT purge_floor FROM broker.queues WHERE id = %(queue_id)s);

-- name: queue_gauges
-- Depth and oldest age of every live queue in one pass; metrics run it in the background.
SELECT q.account_id, q.name,
       count(m.id) FILTER (WHERE m.visible_at <= now()) AS visible,
       count(m.id) FILTER (WHERE m.visible_at > now() AND m.receive_count > 0) AS in_flight,
       count(m.id) FILTER (WHERE m.visible_at > now() AND m.receive_count = 0) AS delayed,
       coalesce(extract(epoch FROM now() - min(m.sent_at)), 0)::float8 AS oldest_age
FROM broker.queues q
LEFT JOIN broker.messages m ON m.queue_id = q.id AND m.id > q.purge_floor
WHERE q.deleted_at IS NULL
GROUP BY q.id
ORDER BY q.account_id, q.name;

-- name: send_messages
INSERT INTO broker.messages (
    queue_id, id, message_id, body, attributes, trace_header, sender_id,
    sent_at, visible_at, expires_at, group_id
)
SELECT
    %(queue_id)s, nextval('broker.message_ids'), m.message_id, m.body, m.attributes,
    m.trace_header, %(sender_id)s, now(), clock_timestamp() + make_interval(secs => m.delay),
    now() + make_interval(secs => %(retention)s), m.group_id
-- The batch comes as one JSON array: encoding six arrays element by element cost the driver
-- up to 0.3 ms of CPU per statement, one JSON document a few microseconds.
FROM json_to_recordset(%(messages)s::json) AS m(
    ord int, message_id uuid, body text, attributes jsonb, trace_header text, delay int,
    group_id text
)
-- A process may still hold a deleted queue in its cache: its sends must fail, not vanish.
WHERE EXISTS (
    SELECT 1 FROM broker.queues WHERE id = %(queue_id)s AND deleted_at IS NULL
)
ORDER BY m.ord
RETURNING message_id::text, id;

-- name: lock_queue
-- FIFO sends and receives of one queue take turns: sequence numbers then follow commit order,
-- and a receive sees every in-flight group the previous one created.
SELECT pg_advisory_xact_lock(1651665778, mod(%(queue_id)s, 2147483647)::int);

-- name: send_fifo_messages
WITH batch AS (
    SELECT * FROM unnest(
        %(message_ids)s::uuid[], %(bodies)s::text[], %(attributes)s::jsonb[],
        %(trace_headers)s::text[], %(group_ids)s::text[], %(dedup_ids)s::text[],
        %(scopes)s::text[]
    ) WITH ORDINALITY AS b(message_id, body, attributes, trace_header, group_id, dedup_id, scope, ord)
),
duplicate AS (
    SELECT b.ord, d.message_id, d.sequence_number
    FROM batch b
    JOIN broker.deduplication d
      ON d.queue_id = %(queue_id)s AND d.scope = b.scope AND d.dedup_id = b.dedup_id
     AND d.expires_at > now()
),
inserted AS (
    INSERT INTO broker.messages (
        queue_id, id, message_id, body, attributes, trace_header, sender_id,
        sent_at, visible_at, expires_at, group_id, dedup_id
    )
    SELECT
        %(queue_id)s, nextval('broker.message_ids'), b.message_id, b.body, b.attributes,
        b.trace_header, %(sender_id)s, now(), now() + make_interval(secs => %(delay)s),
        now() + make_interval(secs => %(retention)s), b.group_id, b.dedup_id
    FROM batch b
    WHERE b.ord NOT IN (SELECT ord FROM duplicate)
      AND EXISTS (SELECT 1 FROM broker.queues WHERE id = %(queue_id)s AND deleted_at IS NULL)
    ORDER BY b.ord
    RETURNING message_id, id, dedup_id, group_id
),
remembered AS (
    INSERT INTO broker.deduplication (queue_id, scope, dedup_id, message_id, sequence_number, expires_at)
    SELECT %(queue_id)s, b.scope, i.dedup_id, i.message_id, i.id, now() + interval '5 minutes'
    FROM inserted i JOIN batch b ON b.message_id = i.message_id
    ON CONFLICT (queue_id, scope, dedup_id) DO UPDATE
    SET message_id = excluded.message_id,
        sequence_number = excluded.sequence_number,
        expires_at = excluded.expires_at
)
SELECT b.ord, coalesce(i.message_id, d.message_id)::text AS message_id,
       coalesce(i.id, d.sequence_number) AS sequence_number
FROM batch b
LEFT JOIN inserted i ON i.message_id = b.message_id
LEFT JOIN duplicate d ON d.ord = b.ord
ORDER BY b.ord;

-- name: receive_messages
-- One statement: claim the oldest visible rows, move the ones past maxReceiveCount to the
-- dead-letter queue, and lease the rest under a new receipt token. The scan starts at the
-- queue's low-water mark, past the dead index entries of messages already consumed (which a
-- long transaction elsewhere can keep from being vacuumed); the last row reports where this
-- scan got to, so the store can raise the mark.
WITH picked AS (
    SELECT m.queue_id, m.id, m.receive_count, m.visible_at
    FROM broker.messages m
    WHERE m.queue_id = %(queue_id)s
      AND m.visible_at >= %(low_water)s AND m.visible_at <= now()
      -- `+ 0`: no index condition on id, so the planner cannot prefer the primary key (and a
      -- sort of the whole queue) when stale statistics say the queue is empty.
      AND m.id + 0 > (SELECT purge_floor FROM broker.queues WHERE id = %(queue_id)s)
      AND m.sent_at > now() - make_interval(secs => %(retention)s)
    ORDER BY m.visible_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
),
dead AS (
    DELETE FROM broker.messages m
    USING picked p
    WHERE %(max_receives)s > 0 AND p.receive_count >= %(max_receives)s
      AND m.queue_id = p.queue_id AND m.id = p.id
    RETURNING m.*
),
moved AS (
    INSERT INTO broker.messages (
        queue_id, id, message_id, body, attributes, trace_header, sender_id,
        sent_at, visible_at, expires_at, group_id, dedup_id, dead_letter_source_arn
    )
    SELECT
        %(dlq_id)s, nextval('broker.message_ids'), d.message_id, d.body, d.attributes,
        d.trace_header, d.sender_id, d.sent_at, now(),
        d.sent_at + make_interval(secs => %(dlq_retention)s), d.group_id,
        CASE WHEN d.group_id IS NULL OR NOT %(fifo)s THEN NULL ELSE d.message_id::text END,
        %(source_arn)s
    FROM dead d
    ORDER BY d.id
    RETURNING message_id
),
leased AS (
    UPDATE broker.messages m
    SET visible_at = clock_timestamp() + make_interval(secs => %(visibility)s),
        receive_count = m.receive_count + 1,
        first_received_at = coalesce(m.first_received_at, now()),
        received_at = now(),
        receipt_token = (random() * 9.2e18)::bigint
    FROM picked p
    WHERE m.queue_id = p.queue_id AND m.id = p.id
      AND NOT (%(max_receives)s > 0 AND p.receive_count >= %(max_receives)s)
    RETURNING m.*
)
SELECT 'leased' AS kind, l.id, l.message_id::text, l.body, l.attributes, l.trace_header,
       l.sender_id, l.sent_at, l.receive_count, l.first_received_at, l.receipt_token,
       l.group_id, l.dedup_id, l.dead_letter_source_arn
FROM leased l
UNION ALL
SELECT 'moved', NULL, message_id::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL
FROM moved
UNION ALL
-- The scan report: the database time, and the visible time of the last row claimed (with how
-- many rows were claimed in all, in receive_count).
SELECT 'scan', NULL, NULL, NULL, NULL, NULL, NULL, now(),
       (SELECT count(*) FROM picked)::int, (SELECT max(visible_at) FROM picked), NULL, NULL,
       NULL, NULL
ORDER BY 2;

-- name: receive_fifo_messages
-- Run under lock_queue. A group with a message in flight is skipped; the others yield their
-- oldest visible messages in order.
WITH busy AS (
    SELECT DISTINCT m.group_id
    FROM broker.messages m
    WHERE m.queue_id = %(queue_id)s AND m.visible_at > now() AND m.receive_count > 0
),
picked AS (
    SELECT m.queue_id, m.id, m.receive_count
    FROM broker.messages m
    WHERE m.queue_id = %(queue_id)s AND m.visible_at <= now()
      AND m.id > (SELECT purge_floor FROM broker.queues WHERE id = %(queue_id)s)
      AND m.sent_at > now() - make_interval(secs => %(retention)s)
      AND m.group_id NOT IN (SELECT group_id FROM busy)
    ORDER BY m.id
    LIMIT %(limit)s
    FOR UPDATE
),
dead AS (
    DELETE FROM broker.messages m
    USING picked p
    WHERE %(max_receives)s > 0 AND p.receive_count >= %(max_receives)s
      AND m.queue_id = p.queue_id AND m.id = p.id
    RETURNING m.*
),
moved AS (
    INSERT INTO broker.messages (
        queue_id, id, message_id, body, attributes, trace_header, sender_id,
        sent_at, visible_at, expires_at, group_id, dedup_id, dead_letter_source_arn
    )
    SELECT
        %(dlq_id)s, nextval('broker.message_ids'), d.message_id, d.body, d.attributes,
        d.trace_header, d.sender_id, d.sent_at, now(),
        d.sent_at + make_interval(secs => %(dlq_retention)s), d.group_id,
        d.message_id::text, %(source_arn)s
    FROM dead d
    ORDER BY d.id
    RETURNING message_id
),
leased AS (
    UPDATE broker.messages m
    SET visible_at = now() + make_interval(secs => %(visibility)s),
        receive_count = m.receive_count + 1,
        first_received_at = coalesce(m.first_received_at, now()),
        received_at = now(),
        receipt_token = (random() * 9.2e18)::bigint
    FROM picked p
    WHERE m.queue_id = p.queue_id AND m.id = p.id
      AND NOT (%(max_receives)s > 0 AND p.receive_count >= %(max_receives)s)
    RETURNING m.*
)
SELECT 'leased' AS kind, l.id, l.message_id::text, l.body, l.attributes, l.trace_header,
       l.sender_id, l.sent_at, l.receive_count, l.first_received_at, l.receipt_token,
       l.group_id, l.dedup_id, l.dead_letter_source_arn
FROM leased l
UNION ALL
SELECT 'moved', NULL, message_id::text, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL
FROM moved
ORDER BY 2;

-- name: get_receive_attempt
SELECT receipts FROM broker.receive_attempts
WHERE queue_id = %(queue_id)s AND attempt_id = %(attempt_id)s AND expires_at > now();

-- name: replay_receive_attempt
-- A retried FIFO receive gets the same messages and handles back, with a fresh visibility
-- timeout, if none of them was deleted or changed since.
UPDATE broker.messages m
SET visible_at = now() + make_interval(secs => %(visibility)s), received_at = now()
FROM unnest(%(rows)s::bigint[], %(tokens)s::bigint[]) AS r(id, token)
WHERE m.queue_id = %(queue_id)s AND m.id BETWEEN %(first)s::bigint AND %(last)s::bigint
  AND m.id = ANY(%(rows)s::bigint[])
  AND m.id = r.id AND m.receipt_token = r.token AND m.visible_at > now()
RETURNING m.id, m.message_id::text, m.body, m.attributes, m.trace_header, m.sender_id,
          m.sent_at, m.receive_count, m.first_received_at, m.receipt_token, m.group_id,
          m.dedup_id, m.dead_letter_source_arn;

-- name: save_receive_attempt
INSERT INTO broker.receive_attempts (queue_id, attempt_id, receipts, expires_at)
VALUES (%(queue_id)s, %(attempt_id)s, %(receipts)s, now() + interval '5 minutes')
ON CONFLICT (queue_id, attempt_id) DO UPDATE
SET receipts = excluded.receipts, expires_at = excluded.expires_at;

-- name: seconds_until_visible
SELECT extract(epoch FROM min(visible_at) - now())::float8 AS seconds
FROM broker.messages WHERE queue_id = %(queue_id)s AND visible_at >= %(low_water)s;

-- name: delete_messages
-- The handles' row ids bound the primary-key lookup whatever the statistics say: joined only on
-- the unnested handles, a planner that thinks the queue is small scans all of it (measured: 300
-- pages per delete once a few thousand messages are in flight); given only `m.id = ANY(...)`,
-- one that has not seen the queue yet (it started after the last ANALYZE) still reads the whole
-- queue and filters (3,930 rows per 10-handle delete under a held snapshot). `first` and `last`
-- are the least and greatest of `rows` (statements.handle_rows).
DELETE FROM broker.messages m
USING unnest(%(rows)s::bigint[], %(tokens)s::bigint[]) AS h(id, token)
WHERE m.queue_id = %(queue_id)s AND m.id BETWEEN %(first)s::bigint AND %(last)s::bigint
  AND m.id = ANY(%(rows)s::bigint[])
  AND m.id = h.id AND m.receipt_token = h.token
RETURNING m.id;

-- name: change_visibility
WITH h AS (
    SELECT * FROM unnest(%(rows)s::bigint[], %(tokens)s::bigint[], %(timeouts)s::int[])
        WITH ORDINALITY AS h(id, token, timeout, ord)
),
current AS (
    SELECT h.ord, h.id, h.token, h.timeout, m.receipt_token, m.visible_at > now() AS in_flight,
           m.received_at, m.visible_at
    FROM h LEFT JOIN broker.messages m
      ON m.queue_id = %(queue_id)s AND m.id BETWEEN %(first)s::bigint AND %(last)s::bigint
     AND m.id = ANY(%(rows)s::bigint[]) AND m.id = h.id
),
changed AS (
    UPDATE broker.messages m
    SET visible_at = clock_timestamp() + make_interval(secs => c.timeout)
    FROM current c
    WHERE m.queue_id = %(queue_id)s AND m.id BETWEEN %(first)s::bigint AND %(last)s::bigint
      AND m.id = ANY(%(rows)s::bigint[])
      AND m.id = c.id AND m.receipt_token = c.token
      AND c.in_flight
      AND now() + make_interval(secs => c.timeout) <= c.received_at + interval '12 hours'
    RETURNING m.id
)
SELECT c.ord,
       CASE
           WHEN EXISTS (SELECT 1 FROM changed x WHERE x.id = c.id) THEN
               -- Sooner than before: waiting receives must re-check.
               CASE WHEN now() + make_interval(secs => c.timeout) < c.visible_at
                    THEN 'shortened' ELSE 'changed' END
           WHEN c.receipt_token IS NULL THEN 'gone'
           WHEN c.receipt_token <> c.token THEN 'stale'
           WHEN NOT c.in_flight THEN 'not_in_flight'
           ELSE 'too_long'
       END AS outcome
FROM current c
ORDER BY c.ord;

-- name: delete_expired_messages
WITH gone AS (
    DELETE FROM broker.messages
    WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM broker.messages WHERE expires_at <= now()
        LIMIT %(limit)s FOR UPDATE SKIP LOCKED
    ))
    RETURNING queue_id
)
SELECT q.account_id, q.name, count(*) AS expired
FROM gone JOIN broker.queues q ON q.id = gone.queue_id
GROUP BY q.account_id, q.name;

-- name: purge_pending_queues
SELECT id, purge_floor FROM broker.queues WHERE purge_pending;

-- name: delete_purged_messages
DELETE FROM broker.messages
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM broker.messages
    WHERE queue_id = %(queue_id)s AND id <= %(floor)s
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
));

-- name: finish_purge
UPDATE broker.queues SET purge_pending = false
WHERE id = %(queue_id)s AND purge_floor = %(floor)s;

-- name: deleted_queues
SELECT id, deleted_at <= now() - make_interval(secs => %(cooldown)s) AS cooled
FROM broker.queues WHERE deleted_at IS NOT NULL;

-- name: delete_queue_messages
DELETE FROM broker.messages
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM broker.messages WHERE queue_id = %(queue_id)s
    LIMIT %(limit)s FOR UPDATE SKIP LOCKED
));

-- name: drop_queue
-- The last step of DeleteQueue, once its messages are gone and the name's cooldown has passed.
WITH gone AS (
    DELETE FROM broker.queues q
    WHERE q.id = %(queue_id)s AND q.deleted_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM broker.messages m WHERE m.queue_id = q.id)
    RETURNING q.id
),
dedup AS (DELETE FROM broker.deduplication WHERE queue_id IN (SELECT id FROM gone))
DELETE FROM broker.receive_attempts WHERE queue_id IN (SELECT id FROM gone);

-- name: delete_expired_deduplication
DELETE FROM broker.deduplication
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM broker.deduplication WHERE expires_at <= now() LIMIT %(limit)s
));

-- name: delete_expired_receive_attempts
DELETE FROM broker.receive_attempts
WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM broker.receive_attempts WHERE expires_at <= now() LIMIT %(limit)s
));

-- name: create_move_task
INSERT INTO broker.move_tasks (
    handle, account_id, source_queue_id, source_arn, destination_arn, max_per_second,
    status, to_move
)
SELECT %(handle)s, %(account_id)s, %(queue_id)s, %(source_arn)s, %(destination_arn)s,
       %(max_per_second)s, 'RUNNING', count(*)
FROM broker.messages WHERE queue_id = %(queue_id)s
ON CONFLICT DO NOTHING
RETURNING handle;

-- name: list_move_tasks
SELECT * FROM broker.move_tasks
WHERE source_arn = %(source_arn)s AND account_id = %(account_id)s
ORDER BY started_at DESC
LIMIT %(limit)s;

-- name: get_move_task
SELECT * FROM broker.move_tasks WHERE handle = %(handle)s;

-- name: cancel_move_task
UPDATE broker.move_tasks SET status = 'CANCELLED', updated_at = now()
WHERE handle = %(handle)s AND status = 'RUNNING'
RETURNING moved;

-- name: claim_move_task
-- One process at a time advances a task: the row lock is the lease, held for one short step.
SELECT * FROM broker.move_tasks
WHERE status = 'RUNNING' AND updated_at <= now() - make_interval(secs => %(budget)s)
ORDER BY updated_at
LIMIT 1
FOR UPDATE SKIP LOCKED;

-- name: move_messages
-- Move up to limit visible messages of a dead-letter queue: to the task's destination, or back
-- to the queue each message came from. Messages whose source is gone stay where they are.
WITH picked AS (
    SELECT m.queue_id, m.id, coalesce(%(destination_id)s, q.id) AS target
    FROM broker.messages m
    LEFT JOIN broker.queues q
      ON q.arn = m.dead_letter_source_arn AND q.deleted_at IS NULL
    WHERE m.queue_id = %(queue_id)s AND m.visible_at <= now()
      AND coalesce(%(destination_id)s, q.id) IS NOT NULL
    ORDER BY m.id
    LIMIT %(limit)s
    FOR UPDATE OF m SKIP LOCKED
),
gone AS (
    DELETE FROM broker.messages m USING picked p
    WHERE m.queue_id = p.queue_id AND m.id = p.id
    RETURNING m.*, p.target
),
moved AS (
    INSERT INTO broker.messages (
        queue_id, id, message_id, body, attributes, trace_header, sender_id,
        sent_at, visible_at, expires_at, group_id, dedup_id
    )
    SELECT g.target, nextval('broker.message_ids'), g.message_id, g.body, g.attributes,
           g.trace_header, g.sender_id, now(), now(),
           now() + make_interval(secs => coalesce(
               (SELECT (t.attributes ->> 'MessageRetentionPeriod')::int
                FROM broker.queues t WHERE t.id = g.target), 345600)),
           g.group_id, g.dedup_id
    FROM gone g
    ORDER BY g.id
    RETURNING queue_id
)
SELECT queue_id, count(*) AS moved FROM moved GROUP BY queue_id;

-- name: advance_move_task
UPDATE broker.move_tasks
SET moved = moved + %(moved)s, updated_at = now(),
    status = CASE WHEN %(finished)s THEN 'COMPLETED' ELSE status END
WHERE handle = %(handle)s AND status = 'RUNNING';

-- name: fail_move_task
UPDATE broker.move_tasks
SET status = 'FAILED', failure_reason = %(reason)s, updated_at = now()
WHERE handle = %(handle)s AND status = 'RUNNING';

-- name: load_secret
INSERT INTO broker.secrets (name, value) VALUES (%(name)s, %(value)s)
ON CONFLICT (name) DO UPDATE SET name = excluded.name
RETURNING value;

-- name: statistics_due
-- The claim must read the ready index in order and stop after its batch. With statistics that say
-- the queue is small (autovacuum off, or behind a busy table), the planner instead fetches every
-- ready row and sorts them: measured, 50,000 rows and 40-130 ms per claim on a backlog. So the
-- janitor re-analyzes past autovacuum's own threshold for this table; one process at a time.
SELECT CASE
    WHEN s.n_mod_since_analyze > 1000 + 0.02 * greatest(s.n_live_tup, 0)
    THEN pg_try_advisory_xact_lock(1651665778, -1)
    ELSE false
END AS due
FROM pg_stat_user_tables s
WHERE s.relid = 'broker.messages'::regclass;

-- name: analyze_messages
ANALYZE broker.messages;

-- name: notify_payloads
SELECT pg_notify(%(channel)s, p) FROM unnest(%(payloads)s::text[]) AS p;
