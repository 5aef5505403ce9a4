-- Sessions: the ended interceptions that share (session_id, initiator_id).
--
-- Every query here selects interceptions with the same filter block (as the reference does),
-- and a session's values are computed over the interceptions that pass it.
-- Each copy sits between `-- filter:session-filters begin` / `end` lines: sqlc has no
-- includes, so tests/test_sql_filters.py checks that the copies are identical and that
-- breaking any condition of any copy changes an answer. The client filter
-- means COALESCE(client, 'Unknown') = @client, written so that the planner can use the
-- column's statistics (it guesses 0.5% for the COALESCE expression and then sorts the table).
--
-- Why the list does not aggregate every session: a session's started_at is the MIN over its
-- interceptions, so once every interception with started_at >= t has been seen, every session
-- that starts at or after t is known. ListAIBridgeSessions therefore scans the newest
-- @scan_limit filtered interceptions (through the (started_at DESC, id DESC) index, or the
-- (initiator_id, started_at DESC, id DESC) one for a single initiator), takes their sessions as
-- candidates, computes each candidate's true start through the (session_id) index, and keeps
-- the candidates that start inside the scanned window. The caller widens @scan_limit until the
-- page is full or CountAIBridgeSessionsScanned shows the scan reached the end; @scan_limit = 0
-- scans everything (the plain reference semantics).

-- name: ListAIBridgeSessions :many
WITH fi AS NOT MATERIALIZED (
    SELECT aibridge_interceptions.*
    FROM aibridge_interceptions
    -- filter:session-filters begin
    WHERE aibridge_interceptions.ended_at IS NOT NULL
      AND (@started_after::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
           OR aibridge_interceptions.started_at >= @started_after::timestamptz)
      AND (@started_before::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
           OR aibridge_interceptions.started_at <= @started_before::timestamptz)
      AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
           OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
      AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
      AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
      AND (@provider_name::text = '' OR to_jsonb(aibridge_interceptions) ->> 'provider_name' = @provider_name::text)
      AND (NOT @failed::boolean OR to_jsonb(aibridge_interceptions) ->> 'error_type' IS NOT NULL)
      AND (@client::text = '' OR aibridge_interceptions.client = @client::text
           OR (@client::text = 'Unknown' AND aibridge_interceptions.client IS NULL))
      AND (@session_id::text = '' OR aibridge_interceptions.session_id = @session_id::text)
      -- filter:session-filters end
      -- @authorize_filter
),
cursor_key AS (
    -- Our cursor carries the whole sort key. The reference's after_session_id is looked up
    -- among the listed sessions under the same filters: one row per user with that key, so a
    -- key shared by two users makes the scalar subqueries below fail (the command checks
    -- this first and names the users).
    SELECT @cursor_started_at::timestamptz AS started_at,
           @cursor_session_id::text AS session_id,
           @cursor_initiator_id::uuid AS initiator_id
    WHERE @cursor_started_at::timestamptz != '0001-01-01 00:00:00+00'::timestamptz
    UNION ALL
    SELECT min(fi.started_at), fi.session_id, fi.initiator_id
    FROM fi
    JOIN visible_users ON visible_users.id = fi.initiator_id
    WHERE @cursor_started_at::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
      AND @after_session_id::text != ''
      AND fi.session_id = @after_session_id::text
    GROUP BY fi.session_id, fi.initiator_id
),
scanned AS (
    -- The newest interceptions at or before the cursor's start: every session after the
    -- cursor starts at or before it.
    SELECT fi.started_at, fi.session_id, fi.initiator_id
    FROM fi
    WHERE fi.started_at <= COALESCE((SELECT started_at FROM cursor_key), 'infinity'::timestamptz)
    ORDER BY fi.started_at DESC, fi.id DESC
    LIMIT NULLIF(@scan_limit::integer, 0)
),
edge AS (
    SELECT min(scanned.started_at) AS started_at FROM scanned
),
candidates AS (
    -- Interceptions that start exactly at the window's edge but fell past the LIMIT belong
    -- to the window too.
    SELECT scanned.session_id, scanned.initiator_id FROM scanned
    UNION
    SELECT fi.session_id, fi.initiator_id
    FROM fi
    WHERE fi.started_at = (SELECT started_at FROM edge)
),
complete AS (
    SELECT candidates.session_id, candidates.initiator_id, first.started_at
    FROM candidates
    JOIN visible_users ON visible_users.id = candidates.initiator_id
    -- A session that started before the window is dropped before its start is computed: the
    -- (session_id) index returns a key's rows roughly in the order they were written, so for
    -- a long-lived session this stops at its first row instead of reading all of them.
    CROSS JOIN LATERAL (
        SELECT NOT EXISTS (
            SELECT 1
            FROM fi
            WHERE fi.session_id = candidates.session_id
              AND fi.initiator_id IS NOT DISTINCT FROM candidates.initiator_id
              AND fi.started_at < (SELECT started_at FROM edge)
        ) AS inside
    ) window_check
    CROSS JOIN LATERAL (
        SELECT min(fi.started_at) AS started_at
        FROM fi
        -- IS NOT DISTINCT FROM keeps the planner on the (session_id) index alone: combining it
        -- with the (initiator_id) index reads thousands of index entries per session.
        WHERE fi.session_id = candidates.session_id
          AND fi.initiator_id IS NOT DISTINCT FROM candidates.initiator_id
    ) first
    WHERE window_check.inside
      AND first.started_at >= (SELECT started_at FROM edge)
      AND (
        (@cursor_started_at::timestamptz = '0001-01-01 00:00:00+00'::timestamptz AND @after_session_id::text = '')
        OR (first.started_at, candidates.session_id, candidates.initiator_id)
           < (SELECT cursor_key.started_at, cursor_key.session_id, cursor_key.initiator_id FROM cursor_key)
      )
),
page AS (
    SELECT complete.session_id, complete.initiator_id, complete.started_at
    FROM complete
    ORDER BY complete.started_at DESC, complete.session_id DESC, complete.initiator_id DESC
    LIMIT COALESCE(NULLIF(@limit_::integer, 0), 100)
    OFFSET @offset_::integer
)
SELECT
    page.session_id,
    visible_users.id AS user_id,
    visible_users.username AS user_username,
    visible_users.name AS user_name,
    visible_users.avatar_url AS user_avatar_url,
    agg.providers::text[] AS providers,
    agg.models::text[] AS models,
    COALESCE(agg.client, '')::varchar(64) AS client,
    agg.metadata::jsonb AS metadata,
    page.started_at::timestamptz AS started_at,
    agg.ended_at::timestamptz AS ended_at,
    agg.threads,
    COALESCE(tokens.input_tokens, 0)::bigint AS input_tokens,
    COALESCE(tokens.output_tokens, 0)::bigint AS output_tokens,
    COALESCE(last_prompt.prompt, '') AS last_prompt
FROM page
JOIN visible_users ON visible_users.id = page.initiator_id
CROSS JOIN LATERAL (
    SELECT
        (array_agg(fi.client ORDER BY fi.started_at, fi.id))[1] AS client,
        (array_agg(fi.metadata ORDER BY fi.started_at, fi.id))[1] AS metadata,
        array_agg(DISTINCT fi.provider ORDER BY fi.provider) AS providers,
        array_agg(DISTINCT fi.model ORDER BY fi.model) AS models,
        max(fi.ended_at) AS ended_at,
        count(DISTINCT COALESCE(fi.thread_root_id, fi.id)) AS threads,
        array_agg(fi.id) AS ids
    FROM fi
    WHERE fi.session_id = page.session_id
      AND fi.initiator_id IS NOT DISTINCT FROM page.initiator_id
) agg
LEFT JOIN LATERAL (
    SELECT sum(tu.input_tokens) AS input_tokens, sum(tu.output_tokens) AS output_tokens
    FROM aibridge_token_usages tu
    WHERE tu.interception_id = ANY(agg.ids)
) tokens ON true
LEFT JOIN LATERAL (
    SELECT up.prompt
    FROM aibridge_user_prompts up
    WHERE up.interception_id = ANY(agg.ids)
    ORDER BY up.created_at DESC, up.id DESC
    LIMIT 1
) last_prompt ON true
ORDER BY page.started_at DESC, page.session_id DESC, page.initiator_id DESC;

-- name: CountAIBridgeSessionsScanned :one
-- How many of the newest @scan_limit filtered interceptions at or before the cursor exist:
-- fewer than @scan_limit means ListAIBridgeSessions saw them all, so its page is final.
WITH fi AS NOT MATERIALIZED (
    SELECT aibridge_interceptions.*
    FROM aibridge_interceptions
    -- filter:session-filters begin
    WHERE aibridge_interceptions.ended_at IS NOT NULL
      AND (@started_after::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
           OR aibridge_interceptions.started_at >= @started_after::timestamptz)
      AND (@started_before::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
           OR aibridge_interceptions.started_at <= @started_before::timestamptz)
      AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
           OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
      AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
      AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
      AND (@provider_name::text = '' OR to_jsonb(aibridge_interceptions) ->> 'provider_name' = @provider_name::text)
      AND (NOT @failed::boolean OR to_jsonb(aibridge_interceptions) ->> 'error_type' IS NOT NULL)
      AND (@client::text = '' OR aibridge_interceptions.client = @client::text
           OR (@client::text = 'Unknown' AND aibridge_interceptions.client IS NULL))
      AND (@session_id::text = '' OR aibridge_interceptions.session_id = @session_id::text)
      -- filter:session-filters end
      -- @authorize_filter
)
SELECT count(*) AS scanned
FROM (
    SELECT 1
    FROM fi
    WHERE @cursor_started_at::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
       OR fi.started_at <= @cursor_started_at::timestamptz
    ORDER BY fi.started_at DESC, fi.id DESC
    LIMIT NULLIF(@scan_limit::integer, 0)
) window_rows;

-- name: CountAIBridgeSessions :one
-- The sessions ListAIBridgeSessions lists (initiators without a users row are left out, which
-- the reference's count does not do). Each (initiator, session) pair is found once by hashing;
-- users are joined to the few per-initiator totals rather than to every interception.
SELECT COALESCE(sum(per_user.sessions), 0)::bigint AS count
FROM (
    SELECT pairs.initiator_id, count(*) AS sessions
    FROM (
        SELECT aibridge_interceptions.initiator_id, aibridge_interceptions.session_id
        FROM aibridge_interceptions
        -- filter:session-filters begin
        WHERE aibridge_interceptions.ended_at IS NOT NULL
          AND (@started_after::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
               OR aibridge_interceptions.started_at >= @started_after::timestamptz)
          AND (@started_before::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
               OR aibridge_interceptions.started_at <= @started_before::timestamptz)
          AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
               OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
          AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
          AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
          AND (@provider_name::text = '' OR to_jsonb(aibridge_interceptions) ->> 'provider_name' = @provider_name::text)
          AND (NOT @failed::boolean OR to_jsonb(aibridge_interceptions) ->> 'error_type' IS NOT NULL)
          AND (@client::text = '' OR aibridge_interceptions.client = @client::text
               OR (@client::text = 'Unknown' AND aibridge_interceptions.client IS NULL))
          AND (@session_id::text = '' OR aibridge_interceptions.session_id = @session_id::text)
          -- filter:session-filters end
          -- @authorize_filter
        GROUP BY aibridge_interceptions.initiator_id, aibridge_interceptions.session_id
    ) pairs
    GROUP BY pairs.initiator_id
) per_user
JOIN visible_users ON visible_users.id = per_user.initiator_id;

-- name: TuneSessionsCount :exec
-- For this transaction only. work_mem, never lower than the server's setting: the count's hash
-- table of (initiator, session) pairs (about 30 MB per million interceptions) then stays in
-- memory instead of spilling to disk in batches. parallel_tuple_cost: the planner expects each
-- worker's partial count to hand back nearly every pair, so it keeps the scan on one core; but a
-- session's interceptions lie close together in time and so in the table, each worker sees
-- about its own share of the pairs, and two workers take the unfiltered count on 1,000,000
-- interceptions from about 475 ms to 365 ms (filtered counts keep their index plans).
SELECT set_config('work_mem', GREATEST(pg_size_bytes(current_setting('work_mem')), pg_size_bytes('64MB')) / 1024 || 'kB', true),
       set_config('parallel_tuple_cost', LEAST(current_setting('parallel_tuple_cost')::float8, 0.02)::text, true);

-- name: ListAIBridgeSessionInitiators :many
-- Who has a session with this key (under the list's filters): resolves the reference's
-- after_session_id, and `sessions show` without --initiator. user_username is NULL for an
-- initiator without a users row (such sessions are not listed).
SELECT
    aibridge_interceptions.initiator_id,
    visible_users.username AS user_username,
    visible_users.name AS user_name,
    min(aibridge_interceptions.started_at)::timestamptz AS started_at,
    max(aibridge_interceptions.ended_at)::timestamptz AS ended_at,
    count(*) AS interceptions
FROM aibridge_interceptions
LEFT JOIN visible_users ON visible_users.id = aibridge_interceptions.initiator_id
WHERE aibridge_interceptions.session_id = @key_session_id::text
  -- filter:session-filters begin
  AND aibridge_interceptions.ended_at IS NOT NULL
  AND (@started_after::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
       OR aibridge_interceptions.started_at >= @started_after::timestamptz)
  AND (@started_before::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
       OR aibridge_interceptions.started_at <= @started_before::timestamptz)
  AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
       OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
  AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
  AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
  AND (@provider_name::text = '' OR to_jsonb(aibridge_interceptions) ->> 'provider_name' = @provider_name::text)
  AND (NOT @failed::boolean OR to_jsonb(aibridge_interceptions) ->> 'error_type' IS NOT NULL)
  AND (@client::text = '' OR aibridge_interceptions.client = @client::text
           OR (@client::text = 'Unknown' AND aibridge_interceptions.client IS NULL))
  AND (@session_id::text = '' OR aibridge_interceptions.session_id = @session_id::text)
  -- filter:session-filters end
  -- @authorize_filter
GROUP BY aibridge_interceptions.initiator_id, visible_users.username, visible_users.name
ORDER BY visible_users.username NULLS LAST, aibridge_interceptions.initiator_id;

-- name: ListAIBridgeSessionInterceptions :many
-- `sessions show`: every ended interception of one session, oldest first, with its tokens.
-- Cache tokens by the one rule (see telemetry.sql's top): the column above zero, else the
-- greatest of the metadata keys. The columns are read by an unqualified name in a subquery over
-- aibridge_token_usages alone, so on the seed's layout (no such columns) the name resolves to
-- the NULL of the enclosing absent_columns row.
SELECT
    aibridge_interceptions.id,
    aibridge_interceptions.provider,
    aibridge_interceptions.model,
    aibridge_interceptions.client,
    aibridge_interceptions.metadata,
    aibridge_interceptions.api_key_id,
    aibridge_interceptions.started_at,
    aibridge_interceptions.ended_at,
    aibridge_interceptions.thread_parent_id,
    aibridge_interceptions.thread_root_id,
    -- The 2026-08 layout's columns, NULL on the seed's (to_jsonb reads a column that may be absent).
    to_jsonb(aibridge_interceptions) ->> 'provider_name' AS provider_name,
    to_jsonb(aibridge_interceptions) ->> 'credential_kind' AS credential_kind,
    to_jsonb(aibridge_interceptions) ->> 'credential_hint' AS credential_hint,
    to_jsonb(aibridge_interceptions) ->> 'error_type' AS error_type,
    to_jsonb(aibridge_interceptions) ->> 'error_message' AS error_message,
    COALESCE(tokens.input_tokens, 0)::bigint AS input_tokens,
    COALESCE(tokens.output_tokens, 0)::bigint AS output_tokens,
    COALESCE(tokens.cache_read_tokens, 0)::bigint AS cache_read_tokens,
    COALESCE(tokens.cache_write_tokens, 0)::bigint AS cache_write_tokens
FROM (SELECT NULL::bigint AS cache_read_input_tokens, NULL::bigint AS cache_write_input_tokens) AS absent_columns
CROSS JOIN aibridge_interceptions
LEFT JOIN LATERAL (
    SELECT
        sum(tu.input_tokens) AS input_tokens,
        sum(tu.output_tokens) AS output_tokens,
        sum(CASE WHEN tu.cache_read_column > 0 THEN tu.cache_read_column
                 ELSE GREATEST(CASE WHEN jsonb_typeof(tu.metadata -> 'cache_read_input') = 'number' THEN (tu.metadata ->> 'cache_read_input')::numeric END,
                               CASE WHEN jsonb_typeof(tu.metadata -> 'input_cached') = 'number' THEN (tu.metadata ->> 'input_cached')::numeric END,
                               CASE WHEN jsonb_typeof(tu.metadata -> 'prompt_cached') = 'number' THEN (tu.metadata ->> 'prompt_cached')::numeric END, 0)
            END) AS cache_read_tokens,
        sum(CASE WHEN tu.cache_write_column > 0 THEN tu.cache_write_column
                 ELSE GREATEST(CASE WHEN jsonb_typeof(tu.metadata -> 'cache_creation_input') = 'number' THEN (tu.metadata ->> 'cache_creation_input')::numeric END, 0)
            END) AS cache_write_tokens
    FROM (
        SELECT t.input_tokens, t.output_tokens, t.metadata,
            cache_read_input_tokens::bigint AS cache_read_column,
            cache_write_input_tokens::bigint AS cache_write_column
        FROM aibridge_token_usages t
        WHERE t.interception_id = aibridge_interceptions.id
    ) tu
) tokens ON true
WHERE aibridge_interceptions.ended_at IS NOT NULL
  AND aibridge_interceptions.session_id = @session_id::text
  AND aibridge_interceptions.initiator_id IS NOT DISTINCT FROM @initiator_id::uuid  -- (session_id) index only
  -- @authorize_filter
ORDER BY aibridge_interceptions.started_at, aibridge_interceptions.id;

-- name: ListAIBridgeSessionToolUsages :many
-- `sessions show`: the tool calls of one session's interceptions.
SELECT
    tu.id,
    tu.interception_id,
    tu.tool,
    tu.server_url,
    tu.input,
    tu.injected,
    tu.invocation_error,
    tu.provider_tool_call_id,
    to_jsonb(tu) ->> 'provider_item_id' AS provider_item_id,
    tu.created_at
FROM aibridge_interceptions
JOIN aibridge_tool_usages tu ON tu.interception_id = aibridge_interceptions.id
WHERE aibridge_interceptions.ended_at IS NOT NULL
  AND aibridge_interceptions.session_id = @session_id::text
  AND aibridge_interceptions.initiator_id IS NOT DISTINCT FROM @initiator_id::uuid  -- (session_id) index only
  -- @authorize_filter
ORDER BY tu.created_at, tu.id;

-- name: ListAIBridgeSessionPrompts :many
-- `sessions show`: the user prompts of one session's interceptions.
SELECT
    up.id,
    up.interception_id,
    up.prompt,
    up.created_at
FROM aibridge_interceptions
JOIN aibridge_user_prompts up ON up.interception_id = aibridge_interceptions.id
WHERE aibridge_interceptions.ended_at IS NOT NULL
  AND aibridge_interceptions.session_id = @session_id::text
  AND aibridge_interceptions.initiator_id IS NOT DISTINCT FROM @initiator_id::uuid  -- (session_id) index only
  -- @authorize_filter
ORDER BY up.created_at, up.id;

-- name: ListAIBridgeSessionThoughts :many
-- `sessions show`: the model thoughts of one session's interceptions (they have no id).
SELECT
    mt.interception_id,
    mt.content,
    COALESCE(mt.metadata ->> 'source', '') AS source,
    mt.created_at
FROM aibridge_interceptions
JOIN aibridge_model_thoughts mt ON mt.interception_id = aibridge_interceptions.id
WHERE aibridge_interceptions.ended_at IS NOT NULL
  AND aibridge_interceptions.session_id = @session_id::text
  AND aibridge_interceptions.initiator_id IS NOT DISTINCT FROM @initiator_id::uuid  -- (session_id) index only
  -- @authorize_filter
ORDER BY mt.created_at, mt.content;
