-- Every statement of the EventStore, by name (buses, rules, targets, connections, API
-- destinations, archives, replays, the dispatch of events and the scheduler's claims).
-- A change to a bus's rules, targets or archives bumps event_buses.version in the same
-- statement: every process compares it with the version its compiled routing came from.

-- name: ensure_bus
INSERT INTO broker.event_buses (account_id, name, arn, description)
VALUES (%(account_id)s, %(name)s, %(arn)s, %(description)s)
ON CONFLICT DO NOTHING
RETURNING *, true AS created;

-- name: get_bus
SELECT * FROM broker.event_buses WHERE arn = %(arn)s;

-- name: get_bus_by_id
SELECT * FROM broker.event_buses WHERE id = %(bus_id)s;

-- name: list_buses
SELECT * FROM broker.event_buses
WHERE account_id = %(account_id)s AND name LIKE %(prefix)s AND name > %(after)s
ORDER BY name
LIMIT %(limit)s;

-- name: lock_bus_policy
-- PutPermission and RemovePermission edit the policy under this lock: none loses another's.
SELECT policy FROM broker.event_buses WHERE id = %(bus_id)s FOR UPDATE;

-- name: set_bus_policy
UPDATE broker.event_buses SET policy = %(policy)s, modified_at = now()
WHERE id = %(bus_id)s
RETURNING *;

-- name: delete_bus
-- Rules and targets go with the bus (ON DELETE CASCADE).
DELETE FROM broker.event_buses WHERE id = %(bus_id)s;

-- name: put_rule
WITH upserted AS (
    INSERT INTO broker.event_rules (
        bus_id, account_id, name, arn, event_pattern, schedule_expression, state, description,
        role_arn, tags, next_fire_at
    )
    VALUES (
        %(bus_id)s, %(account_id)s, %(name)s, %(arn)s, %(event_pattern)s,
        %(schedule_expression)s, %(state)s, %(description)s, %(role_arn)s, %(tags)s,
        %(next_fire_at)s
    )
    ON CONFLICT (bus_id, name) DO UPDATE
    SET event_pattern = excluded.event_pattern,
        schedule_expression = excluded.schedule_expression,
        state = excluded.state,
        description = excluded.description,
        role_arn = excluded.role_arn,
        -- an unchanged schedule keeps its next tick (re-putting a rule does not re-fire it)
        next_fire_at = CASE
            WHEN broker.event_rules.schedule_expression IS NOT DISTINCT FROM
                 excluded.schedule_expression
             AND broker.event_rules.next_fire_at IS NOT NULL
             AND excluded.next_fire_at IS NOT NULL
            THEN broker.event_rules.next_fire_at
            ELSE excluded.next_fire_at
        END
    RETURNING *
),
bumped AS (
    UPDATE broker.event_buses SET version = version + 1, modified_at = now()
    WHERE id = %(bus_id)s
)
SELECT * FROM upserted;

-- name: get_rule
SELECT * FROM broker.event_rules WHERE bus_id = %(bus_id)s AND name = %(name)s;

-- name: rule_tags
SELECT tags FROM broker.event_rules WHERE arn = %(arn)s;

-- name: list_rules
SELECT * FROM broker.event_rules
WHERE bus_id = %(bus_id)s AND name LIKE %(prefix)s AND name > %(after)s
ORDER BY name
LIMIT %(limit)s;

-- name: set_rule_state
WITH changed AS (
    UPDATE broker.event_rules SET state = %(state)s
    WHERE bus_id = %(bus_id)s AND name = %(name)s
    RETURNING id
),
bumped AS (
    UPDATE broker.event_buses SET version = version + 1
    WHERE id = %(bus_id)s AND EXISTS (SELECT 1 FROM changed)
)
SELECT count(*) AS changed FROM changed;

-- name: delete_rule
-- Refused (0 deleted, targets counted) while the rule has targets, unless forced.
WITH target_count AS (
    SELECT count(*) AS n FROM broker.event_targets t
    JOIN broker.event_rules r ON r.id = t.rule_id
    WHERE r.bus_id = %(bus_id)s AND r.name = %(name)s
),
gone AS (
    DELETE FROM broker.event_rules
    WHERE bus_id = %(bus_id)s AND name = %(name)s
      AND (%(force)s OR (SELECT n FROM target_count) = 0)
    RETURNING id
),
bumped AS (
    UPDATE broker.event_buses SET version = version + 1
    WHERE id = %(bus_id)s AND EXISTS (SELECT 1 FROM gone)
)
SELECT (SELECT count(*) FROM gone) AS deleted, (SELECT n FROM target_count) AS targets;

-- name: rule_names_by_target
SELECT DISTINCT r.name FROM broker.event_rules r
JOIN broker.event_targets t ON t.rule_id = r.id
WHERE r.bus_id = %(bus_id)s AND t.arn = %(arn)s AND r.name > %(after)s
ORDER BY r.name
LIMIT %(limit)s;

-- name: lock_rule
SELECT id FROM broker.event_rules WHERE id = %(rule_id)s FOR UPDATE;

-- name: list_targets
SELECT * FROM broker.event_targets
WHERE rule_id = %(rule_id)s AND target_id > %(after)s
ORDER BY target_id
LIMIT %(limit)s;

-- name: upsert_targets
INSERT INTO broker.event_targets (rule_id, target_id, arn, definition)
SELECT %(rule_id)s, t.target_id, t.arn, t.definition
FROM unnest(%(ids)s::text[], %(arns)s::text[], %(definitions)s::jsonb[]) AS t(target_id, arn, definition)
ON CONFLICT (rule_id, target_id) DO UPDATE
SET arn = excluded.arn, definition = excluded.definition;

-- name: remove_targets
DELETE FROM broker.event_targets
WHERE rule_id = %(rule_id)s AND target_id = ANY(%(ids)s::text[])
RETURNING target_id;

-- name: bump_bus
UPDATE broker.event_buses SET version = version + 1 WHERE id = %(bus_id)s;

-- name: bus_rule_targets
-- The enabled pattern rules of a bus with their targets (read once per routing version).
SELECT r.arn AS rule_arn, r.name AS rule_name, r.event_pattern,
       t.target_id, t.arn AS target_arn, t.definition
FROM broker.event_rules r
LEFT JOIN broker.event_targets t ON t.rule_id = r.id
WHERE r.bus_id = %(bus_id)s AND r.state <> 'DISABLED' AND r.event_pattern IS NOT NULL
ORDER BY r.name, t.target_id;

-- name: resolve_arns
-- The live queue, topic, bus or API destination each target ARN names (a handful of distinct
-- ARNs however many rules point at them).
SELECT a.arn AS target_arn,
       q.id AS queue_id, q.fifo AS queue_fifo,
       q.attributes ->> 'DeduplicationScope' AS queue_dedup_scope,
       tp.id AS topic_id, tp.fifo AS topic_fifo,
       b.id AS target_bus_id,
       d.arn AS destination_arn, d.endpoint AS destination_endpoint,
       d.http_method AS destination_method, d.rate_limit AS destination_rate,
       d.connection_arn AS destination_connection,
       -- who owns the target and its resource policy: another account's target is delivered
       -- to only when that policy allows the rule (see docs/security.md)
       coalesce(q.account_id, tp.account_id, b.account_id, d.account_id) AS target_owner,
       coalesce(q.attributes ->> 'Policy', tp.attributes ->> 'Policy', b.policy)
           AS target_policy
FROM unnest(%(arns)s::text[]) AS a(arn)
LEFT JOIN broker.queues q ON q.arn = a.arn AND q.deleted_at IS NULL
LEFT JOIN broker.topics tp ON tp.arn = a.arn
LEFT JOIN broker.event_buses b ON b.arn = a.arn
LEFT JOIN broker.api_destinations d ON d.arn = a.arn;

-- name: bus_archives
SELECT id, event_pattern FROM broker.event_archives
WHERE source_arn = %(arn)s AND state = 'ENABLED'
ORDER BY id;

-- name: dispatch_publications
INSERT INTO broker.publications (topic_id, message_id, message, group_id, dedup_id, sender_id)
SELECT * FROM unnest(
    %(topic_ids)s::bigint[], %(message_ids)s::uuid[], %(messages)s::text[],
    %(group_ids)s::text[], %(dedup_ids)s::text[], %(sender_ids)s::text[]
);

-- name: dispatch_archive_rows
INSERT INTO broker.archived_events (archive_id, event_time, event)
SELECT * FROM unnest(%(archive_ids)s::bigint[], %(times)s::timestamptz[], %(events)s::text[]);

-- name: claim_schedules
-- Each due scheduled rule is claimed by exactly one process: the row stays locked until the
-- tick's dispatch and the advance of next_fire_at commit together.
SELECT r.*, b.name AS bus_name FROM broker.event_rules r
JOIN broker.event_buses b ON b.id = r.bus_id
WHERE r.next_fire_at <= now()
ORDER BY r.next_fire_at
LIMIT %(limit)s
FOR UPDATE OF r SKIP LOCKED;

-- name: rule_targets
SELECT r.arn AS rule_arn, r.name AS rule_name, r.event_pattern,
       t.target_id, t.arn AS target_arn, t.definition,
       q.id AS queue_id, q.fifo AS queue_fifo,
       q.attributes ->> 'DeduplicationScope' AS queue_dedup_scope,
       tp.id AS topic_id, tp.fifo AS topic_fifo,
       b.id AS target_bus_id,
       d.arn AS destination_arn, d.endpoint AS destination_endpoint,
       d.http_method AS destination_method, d.rate_limit AS destination_rate,
       d.connection_arn AS destination_connection,
       -- who owns the target and its resource policy: another account's target is delivered
       -- to only when that policy allows the rule (see docs/security.md)
       coalesce(q.account_id, tp.account_id, b.account_id, d.account_id) AS target_owner,
       coalesce(q.attributes ->> 'Policy', tp.attributes ->> 'Policy', b.policy)
           AS target_policy
FROM broker.event_rules r
JOIN broker.event_targets t ON t.rule_id = r.id
LEFT JOIN broker.queues q ON q.arn = t.arn AND q.deleted_at IS NULL
LEFT JOIN broker.topics tp ON tp.arn = t.arn
LEFT JOIN broker.event_buses b ON b.arn = t.arn
LEFT JOIN broker.api_destinations d ON d.arn = t.arn
WHERE r.id = %(rule_id)s
ORDER BY t.target_id;

-- name: advance_schedule
UPDATE broker.event_rules SET next_fire_at = %(next_fire_at)s WHERE id = %(rule_id)s;

-- name: create_connection
INSERT INTO broker.event_connections (
    account_id, name, arn, description, authorization_type, auth_parameters, state
)
VALUES (
    %(account_id)s, %(name)s, %(arn)s, %(description)s, %(authorization_type)s,
    %(auth_parameters)s, %(state)s
)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: get_connection
SELECT * FROM broker.event_connections WHERE account_id = %(account_id)s AND name = %(name)s;

-- name: get_connection_by_arn
SELECT * FROM broker.event_connections WHERE arn = %(arn)s;

-- name: all_connection_parameters
SELECT id, auth_parameters FROM broker.event_connections ORDER BY id FOR UPDATE;

-- name: replace_connection_parameters
UPDATE broker.event_connections SET auth_parameters = %(auth_parameters)s WHERE id = %(id)s;

-- name: list_connections
SELECT * FROM broker.event_connections
WHERE account_id = %(account_id)s AND name LIKE %(prefix)s AND name > %(after)s
ORDER BY name
LIMIT %(limit)s;

-- name: update_connection
UPDATE broker.event_connections
SET description = %(description)s, authorization_type = %(authorization_type)s,
    auth_parameters = %(auth_parameters)s, state = %(state)s, modified_at = now()
WHERE id = %(id)s
RETURNING *;

-- name: delete_connection
DELETE FROM broker.event_connections WHERE id = %(id)s RETURNING *;

-- name: create_destination
INSERT INTO broker.api_destinations (
    account_id, name, arn, description, connection_arn, endpoint, http_method, rate_limit, state
)
VALUES (
    %(account_id)s, %(name)s, %(arn)s, %(description)s, %(connection_arn)s, %(endpoint)s,
    %(http_method)s, %(rate_limit)s, %(state)s
)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: get_destination
SELECT * FROM broker.api_destinations WHERE account_id = %(account_id)s AND name = %(name)s;

-- name: list_destinations
SELECT * FROM broker.api_destinations
WHERE account_id = %(account_id)s AND name LIKE %(prefix)s AND name > %(after)s
  AND (%(connection_arn)s::text IS NULL OR connection_arn = %(connection_arn)s::text)
ORDER BY name
LIMIT %(limit)s;

-- name: update_destination
-- Rules targeting the destination route through it: their buses' routing is rebuilt.
WITH changed AS (
    UPDATE broker.api_destinations
    SET description = %(description)s, connection_arn = %(connection_arn)s,
        endpoint = %(endpoint)s, http_method = %(http_method)s, rate_limit = %(rate_limit)s,
        modified_at = now()
    WHERE id = %(id)s
    RETURNING *
),
bumped AS (
    UPDATE broker.event_buses SET version = version + 1
    WHERE id IN (
        SELECT r.bus_id FROM broker.event_rules r
        JOIN broker.event_targets t ON t.rule_id = r.id
        WHERE t.arn IN (SELECT arn FROM changed)
    )
)
SELECT * FROM changed;

-- name: delete_destination
DELETE FROM broker.api_destinations WHERE id = %(id)s RETURNING *;

-- name: create_archive
WITH created AS (
    INSERT INTO broker.event_archives (
        account_id, name, arn, source_arn, description, event_pattern, retention_days, state
    )
    VALUES (
        %(account_id)s, %(name)s, %(arn)s, %(source_arn)s, %(description)s, %(event_pattern)s,
        %(retention_days)s, 'ENABLED'
    )
    ON CONFLICT DO NOTHING
    RETURNING *
),
bumped AS (
    UPDATE broker.event_buses SET version = version + 1
    WHERE arn = %(source_arn)s AND EXISTS (SELECT 1 FROM created)
)
SELECT *, 0 AS event_count, 0 AS size_bytes FROM created;

-- name: get_archive
SELECT a.*,
       (SELECT count(*) FROM broker.archived_events e WHERE e.archive_id = a.id) AS event_count,
       (SELECT coalesce(sum(octet_length(e.event)), 0) FROM broker.archived_events e
        WHERE e.archive_id = a.id) AS size_bytes
FROM broker.event_archives a WHERE a.account_id = %(account_id)s AND a.name = %(name)s;

-- name: list_archives
SELECT a.*, 0 AS event_count, 0 AS size_bytes FROM broker.event_archives a
WHERE a.account_id = %(account_id)s AND a.name LIKE %(prefix)s AND a.name > %(after)s
  AND (%(source_arn)s::text IS NULL OR a.source_arn = %(source_arn)s::text)
  AND (%(state)s::text IS NULL OR a.state = %(state)s::text)
ORDER BY a.name
LIMIT %(limit)s;

-- name: update_archive
WITH changed AS (
    UPDATE broker.event_archives
    SET description = %(description)s, event_pattern = %(event_pattern)s,
        retention_days = %(retention_days)s, modified_at = now()
    WHERE id = %(id)s
    RETURNING *
),
bumped AS (
    UPDATE broker.event_buses SET version = version + 1
    WHERE arn IN (SELECT source_arn FROM changed)
)
SELECT *, 0 AS event_count, 0 AS size_bytes FROM changed;

-- name: delete_archive
WITH gone AS (DELETE FROM broker.event_archives WHERE id = %(id)s RETURNING source_arn),
bumped AS (
    UPDATE broker.event_buses SET version = version + 1
    WHERE arn IN (SELECT source_arn FROM gone)
)
SELECT count(*) AS deleted FROM gone;

-- name: delete_expired_archived_events
-- RetentionDays, in bounded batches (0 keeps events forever).
DELETE FROM broker.archived_events
WHERE id IN (
    SELECT e.id FROM broker.archived_events e
    JOIN broker.event_archives a ON a.id = e.archive_id
    WHERE a.retention_days > 0
      AND e.archived_at < now() - make_interval(days => a.retention_days)
    LIMIT %(limit)s
);

-- name: create_replay
INSERT INTO broker.event_replays (
    account_id, name, arn, archive_arn, description, destination_arn, filter_arns,
    event_start_time, event_end_time, state, replay_start_time
)
VALUES (
    %(account_id)s, %(name)s, %(arn)s, %(archive_arn)s, %(description)s, %(destination_arn)s,
    %(filter_arns)s, %(event_start_time)s, %(event_end_time)s, 'STARTING', now()
)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: get_replay
SELECT * FROM broker.event_replays WHERE account_id = %(account_id)s AND name = %(name)s;

-- name: list_replays
SELECT * FROM broker.event_replays
WHERE account_id = %(account_id)s AND name LIKE %(prefix)s AND name > %(after)s
  AND (%(archive_arn)s::text IS NULL OR archive_arn = %(archive_arn)s::text)
  AND (%(state)s::text IS NULL OR state = %(state)s::text)
ORDER BY name
LIMIT %(limit)s;

-- name: cancel_replay
UPDATE broker.event_replays SET state = 'CANCELLING', modified_at = now()
WHERE id = %(id)s AND state IN ('STARTING', 'RUNNING')
RETURNING *;

-- name: claim_replay
-- One replay step at a time per replay: the row stays locked while its step dispatches.
SELECT * FROM broker.event_replays
WHERE state IN ('STARTING', 'RUNNING', 'CANCELLING')
ORDER BY id
LIMIT 1
FOR UPDATE SKIP LOCKED;

-- name: replay_events
SELECT e.id, e.event, e.event_time FROM broker.archived_events e
JOIN broker.event_archives a ON a.id = e.archive_id
WHERE a.arn = %(archive_arn)s
  AND e.event_time >= %(start)s AND e.event_time < %(end)s
  AND (e.event_time, e.id)
      > (coalesce(%(after_time)s::timestamptz, '-infinity'), %(after_id)s::bigint)
ORDER BY e.event_time, e.id
LIMIT %(limit)s;

-- name: advance_replay
UPDATE broker.event_replays
SET state = %(state)s, state_reason = %(state_reason)s, last_replayed = %(last_replayed)s,
    replay_cursor = %(cursor)s,
    replay_end_time = CASE WHEN %(state)s IN ('COMPLETED', 'CANCELLED', 'FAILED')
                           THEN now() ELSE replay_end_time END,
    modified_at = now()
WHERE id = %(id)s;

-- name: dead_letter_event_delivery
-- An event target's retries ran out (or its error cannot be retried): the payload goes to the
-- target's dead-letter queue with the attributes EventBridge sets, in the transaction that
-- removes the outbox row.
WITH gone AS (
    DELETE FROM broker.deliveries
    WHERE id = %(delivery_id)s AND attempts = %(attempts)s
    RETURNING body, dead_letter_arn
),
target AS (
    SELECT q.id, q.attributes, g.body FROM gone g
    JOIN broker.queues q ON q.arn = g.dead_letter_arn AND q.deleted_at IS NULL AND NOT q.fifo
    -- the rule's own account only: another account's queue is not written to
    WHERE q.account_id = %(account_id)s
)
INSERT INTO broker.messages (
    queue_id, id, message_id, body, attributes, sender_id, sent_at, visible_at, expires_at
)
SELECT t.id, nextval('broker.message_ids'), gen_random_uuid(), t.body, %(attributes)s::jsonb,
       'events.amazonaws.com', now(), now(),
       now() + make_interval(secs => (t.attributes ->> 'MessageRetentionPeriod')::int)
FROM target t
RETURNING queue_id;

-- name: bus_gauges
-- Rules per bus for metrics (background refresh): one row per bus, buses without rules at 0.
SELECT b.account_id, b.name,
       count(r.id) FILTER (WHERE r.state <> 'DISABLED') AS enabled,
       count(r.id) FILTER (WHERE r.state = 'DISABLED') AS disabled
FROM broker.event_buses b
LEFT JOIN broker.event_rules r ON r.bus_id = b.id
GROUP BY b.id
ORDER BY b.account_id, b.name;

-- name: event_delivery_gauges
-- API-destination deliveries in the shared outbox and the replays in progress, for metrics.
SELECT count(*) FILTER (WHERE d.next_attempt_at <= now()) AS due,
       count(*) FILTER (WHERE d.next_attempt_at > now()) AS scheduled,
       (SELECT count(*) FROM broker.event_replays
        WHERE state IN ('STARTING', 'RUNNING', 'CANCELLING')) AS replays
FROM broker.deliveries d
WHERE d.kind = 'events';
