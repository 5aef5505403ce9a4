-- Interceptions: list, count and show, with their token usages, prompts, tool usages,
-- thoughts and thread.
--
-- Filters are `(@x = zero OR column = @x)`: psycopg sends the values with the statement, and
-- PostgreSQL plans each execution with them, so an unused filter folds away and a used one
-- can pick its index (initiator: the partial (initiator_id, started_at, id) index; no filter:
-- the (started_at DESC, id DESC) index, read in order and stopped after the page).
-- The filters shared by list and count sit between `-- filter:interception-filters` marker
-- lines; tests/test_sql_filters.py keeps the copies identical.

-- name: GetAIBridgeInterceptionByID :one
SELECT *
FROM aibridge_interceptions
WHERE id = @id::uuid
-- @authorize_filter
;

-- name: GetAIBridgeInterceptionsByIDs :many
-- The interceptions among the given ids (a thread's parent and root), in no set order.
SELECT *
FROM aibridge_interceptions
WHERE id = ANY(@ids::uuid[])
-- @authorize_filter
;

-- name: GetAIBridgeInterceptionInitiator :one
-- The initiator of one interception; no row when the user is not in users.
SELECT id, username, name, avatar_url
FROM visible_users
WHERE id = @id::uuid;

-- name: GetAIBridgeTokenUsagesByInterceptionID :many
-- Every column of the rows, and each row's cache read and write by the one rule (telemetry.sql's
-- top); absent_columns stands in for the cache columns on the seed's layout.
SELECT tu.*
FROM (SELECT NULL::bigint AS cache_read_input_tokens, NULL::bigint AS cache_write_input_tokens) AS absent_columns
CROSS JOIN LATERAL (
    SELECT t.*,
           CASE WHEN cache_read_input_tokens > 0 THEN cache_read_input_tokens
                ELSE GREATEST(CASE WHEN jsonb_typeof(t.metadata -> 'cache_read_input') = 'number' THEN (t.metadata ->> 'cache_read_input')::numeric END,
                              CASE WHEN jsonb_typeof(t.metadata -> 'input_cached') = 'number' THEN (t.metadata ->> 'input_cached')::numeric END,
                              CASE WHEN jsonb_typeof(t.metadata -> 'prompt_cached') = 'number' THEN (t.metadata ->> 'prompt_cached')::numeric END, 0)
           END::bigint AS cache_read_tokens,
           CASE WHEN cache_write_input_tokens > 0 THEN cache_write_input_tokens
                ELSE GREATEST(CASE WHEN jsonb_typeof(t.metadata -> 'cache_creation_input') = 'number' THEN (t.metadata ->> 'cache_creation_input')::numeric END, 0)
           END::bigint AS cache_write_tokens
    FROM aibridge_token_usages t
    WHERE t.interception_id = @interception_id::uuid
) tu
ORDER BY tu.created_at ASC, tu.id ASC;

-- name: GetAIBridgeUserPromptsByInterceptionID :many
SELECT *
FROM aibridge_user_prompts
WHERE interception_id = @interception_id::uuid
ORDER BY created_at ASC, id ASC;

-- name: GetAIBridgeToolUsagesByInterceptionID :many
SELECT *
FROM aibridge_tool_usages
WHERE interception_id = @interception_id::uuid
ORDER BY created_at ASC, id ASC;

-- name: GetAIBridgeModelThoughtsByInterceptionID :many
-- Thoughts have no id: ties on created_at fall back to the content, so the order is stable.
SELECT *
FROM aibridge_model_thoughts
WHERE interception_id = @interception_id::uuid
ORDER BY created_at ASC, content ASC;

-- name: ListAIBridgeInterceptionChildren :many
-- The interceptions a given one directly caused (its thread children), oldest first.
SELECT *
FROM aibridge_interceptions
WHERE thread_parent_id = @id::uuid
-- @authorize_filter
ORDER BY started_at ASC, id ASC
LIMIT COALESCE(NULLIF(@limit_::integer, 0), 100);

-- name: CountAIBridgeInterceptionChildren :one
SELECT count(*) AS count
FROM aibridge_interceptions
WHERE thread_parent_id = @id::uuid
-- @authorize_filter
;

-- name: CountAIBridgeInterceptions :one
SELECT count(*) AS count
FROM aibridge_interceptions
WHERE
    -- In-flight interceptions (no ended_at yet) are never counted.
    -- filter:interception-filters begin
    aibridge_interceptions.ended_at IS NOT NULL
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
    AND (@client::text = '' OR COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text)
    -- filter:interception-filters end
    -- @authorize_filter
;

-- name: ListAIBridgeInterceptions :many
-- Newest first by (started_at, id); after_id is the last id of the previous page, and the
-- page holds what sorts strictly after it. The command checks that after_id exists first:
-- here an unknown one would match nothing.
SELECT
    sqlc.embed(aibridge_interceptions),
    sqlc.embed(visible_users)
FROM aibridge_interceptions
JOIN visible_users ON visible_users.id = aibridge_interceptions.initiator_id
WHERE
    -- filter:interception-filters begin
    aibridge_interceptions.ended_at IS NOT NULL
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
    AND (@client::text = '' OR COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text)
    -- filter:interception-filters end
    AND (@after_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
         OR (aibridge_interceptions.started_at, aibridge_interceptions.id) < (
                (SELECT cursor_row.started_at FROM aibridge_interceptions AS cursor_row
                 WHERE cursor_row.id = @after_id::uuid),
                @after_id::uuid))
    -- @authorize_filter
ORDER BY aibridge_interceptions.started_at DESC, aibridge_interceptions.id DESC
LIMIT COALESCE(NULLIF(@limit_::integer, 0), 100)
OFFSET @offset_::integer;

-- name: ListAIBridgeTokenUsagesByInterceptionIDs :many
-- As GetAIBridgeTokenUsagesByInterceptionID, for many interceptions.
SELECT tu.*
FROM (SELECT NULL::bigint AS cache_read_input_tokens, NULL::bigint AS cache_write_input_tokens) AS absent_columns
CROSS JOIN LATERAL (
    SELECT t.*,
           CASE WHEN cache_read_input_tokens > 0 THEN cache_read_input_tokens
                ELSE GREATEST(CASE WHEN jsonb_typeof(t.metadata -> 'cache_read_input') = 'number' THEN (t.metadata ->> 'cache_read_input')::numeric END,
                              CASE WHEN jsonb_typeof(t.metadata -> 'input_cached') = 'number' THEN (t.metadata ->> 'input_cached')::numeric END,
                              CASE WHEN jsonb_typeof(t.metadata -> 'prompt_cached') = 'number' THEN (t.metadata ->> 'prompt_cached')::numeric END, 0)
           END::bigint AS cache_read_tokens,
           CASE WHEN cache_write_input_tokens > 0 THEN cache_write_input_tokens
                ELSE GREATEST(CASE WHEN jsonb_typeof(t.metadata -> 'cache_creation_input') = 'number' THEN (t.metadata ->> 'cache_creation_input')::numeric END, 0)
           END::bigint AS cache_write_tokens
    FROM aibridge_token_usages t
    WHERE t.interception_id = ANY(@interception_ids::uuid[])
) tu
ORDER BY tu.created_at ASC, tu.id ASC;

-- name: ListAIBridgeUserPromptsByInterceptionIDs :many
SELECT *
FROM aibridge_user_prompts
WHERE interception_id = ANY(@interception_ids::uuid[])
ORDER BY created_at ASC, id ASC;

-- name: ListAIBridgeToolUsagesByInterceptionIDs :many
SELECT *
FROM aibridge_tool_usages
WHERE interception_id = ANY(@interception_ids::uuid[])
ORDER BY created_at ASC, id ASC;
