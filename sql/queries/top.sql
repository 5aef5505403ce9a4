-- `aibridge top`: a live view of the last hour. It refreshes every few seconds on a busy
-- deployment, so every query here reads only interceptions started in (@now - 1 hour, @now]
-- (a range on the started_at index) and their child rows through the interception_id indexes:
-- the cost follows the last hour's traffic, never the table's size. Interceptions still
-- running after an hour drop out of view; `interceptions list` finds them.

-- name: TopInFlight :many
-- Interceptions without an end, longest running first.
SELECT
    aibridge_interceptions.id,
    COALESCE(visible_users.username, aibridge_interceptions.initiator_id::text) AS user_username,
    aibridge_interceptions.provider,
    aibridge_interceptions.model,
    COALESCE(aibridge_interceptions.client, 'Unknown') AS client,
    aibridge_interceptions.started_at,
    EXTRACT(EPOCH FROM @now::timestamptz - aibridge_interceptions.started_at)::float8 AS running_seconds
FROM aibridge_interceptions
LEFT JOIN visible_users ON visible_users.id = aibridge_interceptions.initiator_id
WHERE aibridge_interceptions.started_at > @now::timestamptz - interval '1 hour'
    AND aibridge_interceptions.started_at <= @now::timestamptz
    AND aibridge_interceptions.ended_at IS NULL
    -- @authorize_filter
ORDER BY aibridge_interceptions.started_at, aibridge_interceptions.id
LIMIT 50;

-- name: TopPerMinute :many
-- Requests started and tokens used in each of the last 60 minutes (oldest first, empty
-- minutes included, so the series always has 60 points).
WITH recent AS MATERIALIZED (
    SELECT aibridge_interceptions.id, aibridge_interceptions.started_at
    FROM aibridge_interceptions
    WHERE aibridge_interceptions.started_at > @now::timestamptz - interval '1 hour'
        AND aibridge_interceptions.started_at <= @now::timestamptz
        -- @authorize_filter
),
minutes AS (
    SELECT generate_series(0, 59) AS ago
),
requests AS (
    SELECT floor(EXTRACT(EPOCH FROM @now::timestamptz - started_at) / 60)::int AS ago, count(*) AS n
    FROM recent
    GROUP BY 1
),
tokens AS (
    SELECT floor(EXTRACT(EPOCH FROM @now::timestamptz - t.created_at) / 60)::int AS ago,
           sum(t.input_tokens) AS input_tokens, sum(t.output_tokens) AS output_tokens
    FROM recent
    JOIN aibridge_token_usages AS t ON t.interception_id = recent.id
    WHERE t.created_at > @now::timestamptz - interval '1 hour' AND t.created_at <= @now::timestamptz
    GROUP BY 1
)
SELECT
    date_trunc('minute', @now::timestamptz - make_interval(mins => minutes.ago)) AS minute,
    COALESCE(requests.n, 0)::bigint AS requests,
    COALESCE(tokens.input_tokens, 0)::bigint AS input_tokens,
    COALESCE(tokens.output_tokens, 0)::bigint AS output_tokens
FROM minutes
LEFT JOIN requests ON requests.ago = minutes.ago
LEFT JOIN tokens ON tokens.ago = minutes.ago
ORDER BY minutes.ago DESC;

-- name: TopUsers :many
-- The last hour's busiest users: requests started, tokens used, tool errors.
WITH recent AS MATERIALIZED (
    SELECT aibridge_interceptions.id, aibridge_interceptions.initiator_id
    FROM aibridge_interceptions
    WHERE aibridge_interceptions.started_at > @now::timestamptz - interval '1 hour'
        AND aibridge_interceptions.started_at <= @now::timestamptz
        -- @authorize_filter
)
SELECT
    COALESCE(visible_users.username, recent.initiator_id::text) AS user_username,
    count(*) AS requests,
    COALESCE(sum(tok.input_tokens), 0)::bigint AS input_tokens,
    COALESCE(sum(tok.output_tokens), 0)::bigint AS output_tokens
FROM recent
LEFT JOIN visible_users ON visible_users.id = recent.initiator_id
LEFT JOIN LATERAL (
    SELECT sum(t.input_tokens) AS input_tokens, sum(t.output_tokens) AS output_tokens
    FROM aibridge_token_usages AS t
    WHERE t.interception_id = recent.id
) AS tok ON true
GROUP BY 1
ORDER BY requests DESC, 1
LIMIT @limit_::integer;

-- name: TopModels :many
-- The last hour's most used models.
WITH recent AS MATERIALIZED (
    SELECT aibridge_interceptions.id, aibridge_interceptions.provider, aibridge_interceptions.model
    FROM aibridge_interceptions
    WHERE aibridge_interceptions.started_at > @now::timestamptz - interval '1 hour'
        AND aibridge_interceptions.started_at <= @now::timestamptz
        -- @authorize_filter
)
SELECT
    recent.provider,
    recent.model,
    count(*) AS requests,
    COALESCE(sum(tok.input_tokens), 0)::bigint AS input_tokens,
    COALESCE(sum(tok.output_tokens), 0)::bigint AS output_tokens
FROM recent
LEFT JOIN LATERAL (
    SELECT sum(t.input_tokens) AS input_tokens, sum(t.output_tokens) AS output_tokens
    FROM aibridge_token_usages AS t
    WHERE t.interception_id = recent.id
) AS tok ON true
GROUP BY 1, 2
ORDER BY requests DESC, 1, 2
LIMIT @limit_::integer;

-- name: TopErrors :many
-- The last hour's tool calls that failed, newest first (tool and error only: no prompt text).
SELECT
    tool.created_at,
    COALESCE(visible_users.username, aibridge_interceptions.initiator_id::text) AS user_username,
    aibridge_interceptions.model,
    tool.tool,
    tool.injected,
    tool.invocation_error
FROM aibridge_interceptions
JOIN aibridge_tool_usages AS tool ON tool.interception_id = aibridge_interceptions.id
LEFT JOIN visible_users ON visible_users.id = aibridge_interceptions.initiator_id
WHERE aibridge_interceptions.started_at > @now::timestamptz - interval '1 hour'
    AND aibridge_interceptions.started_at <= @now::timestamptz
    AND tool.invocation_error IS NOT NULL
    -- @authorize_filter
ORDER BY tool.created_at DESC, tool.id
LIMIT @limit_::integer;
