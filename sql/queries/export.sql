-- `aibridge export parquet`: every table, a UTC day at a time.
--
-- Two kinds of query. *Days counts the rows per UTC day of the row's own time (the
-- fingerprint that the incremental export compares with its state file: a day whose count, or
-- for interceptions whose number of ended rows or latest end, differs is written again whole);
-- one query, ExportChildDays, counts the four tables whose rows belong to an interception.
-- *Rows streams the rows of the given days in time order, so the writer finishes one day's
-- file before it starts the next. `SELECT table.*` on purpose: a deployment whose tables have
-- more columns (cache tokens, prices, errors) exports them too, with their own types.
--
-- Child tables reach the filters through a LEFT JOIN to their interception: with no filter the
-- guards fold away and PostgreSQL drops the join, so rows whose interception is missing (there
-- is no foreign key) are exported too; any filter, and --as, leaves them out.
-- @since/@until bound the rows' own time (the command widens them to whole UTC days).

-- name: ExportInterceptionDays :many
SELECT (aibridge_interceptions.started_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS row_count,
       count(aibridge_interceptions.ended_at) AS ended,
       max(aibridge_interceptions.ended_at) AS last_end
FROM aibridge_interceptions
WHERE true
    AND (@since::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_interceptions.started_at >= @since::timestamptz)
    AND (@until::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_interceptions.started_at < @until::timestamptz)
    AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
         OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
    AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
    AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
    AND (@client::text = '' OR COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text)
    -- @authorize_filter
GROUP BY 1
ORDER BY 1;

-- name: ExportInterceptionRows :many
SELECT aibridge_interceptions.*,
       (aibridge_interceptions.started_at AT TIME ZONE 'UTC')::date AS export_day
FROM aibridge_interceptions
WHERE (aibridge_interceptions.started_at AT TIME ZONE 'UTC')::date = ANY(@days::date[])
    AND (@since::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_interceptions.started_at >= @since::timestamptz)
    AND (@until::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_interceptions.started_at < @until::timestamptz)
    AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
         OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
    AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
    AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
    AND (@client::text = '' OR COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text)
    -- @authorize_filter
ORDER BY aibridge_interceptions.started_at, aibridge_interceptions.id;

-- name: ExportChildDays :many
-- The four tables whose rows belong to an interception, counted by one query: @table_name picks
-- the branch of the UNION ALL (PostgreSQL pushes the condition into each branch, where it is a
-- constant, so the other three tables are never scanned), and the filters are written once.
WITH child AS (
    SELECT 'token_usages' AS table_name, created_at, interception_id FROM aibridge_token_usages
    UNION ALL
    SELECT 'user_prompts', created_at, interception_id FROM aibridge_user_prompts
    UNION ALL
    SELECT 'tool_usages', created_at, interception_id FROM aibridge_tool_usages
    UNION ALL
    SELECT 'model_thoughts', created_at, interception_id FROM aibridge_model_thoughts
)
SELECT (child.created_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS row_count,
       0::bigint AS ended,
       NULL::timestamptz AS last_end
FROM child
LEFT JOIN aibridge_interceptions ON aibridge_interceptions.id = child.interception_id
WHERE child.table_name = @table_name::text
    AND (@since::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR child.created_at >= @since::timestamptz)
    AND (@until::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR child.created_at < @until::timestamptz)
    AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
         OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
    AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
    AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
    AND (@client::text = '' OR COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text)
    -- @authorize_filter
GROUP BY 1
ORDER BY 1;

-- name: ExportTokenUsageRows :many
SELECT aibridge_token_usages.*,
       (aibridge_token_usages.created_at AT TIME ZONE 'UTC')::date AS export_day
FROM aibridge_token_usages
LEFT JOIN aibridge_interceptions ON aibridge_interceptions.id = aibridge_token_usages.interception_id
WHERE (aibridge_token_usages.created_at AT TIME ZONE 'UTC')::date = ANY(@days::date[])
    AND (@since::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_token_usages.created_at >= @since::timestamptz)
    AND (@until::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_token_usages.created_at < @until::timestamptz)
    AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
         OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
    AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
    AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
    AND (@client::text = '' OR COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text)
    -- @authorize_filter
ORDER BY aibridge_token_usages.created_at, aibridge_token_usages.id;

-- name: ExportUserPromptRows :many
SELECT aibridge_user_prompts.*,
       (aibridge_user_prompts.created_at AT TIME ZONE 'UTC')::date AS export_day
FROM aibridge_user_prompts
LEFT JOIN aibridge_interceptions ON aibridge_interceptions.id = aibridge_user_prompts.interception_id
WHERE (aibridge_user_prompts.created_at AT TIME ZONE 'UTC')::date = ANY(@days::date[])
    AND (@since::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_user_prompts.created_at >= @since::timestamptz)
    AND (@until::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_user_prompts.created_at < @until::timestamptz)
    AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
         OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
    AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
    AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
    AND (@client::text = '' OR COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text)
    -- @authorize_filter
ORDER BY aibridge_user_prompts.created_at, aibridge_user_prompts.id;

-- name: ExportToolUsageRows :many
SELECT aibridge_tool_usages.*,
       (aibridge_tool_usages.created_at AT TIME ZONE 'UTC')::date AS export_day
FROM aibridge_tool_usages
LEFT JOIN aibridge_interceptions ON aibridge_interceptions.id = aibridge_tool_usages.interception_id
WHERE (aibridge_tool_usages.created_at AT TIME ZONE 'UTC')::date = ANY(@days::date[])
    AND (@since::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_tool_usages.created_at >= @since::timestamptz)
    AND (@until::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_tool_usages.created_at < @until::timestamptz)
    AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
         OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
    AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
    AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
    AND (@client::text = '' OR COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text)
    -- @authorize_filter
ORDER BY aibridge_tool_usages.created_at, aibridge_tool_usages.id;

-- name: ExportModelThoughtRows :many
SELECT aibridge_model_thoughts.*,
       (aibridge_model_thoughts.created_at AT TIME ZONE 'UTC')::date AS export_day
FROM aibridge_model_thoughts
LEFT JOIN aibridge_interceptions ON aibridge_interceptions.id = aibridge_model_thoughts.interception_id
WHERE (aibridge_model_thoughts.created_at AT TIME ZONE 'UTC')::date = ANY(@days::date[])
    AND (@since::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_model_thoughts.created_at >= @since::timestamptz)
    AND (@until::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_model_thoughts.created_at < @until::timestamptz)
    AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
         OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
    AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
    AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
    AND (@client::text = '' OR COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text)
    -- @authorize_filter
ORDER BY aibridge_model_thoughts.created_at, aibridge_model_thoughts.interception_id;

-- name: ExportUsers :many
-- Users have no time of their own: one file, rewritten by every run. With no filter (and no
-- restricted --as) all of visible_users; otherwise the users who initiated a matching interception.
SELECT visible_users.*
FROM visible_users
WHERE @all_users::boolean
   OR EXISTS (
    SELECT 1
    FROM aibridge_interceptions
    WHERE aibridge_interceptions.initiator_id = visible_users.id
    AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
             OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
        AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
        AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
        AND (@client::text = '' OR COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text)
        -- @authorize_filter
   )
ORDER BY visible_users.id;

-- `aibridge export otlp`: ended interceptions as spans, oldest end first, after a watermark
-- (ended_at, id) that the state file keeps, so the next run sends only what ended since.
-- Columns that only a newer deployment has (provider_name, error_type, error_message) are read
-- through to_jsonb, so the query runs on both layouts. Cache tokens as sessions.sql counts them.

-- name: ExportOtlpInterceptions :many
SELECT
    aibridge_interceptions.id,
    aibridge_interceptions.initiator_id,
    visible_users.username,
    aibridge_interceptions.provider,
    COALESCE(to_jsonb(aibridge_interceptions) ->> 'provider_name', '') AS provider_name,
    aibridge_interceptions.model,
    aibridge_interceptions.client,
    aibridge_interceptions.session_id,
    aibridge_interceptions.client_session_id,
    aibridge_interceptions.thread_parent_id,
    aibridge_interceptions.thread_root_id,
    parent.session_id AS parent_session_id,
    aibridge_interceptions.started_at,
    aibridge_interceptions.ended_at,
    to_jsonb(aibridge_interceptions) ->> 'error_type' AS error_type,
    to_jsonb(aibridge_interceptions) ->> 'error_message' AS error_message,
    COALESCE(tokens.usages, 0)::bigint AS token_usages,
    COALESCE(tokens.input_tokens, 0)::bigint AS input_tokens,
    COALESCE(tokens.output_tokens, 0)::bigint AS output_tokens,
    COALESCE(tokens.cache_read_tokens, 0)::bigint AS cache_read_tokens,
    COALESCE(tokens.cache_write_tokens, 0)::bigint AS cache_write_tokens
FROM aibridge_interceptions
LEFT JOIN visible_users ON visible_users.id = aibridge_interceptions.initiator_id
LEFT JOIN aibridge_interceptions AS parent ON parent.id = aibridge_interceptions.thread_parent_id
LEFT JOIN LATERAL (
    SELECT
        count(*) AS usages,
        sum(tu.input_tokens) AS input_tokens,
        sum(tu.output_tokens) AS output_tokens,
        sum(COALESCE(
            CASE WHEN jsonb_typeof(to_jsonb(tu) -> 'cache_read_input_tokens') = 'number'
                      AND (to_jsonb(tu) ->> 'cache_read_input_tokens')::numeric > 0
                 THEN (to_jsonb(tu) ->> 'cache_read_input_tokens')::numeric END,
            CASE WHEN jsonb_typeof(tu.metadata -> 'cache_read_input') = 'number'
                 THEN (tu.metadata ->> 'cache_read_input')::numeric END,
            CASE WHEN jsonb_typeof(tu.metadata -> 'prompt_cached') = 'number'
                 THEN (tu.metadata ->> 'prompt_cached')::numeric END,
            CASE WHEN jsonb_typeof(tu.metadata -> 'input_cached') = 'number'
                 THEN (tu.metadata ->> 'input_cached')::numeric END,
            0)) AS cache_read_tokens,
        sum(COALESCE(
            CASE WHEN jsonb_typeof(to_jsonb(tu) -> 'cache_write_input_tokens') = 'number'
                      AND (to_jsonb(tu) ->> 'cache_write_input_tokens')::numeric > 0
                 THEN (to_jsonb(tu) ->> 'cache_write_input_tokens')::numeric END,
            CASE WHEN jsonb_typeof(tu.metadata -> 'cache_creation_input') = 'number'
                 THEN (tu.metadata ->> 'cache_creation_input')::numeric END,
            0)) AS cache_write_tokens
    FROM aibridge_token_usages tu
    WHERE tu.interception_id = aibridge_interceptions.id
) tokens ON true
WHERE aibridge_interceptions.ended_at IS NOT NULL
    AND (aibridge_interceptions.ended_at, aibridge_interceptions.id) > (@after_ended::timestamptz, @after_id::uuid)
    AND (@since::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_interceptions.started_at >= @since::timestamptz)
    AND (@until::timestamptz = '0001-01-01 00:00:00+00'::timestamptz OR aibridge_interceptions.started_at < @until::timestamptz)
    AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
         OR aibridge_interceptions.initiator_id = @initiator_id::uuid)
    AND (@provider::text = '' OR aibridge_interceptions.provider = @provider::text)
    AND (@model::text = '' OR aibridge_interceptions.model = @model::text)
    AND (@client::text = '' OR COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text)
    -- @authorize_filter
ORDER BY aibridge_interceptions.ended_at, aibridge_interceptions.id;

-- name: ExportOtlpToolUsages :many
-- The tool calls of a batch of interceptions (already filtered by the query above).
SELECT id, interception_id, tool, server_url, input, injected, invocation_error, provider_tool_call_id, created_at
FROM aibridge_tool_usages
WHERE interception_id = ANY(@interception_ids::uuid[])
ORDER BY created_at, id;

-- name: ExportOtlpUserPrompts :many
SELECT id, interception_id, prompt, created_at
FROM aibridge_user_prompts
WHERE interception_id = ANY(@interception_ids::uuid[])
ORDER BY created_at, id;
