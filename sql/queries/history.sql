-- History: hourly rollups kept by `aibridge history refresh` (see sql/schema/0007_history.sql
-- for the tables and the duration histogram, docs/history.md for the cron lines).
--
-- An hour [h, h + 1 hour) is always replaced whole: its rows are deleted and rebuilt from the
-- raw rows in the same transaction as the watermark moves, so a refresh killed at any moment
-- leaves each hour either as it was or rebuilt, never half or twice.
--
-- Columns of the 2026-08 layout are read by unqualified names inside subqueries over one
-- table, with the NULL column of `absent_columns` standing in where the table lacks them (as in
-- telemetry.sql). Cached tokens follow each reader's rule exactly (telemetry.sql for the
-- interception hours, spend.sql for the usage hours), so history agrees with the raw path.

-- name: HistoryTablesPresent :one
-- Whether `db migrate` created the history tables; the readers fall back to raw rows without them.
SELECT to_regclass('aibridge_history_state') IS NOT NULL
       AND to_regclass('aibridge_history_interception_hours') IS NOT NULL
       AND to_regclass('aibridge_history_usage_hours') IS NOT NULL AS present;

-- name: GetHistoryState :one
SELECT first_hour, watermark, frozen_before, prices, refreshed_at
FROM aibridge_history_state;

-- name: TryHistoryLock :one
-- Session-level, like prune's: one refresh (or prune that refreshes) at a time; a killed process
-- frees it with its connection.
SELECT pg_try_advisory_lock(hashtextextended('aibridge_history', 0)) AS acquired;

-- name: ReleaseHistoryLock :one
SELECT pg_advisory_unlock(hashtextextended('aibridge_history', 0)) AS released;

-- name: HistoryRawStart :one
-- The first UTC hour with an ended interception or a token usage: where a first refresh starts.
SELECT date_trunc('hour', least(
           (SELECT min(ended_at) FROM aibridge_interceptions),
           (SELECT min(created_at) FROM aibridge_token_usages)), 'UTC') AS first_hour,
       date_trunc('hour', now(), 'UTC') AS open_hour;

-- name: DeleteHistoryHours :exec
-- The rows of the hours [@from_hour, @to_hour) of both tables, about to be rebuilt.
WITH a AS (
    DELETE FROM aibridge_history_interception_hours
    WHERE hour >= @from_hour::timestamptz AND hour < @to_hour::timestamptz
)
DELETE FROM aibridge_history_usage_hours
WHERE hour >= @from_hour::timestamptz AND hour < @to_hour::timestamptz;

-- name: RollupInterceptionHours :one
-- Interceptions that ended in [@from_hour, @to_hour), per UTC hour of ended_at and key, with
-- their token, prompt and tool rows (read as one stream, as SummarizeAIBridgeInterceptionsTelemetry
-- does) and the histogram of their durations in microseconds.
WITH win AS MATERIALIZED (
    SELECT w.*
    FROM (SELECT NULL::text AS provider_name, NULL::text AS error_type) AS absent_columns
    CROSS JOIN LATERAL (
        SELECT
            aibridge_interceptions.id,
            date_trunc('hour', aibridge_interceptions.ended_at, 'UTC') AS hour,
            aibridge_interceptions.initiator_id,
            aibridge_interceptions.provider,
            aibridge_interceptions.model,
            COALESCE(aibridge_interceptions.client, 'Unknown')::text AS client,
            COALESCE(provider_name::text, '') AS provider_name,
            error_type IS NOT NULL AS failed,
            CASE WHEN aibridge_interceptions.ended_at - aibridge_interceptions.started_at >= interval '1 microsecond'
                 THEN floor(ln(EXTRACT(EPOCH FROM aibridge_interceptions.ended_at - aibridge_interceptions.started_at)::float8
                               * 1000000) / ln(1.02))::integer
                 ELSE -1
            END AS bucket
        FROM aibridge_interceptions
        WHERE aibridge_interceptions.ended_at >= @from_hour::timestamptz
            AND aibridge_interceptions.ended_at < @to_hour::timestamptz
    ) AS w
),
keyed AS (
    SELECT hour, initiator_id, provider, model, client, provider_name,
        count(*) AS n, count(*) FILTER (WHERE failed) AS failed
    FROM win
    GROUP BY hour, initiator_id, provider, model, client, provider_name
),
hist AS (
    SELECT hour, initiator_id, provider, model, client, provider_name,
        array_agg(bucket ORDER BY bucket) AS buckets, array_agg(c ORDER BY bucket) AS counts
    FROM (
        SELECT hour, initiator_id, provider, model, client, provider_name, bucket, count(*) AS c
        FROM win
        GROUP BY hour, initiator_id, provider, model, client, provider_name, bucket
    ) AS b
    GROUP BY hour, initiator_id, provider, model, client, provider_name
),
children AS (
    SELECT win.hour, win.initiator_id, win.provider, win.model, win.client, win.provider_name,
        count(c.input_tokens) AS token_rows,
        sum(c.input_tokens) AS input_,
        sum(c.output_tokens) AS output_,
        -- Cached tokens as telemetry.sql counts them: the column when above zero, else the
        -- metadata keys.
        sum(CASE WHEN c.cache_read_column > 0 THEN c.cache_read_column
                 ELSE COALESCE((c.metadata ->> 'cache_read_input')::bigint, 0)
                    + COALESCE((c.metadata ->> 'prompt_cached')::bigint, 0)
            END) FILTER (WHERE c.metadata IS NOT NULL OR c.cache_read_column > 0) AS cached_read,
        sum(CASE WHEN c.cache_write_column > 0 THEN c.cache_write_column
                 ELSE COALESCE((c.metadata ->> 'cache_creation_input')::bigint, 0)
            END) FILTER (WHERE c.metadata IS NOT NULL OR c.cache_write_column > 0) AS cached_written,
        count(c.prompt) AS prompt_rows,
        count(NULLIF(c.injected, false)) AS injected,
        count(NULLIF(c.injected, true)) AS non_injected,
        count(c.injected_failed) AS injected_errors
    FROM (
        SELECT t.*
        FROM (SELECT NULL::bigint AS cache_read_input_tokens, NULL::bigint AS cache_write_input_tokens) AS absent_columns
        CROSS JOIN LATERAL (
            SELECT tu.interception_id, tu.input_tokens, tu.output_tokens, tu.metadata,
                cache_read_input_tokens::bigint AS cache_read_column,
                cache_write_input_tokens::bigint AS cache_write_column,
                NULL::integer AS prompt, NULL::boolean AS injected, NULL::integer AS injected_failed
            FROM aibridge_token_usages tu
        ) AS t
        UNION ALL
        SELECT up.interception_id, NULL, NULL, NULL, NULL, NULL, 1, NULL, NULL
        FROM aibridge_user_prompts up
        UNION ALL
        SELECT tl.interception_id, NULL, NULL, NULL, NULL, NULL, NULL, tl.injected,
            CASE WHEN tl.injected AND tl.invocation_error IS NOT NULL THEN 1 END
        FROM aibridge_tool_usages tl
    ) AS c
    JOIN win ON win.id = c.interception_id
    GROUP BY win.hour, win.initiator_id, win.provider, win.model, win.client, win.provider_name
),
inserted AS (
    INSERT INTO aibridge_history_interception_hours (
        hour, initiator_id, provider, model, client, provider_name, interceptions, failed, prompts, token_usages,
        input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, tool_calls_injected,
        tool_calls_non_injected, injected_tool_errors, duration_buckets, duration_counts)
    SELECT keyed.hour, keyed.initiator_id, keyed.provider, keyed.model, keyed.client, keyed.provider_name,
        keyed.n, keyed.failed,
        COALESCE(children.prompt_rows, 0), COALESCE(children.token_rows, 0),
        COALESCE(children.input_, 0), COALESCE(children.output_, 0),
        COALESCE(children.cached_read, 0), COALESCE(children.cached_written, 0),
        COALESCE(children.injected, 0), COALESCE(children.non_injected, 0), COALESCE(children.injected_errors, 0),
        hist.buckets, hist.counts
    FROM keyed
    JOIN hist USING (hour, initiator_id, provider, model, client, provider_name)
    LEFT JOIN children USING (hour, initiator_id, provider, model, client, provider_name)
    RETURNING 1
)
SELECT count(*)::bigint AS rows_ FROM inserted;

-- name: ListHistoryPriceKeys :many
-- The (provider key, model) pairs of the token usages in [@from_hour, @to_hour), for Python to
-- price (as ListSpendPriceKeys, for these hours only).
SELECT DISTINCT COALESCE(pt.type, i.provider) AS provider, i.model
FROM aibridge_token_usages tu
JOIN LATERAL (
    SELECT i.*
    FROM (SELECT NULL::text AS provider_name) AS absent_columns
    CROSS JOIN LATERAL (
        SELECT aibridge_interceptions.provider, aibridge_interceptions.model, provider_name AS pname
        FROM aibridge_interceptions
        WHERE aibridge_interceptions.id = tu.interception_id
    ) AS i
) AS i ON true
LEFT JOIN jsonb_to_recordset(@provider_types::jsonb) AS pt(name text, type text) ON pt.name = i.pname
WHERE tu.created_at >= @from_hour::timestamptz AND tu.created_at < @to_hour::timestamptz
ORDER BY 1, 2;

-- name: RollupUsageHours :one
-- Token usages created in [@from_hour, @to_hour), per UTC hour of created_at and key, priced
-- as SpendSummary prices them (the same rates, stored costs first when @use_stored), the cost
-- kept exact in micro-dollars.
WITH priced AS (
    SELECT
        date_trunc('hour', t.created_at, 'UTC') AS hour,
        i.initiator_id, i.provider, i.model, i.client, COALESCE(i.pname, '') AS provider_name, t.group_id,
        t.input_tokens, t.output_tokens, t.cache_read, t.cache_write,
        CASE WHEN @use_stored::bool AND t.stored_micros IS NOT NULL THEN 1
             WHEN r.source = 'file' THEN 2 WHEN r.source = 'deployment' THEN 4 WHEN r.source = 'genai-prices' THEN 8
             ELSE 0
        END AS source_bit,
        CASE WHEN @use_stored::bool AND t.stored_micros IS NOT NULL THEN t.stored_micros * 1000000
             ELSE t.input_tokens * r.input + t.output_tokens * r.output + t.cache_read * r.cache_read
                  + t.cache_write * r.cache_write + r.request
        END AS cost_pico
    FROM (SELECT NULL::bigint AS cache_read_input_tokens, NULL::bigint AS cache_write_input_tokens,
                 NULL::bigint AS cost_micros, NULL::uuid AS effective_group_id, NULL::text AS provider_name) AS absent_columns
    CROSS JOIN LATERAL (
        SELECT
            tu.interception_id, tu.created_at, tu.input_tokens, tu.output_tokens,
            CASE WHEN cache_read_input_tokens > 0 THEN cache_read_input_tokens
                 ELSE COALESCE(GREATEST(m.cache_read_input, m.input_cached, m.prompt_cached), 0)
            END AS cache_read,
            CASE WHEN cache_write_input_tokens > 0 THEN cache_write_input_tokens
                 ELSE COALESCE(m.cache_creation_input, 0)
            END AS cache_write,
            cost_micros AS stored_micros,
            effective_group_id AS group_id
        FROM aibridge_token_usages tu
        CROSS JOIN LATERAL jsonb_to_record(COALESCE(tu.metadata, '{}'::jsonb)) AS m(
            cache_read_input bigint, input_cached bigint, prompt_cached bigint, cache_creation_input bigint)
        WHERE tu.created_at >= @from_hour::timestamptz AND tu.created_at < @to_hour::timestamptz
    ) t
    JOIN LATERAL (
        SELECT aibridge_interceptions.initiator_id, aibridge_interceptions.provider, aibridge_interceptions.model,
               COALESCE(aibridge_interceptions.client, 'Unknown')::text AS client, provider_name AS pname
        FROM aibridge_interceptions
        WHERE aibridge_interceptions.id = t.interception_id
    ) i ON true
    LEFT JOIN jsonb_to_recordset(@provider_types::jsonb) AS pt(name text, type text) ON pt.name = i.pname
    LEFT JOIN jsonb_to_recordset(@rates::jsonb) AS r(
            provider text, model text, valid_from timestamptz, valid_to timestamptz, lo bigint, hi bigint,
            input bigint, output bigint, cache_read bigint, cache_write bigint, request bigint, source text)
        ON r.provider = COALESCE(pt.type, i.provider) AND r.model = i.model
        AND t.created_at >= r.valid_from AND t.created_at < r.valid_to
        AND t.input_tokens + t.cache_read + t.cache_write > r.lo
        AND t.input_tokens + t.cache_read + t.cache_write <= r.hi
),
inserted AS (
    INSERT INTO aibridge_history_usage_hours (
        hour, initiator_id, provider, model, client, provider_name, effective_group_id, token_usages,
        input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_micros, sources, unpriced_tokens)
    SELECT hour, initiator_id, provider, model, client, provider_name, group_id, count(*),
        sum(input_tokens), sum(output_tokens), sum(cache_read), sum(cache_write),
        COALESCE(sum(cost_pico) FILTER (WHERE source_bit > 0), 0) / 1000000.0,
        bit_or(source_bit),
        COALESCE(sum(input_tokens + output_tokens + cache_read + cache_write) FILTER (WHERE source_bit = 0), 0)
    FROM priced
    GROUP BY hour, initiator_id, provider, model, client, provider_name, group_id
    RETURNING 1
)
SELECT count(*)::bigint AS rows_ FROM inserted;

-- name: SetHistoryWatermark :exec
-- Hours before @watermark are rolled up, from the first one ever rolled up.
UPDATE aibridge_history_state
SET watermark = GREATEST(COALESCE(watermark, @watermark::timestamptz), @watermark::timestamptz),
    first_hour = LEAST(COALESCE(first_hour, @first_hour::timestamptz), @first_hour::timestamptz),
    prices = @prices::text,
    refreshed_at = now();

-- name: HistoryPrunedThrough :one
-- The hour after the last one that holds an ended interception, or a token usage, of those a
-- prune before @before_time deletes: hours before it lose raw rows, so history must never
-- recompute them.
SELECT date_trunc('hour', GREATEST(
           (SELECT max(ended_at) FROM aibridge_interceptions WHERE started_at < @before_time::timestamptz),
           (SELECT max(tu.created_at) FROM aibridge_token_usages tu
            JOIN aibridge_interceptions ON aibridge_interceptions.id = tu.interception_id
            WHERE aibridge_interceptions.started_at < @before_time::timestamptz)), 'UTC') + interval '1 hour' AS through;

-- name: FreezeHistoryBefore :exec
-- History keeps the hours before @frozen_before as they are now (their raw rows are going).
UPDATE aibridge_history_state
SET frozen_before = GREATEST(frozen_before, @frozen_before::timestamptz);

-- name: HistoryStatus :one
SELECT s.first_hour, s.watermark, s.frozen_before, s.prices, s.refreshed_at,
       (SELECT count(*) FROM aibridge_history_interception_hours)::bigint AS interception_hour_rows,
       (SELECT count(*) FROM aibridge_history_usage_hours)::bigint AS usage_hour_rows,
       (SELECT count(DISTINCT hour) FROM aibridge_history_interception_hours)::bigint AS interception_hours,
       (SELECT count(DISTINCT hour) FROM aibridge_history_usage_hours)::bigint AS usage_hours,
       (pg_total_relation_size('aibridge_history_interception_hours')
        + pg_total_relation_size('aibridge_history_usage_hours'))::bigint AS size_bytes
FROM aibridge_history_state s;
