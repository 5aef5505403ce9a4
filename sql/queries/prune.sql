-- Retention: delete interceptions that started before a cutoff, with their child rows.
-- The child tables have no foreign key to aibridge_interceptions, so nothing cascades:
-- every statement that deletes interceptions deletes their children in the same statement.
-- Conditions repeated across queries sit between `-- filter:NAME begin` / `end` lines;
-- tests/test_sql_filters.py keeps the copies identical.

-- name: DeleteOldAIBridgeRecords :one
-- Everything older than the cutoff in one statement (the reference's contract). `aibridge
-- prune` uses the batched queries below instead, to keep every transaction short.
WITH old AS MATERIALIZED (
    -- filter:old-interceptions begin
    SELECT id FROM aibridge_interceptions WHERE started_at < @before_time::timestamptz
    -- filter:old-interceptions end
),
old_ids AS (
    SELECT coalesce(array_agg(id), '{}') AS ids FROM old
),
thoughts AS (
    DELETE FROM aibridge_model_thoughts WHERE interception_id = ANY ((SELECT ids FROM old_ids)::uuid[]) RETURNING 1
),
tools AS (
    DELETE FROM aibridge_tool_usages WHERE interception_id = ANY ((SELECT ids FROM old_ids)::uuid[]) RETURNING 1
),
tokens AS (
    DELETE FROM aibridge_token_usages WHERE interception_id = ANY ((SELECT ids FROM old_ids)::uuid[]) RETURNING 1
),
prompts AS (
    DELETE FROM aibridge_user_prompts WHERE interception_id = ANY ((SELECT ids FROM old_ids)::uuid[]) RETURNING 1
),
interceptions AS (
    DELETE FROM aibridge_interceptions WHERE id IN (SELECT id FROM old) RETURNING 1
)
SELECT ((SELECT count(*) FROM thoughts) + (SELECT count(*) FROM tools) + (SELECT count(*) FROM tokens)
        + (SELECT count(*) FROM prompts) + (SELECT count(*) FROM interceptions))::bigint AS total_deleted;

-- name: PruneWindowEnd :one
-- The next window of old interceptions, oldest first, after the keyset position
-- (after_started_at, after_id) — inclusive of that position only at the very start, so that
-- nothing at the start of time is missed: how many there are and where the window ends.
-- Walking a keyset rather than re-reading the oldest rows keeps every step from wading
-- through the index entries of rows that earlier batches deleted.
WITH w AS MATERIALIZED (
    SELECT started_at, id
    FROM aibridge_interceptions
    -- filter:prune-window begin
    WHERE started_at < @before_time::timestamptz
      AND (started_at, id) >= (@after_started_at::timestamptz, @after_id::uuid)
      AND (@inclusive::boolean OR (started_at, id) <> (@after_started_at::timestamptz, @after_id::uuid))
    -- filter:prune-window end
    ORDER BY started_at, id
    LIMIT @window_size::integer
),
last AS (
    SELECT started_at, id FROM w ORDER BY started_at DESC, id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM w)::bigint AS interceptions,
       (SELECT started_at FROM last) AS last_started_at,
       (SELECT id FROM last) AS last_id;

-- name: PruneInterceptionBatch :one
-- One batch: up to batch_size old interceptions of one window (after the keyset position,
-- up to and including the window's end) whose id lies in [id_low, id_high], deleted together
-- with all their child rows in one statement. Taking a window in slices of the id space keeps
-- each batch's child-index lookups within a fraction of those (random-UUID) indexes, so far
-- fewer index pages are read per deleted row than with one time-ordered batch of the same size.
-- SKIP LOCKED passes over interceptions another transaction is updating (the bridge closing
-- one); a later pass or run takes them.
WITH picked AS MATERIALIZED (
    SELECT ctid, id, started_at
    FROM aibridge_interceptions
    -- filter:prune-window begin
    WHERE started_at < @before_time::timestamptz
      AND (started_at, id) >= (@after_started_at::timestamptz, @after_id::uuid)
      AND (@inclusive::boolean OR (started_at, id) <> (@after_started_at::timestamptz, @after_id::uuid))
    -- filter:prune-window end
      AND (started_at, id) <= (@upto_started_at::timestamptz, @upto_id::uuid)
      AND id BETWEEN @id_low::uuid AND @id_high::uuid
    ORDER BY started_at, id
    LIMIT @batch_size::integer
    FOR UPDATE SKIP LOCKED
),
picked_ids AS (
    SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(ctid), '{}') AS ctids FROM picked
),
token_usages AS (
    DELETE FROM aibridge_token_usages WHERE interception_id = ANY ((SELECT ids FROM picked_ids)::uuid[]) RETURNING 1
),
user_prompts AS (
    DELETE FROM aibridge_user_prompts WHERE interception_id = ANY ((SELECT ids FROM picked_ids)::uuid[]) RETURNING 1
),
tool_usages AS (
    DELETE FROM aibridge_tool_usages WHERE interception_id = ANY ((SELECT ids FROM picked_ids)::uuid[]) RETURNING 1
),
model_thoughts AS (
    DELETE FROM aibridge_model_thoughts WHERE interception_id = ANY ((SELECT ids FROM picked_ids)::uuid[]) RETURNING 1
),
-- By ctid: the rows are locked by this statement, so their ctids cannot change under it.
interceptions AS (
    DELETE FROM aibridge_interceptions WHERE ctid = ANY ((SELECT ctids FROM picked_ids)::tid[]) RETURNING 1
),
last AS (
    SELECT started_at, id FROM picked ORDER BY started_at DESC, id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM interceptions)::bigint AS interceptions,
       (SELECT count(*) FROM token_usages)::bigint AS token_usages,
       (SELECT count(*) FROM user_prompts)::bigint AS user_prompts,
       (SELECT count(*) FROM tool_usages)::bigint AS tool_usages,
       (SELECT count(*) FROM model_thoughts)::bigint AS model_thoughts,
       (SELECT started_at FROM last) AS last_started_at,
       (SELECT id FROM last) AS last_id;

-- name: CountOldAIBridgeRecords :one
-- What DeleteOldAIBridgeRecords would delete, per table (for --dry-run).
WITH old AS MATERIALIZED (
    -- filter:old-interceptions begin
    SELECT id FROM aibridge_interceptions WHERE started_at < @before_time::timestamptz
    -- filter:old-interceptions end
)
SELECT (SELECT count(*) FROM old)::bigint AS interceptions,
       (SELECT count(*) FROM aibridge_token_usages WHERE interception_id IN (SELECT id FROM old))::bigint AS token_usages,
       (SELECT count(*) FROM aibridge_user_prompts WHERE interception_id IN (SELECT id FROM old))::bigint AS user_prompts,
       (SELECT count(*) FROM aibridge_tool_usages WHERE interception_id IN (SELECT id FROM old))::bigint AS tool_usages,
       (SELECT count(*) FROM aibridge_model_thoughts WHERE interception_id IN (SELECT id FROM old))::bigint AS model_thoughts;

-- name: CountInterceptionsBefore :one
-- Sizes the progress bar, and says how much is left when --max-duration stops a run.
SELECT count(*)::bigint AS interceptions FROM aibridge_interceptions WHERE started_at < @before_time::timestamptz;

-- name: TryPruneLock :one
-- Session-level, so it spans the many short batch transactions and is released when the
-- session ends, however it ends (a killed process frees it with its connection).
SELECT pg_try_advisory_lock(hashtextextended('aibridge_prune', 0)) AS acquired;

-- name: ReleasePruneLock :one
SELECT pg_advisory_unlock(hashtextextended('aibridge_prune', 0)) AS released;

-- name: SetPruneBatchLimits :exec
-- For the current batch transaction only. An asynchronous commit is safe here: a crash can
-- only lose whole recent batches (each is atomic), which the next run deletes again.
SELECT set_config('lock_timeout', @lock_timeout_ms::integer::text, true),
       set_config('statement_timeout', @statement_timeout_ms::integer::text, true),
       set_config('synchronous_commit', 'off', true);

-- name: PruneTableRights :many
-- Whether the connected role may prune each table: it must have its owner's privileges (or be
-- a superuser), and row-level security must not apply to it, or a DELETE would silently skip
-- rows the policies hide and could leave children of deleted interceptions behind.
SELECT t.name AS table_name,
       pg_get_userbyid(c.relowner)::text AS owner,
       (r.rolsuper OR pg_has_role(c.relowner, 'USAGE')) AS is_owner,
       (c.relrowsecurity AND NOT r.rolsuper AND NOT r.rolbypassrls
        AND (c.relforcerowsecurity OR NOT pg_has_role(c.relowner, 'USAGE'))) AS row_security_applies
FROM unnest(ARRAY['aibridge_interceptions', 'aibridge_token_usages', 'aibridge_user_prompts',
                  'aibridge_tool_usages', 'aibridge_model_thoughts']) WITH ORDINALITY AS t(name, n)
JOIN pg_class c ON c.oid = to_regclass(t.name)
JOIN pg_roles r ON r.rolname = current_user
ORDER BY t.n;

-- name: CountAIBridgeOrphans :one
-- Child rows whose interception does not exist (left by older tools or hand edits).
SELECT (SELECT count(*) FROM aibridge_token_usages c WHERE NOT EXISTS
            (SELECT 1 FROM aibridge_interceptions i WHERE i.id = c.interception_id))::bigint AS orphan_token_usages,
       (SELECT count(*) FROM aibridge_user_prompts c WHERE NOT EXISTS
            (SELECT 1 FROM aibridge_interceptions i WHERE i.id = c.interception_id))::bigint AS orphan_user_prompts,
       (SELECT count(*) FROM aibridge_tool_usages c WHERE NOT EXISTS
            (SELECT 1 FROM aibridge_interceptions i WHERE i.id = c.interception_id))::bigint AS orphan_tool_usages,
       (SELECT count(*) FROM aibridge_model_thoughts c WHERE NOT EXISTS
            (SELECT 1 FROM aibridge_interceptions i WHERE i.id = c.interception_id))::bigint AS orphan_model_thoughts;

-- name: PruneOrphanTokenUsages :one
-- One orphan batch of aibridge_token_usages: the next `batch_size` distinct interception ids in index
-- order after after_id (inclusive only on the first batch), and the rows of those whose
-- interception does not exist. Returns how far the scan got.
WITH scanned AS MATERIALIZED (
    SELECT DISTINCT interception_id FROM aibridge_token_usages
    -- filter:orphan-keyset begin
    WHERE interception_id >= @after_id::uuid AND (@inclusive::boolean OR interception_id <> @after_id::uuid)
    -- filter:orphan-keyset end
    ORDER BY interception_id
    LIMIT @batch_size::integer
),
orphaned AS (
    SELECT coalesce(array_agg(s.interception_id), '{}') AS ids FROM scanned s
    WHERE NOT EXISTS (SELECT 1 FROM aibridge_interceptions i WHERE i.id = s.interception_id)
),
deleted AS (
    DELETE FROM aibridge_token_usages WHERE interception_id = ANY ((SELECT ids FROM orphaned)::uuid[]) RETURNING 1
)
SELECT (SELECT count(*) FROM deleted)::bigint AS deleted,
       (SELECT count(*) FROM scanned)::bigint AS scanned,
       (SELECT interception_id FROM scanned ORDER BY interception_id DESC LIMIT 1) AS last_id;

-- name: PruneOrphanUserPrompts :one
-- One orphan batch of aibridge_user_prompts: the next `batch_size` distinct interception ids in index
-- order after after_id (inclusive only on the first batch), and the rows of those whose
-- interception does not exist. Returns how far the scan got.
WITH scanned AS MATERIALIZED (
    SELECT DISTINCT interception_id FROM aibridge_user_prompts
    -- filter:orphan-keyset begin
    WHERE interception_id >= @after_id::uuid AND (@inclusive::boolean OR interception_id <> @after_id::uuid)
    -- filter:orphan-keyset end
    ORDER BY interception_id
    LIMIT @batch_size::integer
),
orphaned AS (
    SELECT coalesce(array_agg(s.interception_id), '{}') AS ids FROM scanned s
    WHERE NOT EXISTS (SELECT 1 FROM aibridge_interceptions i WHERE i.id = s.interception_id)
),
deleted AS (
    DELETE FROM aibridge_user_prompts WHERE interception_id = ANY ((SELECT ids FROM orphaned)::uuid[]) RETURNING 1
)
SELECT (SELECT count(*) FROM deleted)::bigint AS deleted,
       (SELECT count(*) FROM scanned)::bigint AS scanned,
       (SELECT interception_id FROM scanned ORDER BY interception_id DESC LIMIT 1) AS last_id;

-- name: PruneOrphanToolUsages :one
-- One orphan batch of aibridge_tool_usages: the next `batch_size` distinct interception ids in index
-- order after after_id (inclusive only on the first batch), and the rows of those whose
-- interception does not exist. Returns how far the scan got.
WITH scanned AS MATERIALIZED (
    SELECT DISTINCT interception_id FROM aibridge_tool_usages
    -- filter:orphan-keyset begin
    WHERE interception_id >= @after_id::uuid AND (@inclusive::boolean OR interception_id <> @after_id::uuid)
    -- filter:orphan-keyset end
    ORDER BY interception_id
    LIMIT @batch_size::integer
),
orphaned AS (
    SELECT coalesce(array_agg(s.interception_id), '{}') AS ids FROM scanned s
    WHERE NOT EXISTS (SELECT 1 FROM aibridge_interceptions i WHERE i.id = s.interception_id)
),
deleted AS (
    DELETE FROM aibridge_tool_usages WHERE interception_id = ANY ((SELECT ids FROM orphaned)::uuid[]) RETURNING 1
)
SELECT (SELECT count(*) FROM deleted)::bigint AS deleted,
       (SELECT count(*) FROM scanned)::bigint AS scanned,
       (SELECT interception_id FROM scanned ORDER BY interception_id DESC LIMIT 1) AS last_id;

-- name: PruneOrphanModelThoughts :one
-- One orphan batch of aibridge_model_thoughts: the next `batch_size` distinct interception ids in index
-- order after after_id (inclusive only on the first batch), and the rows of those whose
-- interception does not exist. Returns how far the scan got.
WITH scanned AS MATERIALIZED (
    SELECT DISTINCT interception_id FROM aibridge_model_thoughts
    -- filter:orphan-keyset begin
    WHERE interception_id >= @after_id::uuid AND (@inclusive::boolean OR interception_id <> @after_id::uuid)
    -- filter:orphan-keyset end
    ORDER BY interception_id
    LIMIT @batch_size::integer
),
orphaned AS (
    SELECT coalesce(array_agg(s.interception_id), '{}') AS ids FROM scanned s
    WHERE NOT EXISTS (SELECT 1 FROM aibridge_interceptions i WHERE i.id = s.interception_id)
),
deleted AS (
    DELETE FROM aibridge_model_thoughts WHERE interception_id = ANY ((SELECT ids FROM orphaned)::uuid[]) RETURNING 1
)
SELECT (SELECT count(*) FROM deleted)::bigint AS deleted,
       (SELECT count(*) FROM scanned)::bigint AS scanned,
       (SELECT interception_id FROM scanned ORDER BY interception_id DESC LIMIT 1) AS last_id;
