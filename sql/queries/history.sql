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
-- Whether `db migrate` created the history tables and this role may read them; the readers fall
-- back to raw rows otherwise (a role of `db grant` reads the raw tables under row-level
-- security, and history has no such policy: it is not granted).
SELECT COALESCE(bool_and(to_regclass(t) IS NOT NULL AND has_table_privilege(to_regclass(t), 'SELECT')), false) AS present
FROM unnest(ARRAY['aibridge_history_state', 'aibridge_history_interception_hours',
                  'aibridge_history_usage_hours']) AS t;

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
-- Times before 1970 (bad clocks, BC dates) are not history: it starts no earlier.
SELECT date_trunc('hour', GREATEST(least(
           (SELECT min(ended_at) FROM aibridge_interceptions),
           (SELECT min(created_at) FROM aibridge_token_usages)), '1970-01-01 00:00:00+00'::timestamptz), 'UTC') AS first_hour,
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
                 ELSE GREATEST(CASE WHEN jsonb_typeof(c.metadata -> 'cache_read_input') = 'number' THEN (c.metadata ->> 'cache_read_input')::numeric END,
                               CASE WHEN jsonb_typeof(c.metadata -> 'input_cached') = 'number' THEN (c.metadata ->> 'input_cached')::numeric END,
                               CASE WHEN jsonb_typeof(c.metadata -> 'prompt_cached') = 'number' THEN (c.metadata ->> 'prompt_cached')::numeric END, 0)
            END) FILTER (WHERE c.metadata IS NOT NULL OR c.cache_read_column > 0) AS cached_read,
        sum(CASE WHEN c.cache_write_column > 0 THEN c.cache_write_column
                 ELSE GREATEST(CASE WHEN jsonb_typeof(c.metadata -> 'cache_creation_input') = 'number' THEN (c.metadata ->> 'cache_creation_input')::numeric END, 0)
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
-- Clamped to [1970, the open hour]: far-future or infinite times cannot be rolled up anyway.
SELECT date_trunc('hour', LEAST(GREATEST('1970-01-01 00:00:00+00'::timestamptz,
           (SELECT max(ended_at) FROM aibridge_interceptions WHERE started_at < @before_time::timestamptz),
           (SELECT max(tu.created_at) FROM aibridge_token_usages tu
            JOIN aibridge_interceptions ON aibridge_interceptions.id = tu.interception_id
            WHERE aibridge_interceptions.started_at < @before_time::timestamptz)), now()), 'UTC') + interval '1 hour' AS through;

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

-- name: SummarizeTelemetryWithHistory :many
-- SummarizeAIBridgeInterceptionsTelemetry's rows, from history for the whole UTC hours of the
-- window that are rolled up and from the raw rows for the rest. An hour h is read from history
-- when it is rolled up ([@first_hour, @watermark)), wholly inside the window, and either lies in
-- one time bucket (its first and last microsecond fall in the same day/hour in @tz: not so at
-- the day edges of a zone whose offset is not a whole hour, e.g. +05:30) or has lost raw rows
-- to prune (before @frozen_before: then it counts in the bucket its start falls in). Every raw
-- row whose hour is not read from history is read raw, so each interception counts once.
-- Durations of both parts meet in the histogram's buckets (percentiles within 1 %); initiators
-- are kept per row of history, so distinct users stay exact.
WITH raw AS MATERIALIZED (
    SELECT w.*
    FROM (SELECT NULL::text AS provider_name, NULL::text AS error_type) AS absent_columns
    CROSS JOIN LATERAL (
    SELECT
        -- provider_name and error_type unqualified: absent_columns' NULL on the seed's layout.
        error_type IS NOT NULL AS failed,
        aibridge_interceptions.id,
        aibridge_interceptions.initiator_id,
        aibridge_interceptions.provider COLLATE "C" AS provider,
        aibridge_interceptions.model COLLATE "C" AS model,
        COALESCE(aibridge_interceptions.client, 'Unknown')::text COLLATE "C" AS client,
        CASE @bucket::text
            WHEN 'day' THEN date_trunc('day', aibridge_interceptions.ended_at, @tz::text)
            WHEN 'hour' THEN date_trunc('hour', aibridge_interceptions.ended_at, @tz::text)
            ELSE '-infinity'::timestamptz
        END AS bucket,
        CASE WHEN aibridge_interceptions.ended_at - aibridge_interceptions.started_at >= interval '1 microsecond'
             THEN floor(ln(EXTRACT(EPOCH FROM aibridge_interceptions.ended_at - aibridge_interceptions.started_at)::float8
                           * 1000000) / ln(1.02))::integer
             ELSE -1
        END AS dbucket
    FROM aibridge_interceptions
    CROSS JOIN LATERAL (SELECT date_trunc('hour', aibridge_interceptions.ended_at, 'UTC') AS h) AS hr
        -- filter:telemetry-filters begin
        WHERE aibridge_interceptions.ended_at >= @ended_at_after::timestamptz
            AND aibridge_interceptions.ended_at < @ended_at_before::timestamptz
            AND CASE WHEN @provider::text != '' THEN aibridge_interceptions.provider = @provider::text ELSE true END
            AND CASE WHEN @model::text != '' THEN aibridge_interceptions.model = @model::text ELSE true END
            AND CASE WHEN @provider_name::text != '' THEN provider_name = @provider_name::text ELSE true END
            AND CASE WHEN @client::text != '' THEN COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text ELSE true END
            AND CASE
                WHEN @initiator_id::uuid != '00000000-0000-0000-0000-000000000000'::uuid
                THEN aibridge_interceptions.initiator_id = @initiator_id::uuid
                ELSE true
            END
        -- filter:telemetry-filters end
        -- The raw rows lie before or after the rolled-up hours, or (only when @straddles) in an
        -- hour cut by a bucket edge: without @straddles, two ranges of the ended_at index.
        AND (aibridge_interceptions.ended_at < @raw_before::timestamptz
             OR aibridge_interceptions.ended_at >= @raw_from::timestamptz OR @straddles::bool)
        AND NOT (hr.h >= @first_hour::timestamptz AND hr.h + interval '1 hour' <= @watermark::timestamptz
                 AND hr.h >= @ended_at_after::timestamptz AND hr.h + interval '1 hour' <= @ended_at_before::timestamptz
                 AND (hr.h < @frozen_before::timestamptz OR CASE @bucket::text
                     WHEN 'day' THEN date_trunc('day', hr.h, @tz::text)
                                     = date_trunc('day', hr.h + interval '59 minutes 59.999999 seconds', @tz::text)
                     WHEN 'hour' THEN date_trunc('hour', hr.h, @tz::text)
                                     = date_trunc('hour', hr.h + interval '59 minutes 59.999999 seconds', @tz::text)
                     ELSE true END))
        -- @authorize_filter
    ) AS w
),
rolled AS MATERIALIZED (
    SELECT
        aibridge_interceptions.*,
        CASE @bucket::text
            WHEN 'day' THEN date_trunc('day', aibridge_interceptions.hour, @tz::text)
            WHEN 'hour' THEN date_trunc('hour', aibridge_interceptions.hour, @tz::text)
            ELSE '-infinity'::timestamptz
        END AS bucket
    -- Named as the raw table so that the `--as` filter (on initiator_id) applies here too.
    FROM aibridge_history_interception_hours AS aibridge_interceptions
    WHERE aibridge_interceptions.hour >= @first_hour::timestamptz
        AND aibridge_interceptions.hour + interval '1 hour' <= @watermark::timestamptz
        AND aibridge_interceptions.hour >= @ended_at_after::timestamptz
        AND aibridge_interceptions.hour + interval '1 hour' <= @ended_at_before::timestamptz
        AND (aibridge_interceptions.hour < @frozen_before::timestamptz OR CASE @bucket::text
            WHEN 'day' THEN date_trunc('day', aibridge_interceptions.hour, @tz::text)
                            = date_trunc('day', aibridge_interceptions.hour + interval '59 minutes 59.999999 seconds', @tz::text)
            WHEN 'hour' THEN date_trunc('hour', aibridge_interceptions.hour, @tz::text)
                            = date_trunc('hour', aibridge_interceptions.hour + interval '59 minutes 59.999999 seconds', @tz::text)
            ELSE true END)
        AND CASE WHEN @provider::text != '' THEN aibridge_interceptions.provider = @provider::text ELSE true END
        AND CASE WHEN @model::text != '' THEN aibridge_interceptions.model = @model::text ELSE true END
        AND CASE WHEN @provider_name::text != '' THEN aibridge_interceptions.provider_name = @provider_name::text ELSE true END
        AND CASE WHEN @client::text != '' THEN aibridge_interceptions.client = @client::text ELSE true END
        AND CASE
            WHEN @initiator_id::uuid != '00000000-0000-0000-0000-000000000000'::uuid
            THEN aibridge_interceptions.initiator_id = @initiator_id::uuid
            ELSE true
        END
        -- @authorize_filter
),
lat AS (
    SELECT provider, model, client, bucket, initiator_id, dbucket AS b, count(*)::bigint AS c
    FROM raw GROUP BY provider, model, client, bucket, initiator_id, dbucket
    UNION ALL
    SELECT rolled.provider COLLATE "C", rolled.model COLLATE "C", rolled.client COLLATE "C", rolled.bucket,
        rolled.initiator_id, u.b, u.c
    FROM rolled CROSS JOIN LATERAL unnest(rolled.duration_buckets, rolled.duration_counts) AS u(b, c)
),
per_group AS (
    SELECT provider, model, client, bucket, sum(c)::bigint AS n, count(DISTINCT initiator_id)::bigint AS initiators
    FROM lat GROUP BY provider, model, client, bucket
),
hist AS (
    SELECT provider, model, client, bucket, array_agg(b ORDER BY b) AS buckets, array_agg(c ORDER BY b) AS counts
    FROM (SELECT provider, model, client, bucket, b, sum(c)::bigint AS c FROM lat
          GROUP BY provider, model, client, bucket, b) AS merged
    GROUP BY provider, model, client, bucket
),
sums AS (
    -- The raw part is small (the window's edges, the open hour): each raw interception finds
    -- its token, prompt and tool rows through their interception_id indexes.
    SELECT raw.provider, raw.model, raw.client, raw.bucket,
        sum(tokens.rows_) AS token_rows, sum(tokens.input_) AS input_, sum(tokens.output_) AS output_,
        sum(tokens.cached_read) AS cached_read, sum(tokens.cached_written) AS cached_written,
        sum(prompts.n) AS prompt_rows, sum(tools.injected) AS injected, sum(tools.non_injected) AS non_injected,
        sum(tools.injected_errors) AS injected_errors, count(*) FILTER (WHERE raw.failed) AS failed
    FROM raw
    CROSS JOIN LATERAL (
        -- Cached tokens as telemetry.sql counts them: the column when above zero, else the metadata keys.
        SELECT count(*) AS rows_, sum(tu.input_tokens) AS input_, sum(tu.output_tokens) AS output_,
            sum(CASE WHEN tu.cache_read_column > 0 THEN tu.cache_read_column
                     ELSE GREATEST(CASE WHEN jsonb_typeof(tu.metadata -> 'cache_read_input') = 'number' THEN (tu.metadata ->> 'cache_read_input')::numeric END,
                                   CASE WHEN jsonb_typeof(tu.metadata -> 'input_cached') = 'number' THEN (tu.metadata ->> 'input_cached')::numeric END,
                                   CASE WHEN jsonb_typeof(tu.metadata -> 'prompt_cached') = 'number' THEN (tu.metadata ->> 'prompt_cached')::numeric END, 0)
                END) AS cached_read,
            sum(CASE WHEN tu.cache_write_column > 0 THEN tu.cache_write_column
                     ELSE GREATEST(CASE WHEN jsonb_typeof(tu.metadata -> 'cache_creation_input') = 'number' THEN (tu.metadata ->> 'cache_creation_input')::numeric END, 0)
                END) AS cached_written
        FROM (SELECT NULL::bigint AS cache_read_input_tokens, NULL::bigint AS cache_write_input_tokens) AS absent_columns
        CROSS JOIN LATERAL (
            SELECT aibridge_token_usages.input_tokens, aibridge_token_usages.output_tokens, aibridge_token_usages.metadata,
                cache_read_input_tokens::bigint AS cache_read_column,
                cache_write_input_tokens::bigint AS cache_write_column
            FROM aibridge_token_usages
            WHERE aibridge_token_usages.interception_id = raw.id
        ) AS tu
    ) AS tokens
    CROSS JOIN LATERAL (
        SELECT count(*) AS n FROM aibridge_user_prompts WHERE aibridge_user_prompts.interception_id = raw.id
    ) AS prompts
    CROSS JOIN LATERAL (
        SELECT
            count(*) FILTER (WHERE tl.injected) AS injected,
            count(*) FILTER (WHERE NOT tl.injected) AS non_injected,
            count(*) FILTER (WHERE tl.injected AND tl.invocation_error IS NOT NULL) AS injected_errors
        FROM aibridge_tool_usages tl
        WHERE tl.interception_id = raw.id
    ) AS tools
    GROUP BY raw.provider, raw.model, raw.client, raw.bucket
    UNION ALL
    SELECT provider COLLATE "C", model COLLATE "C", client COLLATE "C", bucket,
        sum(token_usages), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens),
        sum(prompts), sum(tool_calls_injected), sum(tool_calls_non_injected), sum(injected_tool_errors), sum(failed)
    FROM rolled
    GROUP BY provider, model, client, bucket
),
summed AS (
    SELECT provider, model, client, bucket,
        sum(token_rows) AS token_rows, sum(input_) AS input_, sum(output_) AS output_,
        sum(cached_read) AS cached_read, sum(cached_written) AS cached_written, sum(prompt_rows) AS prompt_rows,
        sum(injected) AS injected, sum(non_injected) AS non_injected, sum(injected_errors) AS injected_errors,
        sum(failed) AS failed
    FROM sums GROUP BY provider, model, client, bucket
)
SELECT
    per_group.provider::text AS provider,
    per_group.model::text AS model,
    per_group.client::text AS client,
    NULLIF(per_group.bucket, '-infinity'::timestamptz) AS bucket,
    per_group.n AS interception_count,
    hist.buckets AS duration_buckets,
    hist.counts AS duration_counts,
    per_group.initiators AS unique_initiator_count,
    COALESCE(summed.prompt_rows, 0)::bigint AS user_prompts_count,
    COALESCE(summed.token_rows, 0)::bigint AS token_usages_count,
    COALESCE(summed.input_, 0)::bigint AS token_count_input,
    COALESCE(summed.output_, 0)::bigint AS token_count_output,
    COALESCE(summed.cached_read, 0)::bigint AS token_count_cached_read,
    COALESCE(summed.cached_written, 0)::bigint AS token_count_cached_written,
    COALESCE(summed.injected, 0)::bigint AS tool_calls_count_injected,
    COALESCE(summed.non_injected, 0)::bigint AS tool_calls_count_non_injected,
    COALESCE(summed.injected_errors, 0)::bigint AS injected_tool_call_error_count,
    COALESCE(summed.failed, 0)::bigint AS interception_failed_count
FROM per_group
JOIN hist USING (provider, model, client, bucket)
LEFT JOIN summed USING (provider, model, client, bucket)
ORDER BY per_group.bucket, per_group.provider, per_group.model, per_group.client;

-- name: SpendSummaryWithHistory :many
-- SpendSummary's rows, from history for the whole UTC hours of the window that are rolled up
-- (by token usage created_at) and from the raw rows for the rest, by the rule of
-- SummarizeTelemetryWithHistory: an hour cut by a local midnight of @tz (a zone whose offset is
-- not a whole hour) is read raw while its raw rows exist (day, week and month all begin at a
-- midnight). History's costs are those priced at refresh time; the caller uses this only with
-- the price sources the refresh used. No session key: history has none.
WITH raw_priced AS (
    SELECT
        CASE WHEN @by_user::bool THEN i.initiator_id END AS initiator_id,
        CASE WHEN @by_provider::bool THEN i.provider END AS provider,
        CASE WHEN @by_model::bool THEN i.model END AS model,
        CASE WHEN @by_client::bool THEN i.client END AS client,
        CASE WHEN @by_group::bool THEN t.group_id END AS group_id,
        CASE WHEN @by_day::bool THEN (t.created_at AT TIME ZONE @tz::text)::date END AS day,
        CASE WHEN @by_week::bool THEN date_trunc('week', t.created_at AT TIME ZONE @tz::text)::date END AS week,
        CASE WHEN @by_month::bool THEN date_trunc('month', t.created_at AT TIME ZONE @tz::text)::date END AS month,
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
        CROSS JOIN LATERAL (SELECT date_trunc('hour', tu.created_at, 'UTC') AS h) AS hr
        WHERE tu.created_at >= @since::timestamptz AND tu.created_at < @until::timestamptz
            -- Cheap comparisons first: the raw rows lie before or after the rolled-up hours, or
            -- (only when @straddles) in an hour cut by a local midnight.
            AND (tu.created_at < @raw_before::timestamptz OR tu.created_at >= @raw_from::timestamptz OR @straddles::bool)
            AND NOT (hr.h >= @first_hour::timestamptz AND hr.h + interval '1 hour' <= @watermark::timestamptz
                     AND hr.h >= @since::timestamptz AND hr.h + interval '1 hour' <= @until::timestamptz
                     AND (hr.h < @frozen_before::timestamptz
                          OR NOT (@by_day::bool OR @by_week::bool OR @by_month::bool)
                          OR (hr.h AT TIME ZONE @tz::text)::date
                             = ((hr.h + interval '59 minutes 59.999999 seconds') AT TIME ZONE @tz::text)::date))
    ) t
    JOIN LATERAL (
        SELECT aibridge_interceptions.initiator_id, aibridge_interceptions.provider, aibridge_interceptions.model,
               COALESCE(aibridge_interceptions.client, 'Unknown')::text AS client, provider_name AS pname
        FROM aibridge_interceptions
        WHERE aibridge_interceptions.id = t.interception_id
            AND CASE WHEN @provider::text != '' THEN aibridge_interceptions.provider = @provider::text ELSE true END
            AND CASE WHEN @model::text != '' THEN aibridge_interceptions.model = @model::text ELSE true END
            AND CASE WHEN @client::text != '' THEN COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text ELSE true END
            AND CASE
                WHEN @initiator_id::uuid != '00000000-0000-0000-0000-000000000000'::uuid
                THEN aibridge_interceptions.initiator_id = @initiator_id::uuid
                ELSE true
            END
            -- @authorize_filter
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
parts AS (
    SELECT initiator_id, provider, model, client, group_id, day, week, month,
        input_tokens, output_tokens, cache_read, cache_write,
        CASE WHEN source_bit > 0 THEN cost_pico ELSE 0 END::numeric AS cost_pico,
        CASE WHEN source_bit = 0 THEN input_tokens + output_tokens + cache_read + cache_write ELSE 0 END AS unpriced,
        source_bit AS sources, 1 AS n
    FROM raw_priced
    UNION ALL
    SELECT
        CASE WHEN @by_user::bool THEN aibridge_interceptions.initiator_id END,
        CASE WHEN @by_provider::bool THEN aibridge_interceptions.provider END,
        CASE WHEN @by_model::bool THEN aibridge_interceptions.model END,
        CASE WHEN @by_client::bool THEN aibridge_interceptions.client END,
        CASE WHEN @by_group::bool THEN aibridge_interceptions.effective_group_id END,
        CASE WHEN @by_day::bool THEN (aibridge_interceptions.hour AT TIME ZONE @tz::text)::date END,
        CASE WHEN @by_week::bool THEN date_trunc('week', aibridge_interceptions.hour AT TIME ZONE @tz::text)::date END,
        CASE WHEN @by_month::bool THEN date_trunc('month', aibridge_interceptions.hour AT TIME ZONE @tz::text)::date END,
        aibridge_interceptions.input_tokens, aibridge_interceptions.output_tokens,
        aibridge_interceptions.cache_read_tokens, aibridge_interceptions.cache_write_tokens,
        aibridge_interceptions.cost_micros * 1000000, aibridge_interceptions.unpriced_tokens,
        aibridge_interceptions.sources, aibridge_interceptions.token_usages
    -- Named as the raw table so that the `--as` filter (on initiator_id) applies here too.
    FROM aibridge_history_usage_hours AS aibridge_interceptions
    WHERE aibridge_interceptions.hour >= @first_hour::timestamptz
        AND aibridge_interceptions.hour + interval '1 hour' <= @watermark::timestamptz
        AND aibridge_interceptions.hour >= @since::timestamptz
        AND aibridge_interceptions.hour + interval '1 hour' <= @until::timestamptz
        AND (aibridge_interceptions.hour < @frozen_before::timestamptz
             OR NOT (@by_day::bool OR @by_week::bool OR @by_month::bool)
             OR (aibridge_interceptions.hour AT TIME ZONE @tz::text)::date
                = ((aibridge_interceptions.hour + interval '59 minutes 59.999999 seconds') AT TIME ZONE @tz::text)::date)
        AND CASE WHEN @provider::text != '' THEN aibridge_interceptions.provider = @provider::text ELSE true END
        AND CASE WHEN @model::text != '' THEN aibridge_interceptions.model = @model::text ELSE true END
        AND CASE WHEN @client::text != '' THEN aibridge_interceptions.client = @client::text ELSE true END
        AND CASE
            WHEN @initiator_id::uuid != '00000000-0000-0000-0000-000000000000'::uuid
            THEN aibridge_interceptions.initiator_id = @initiator_id::uuid
            ELSE true
        END
        -- @authorize_filter
),
grouped AS (
    SELECT
        initiator_id, provider, model, client, NULL::text AS session_id, group_id, day, week, month,
        sum(input_tokens)::bigint AS input_tokens,
        sum(output_tokens)::bigint AS output_tokens,
        sum(cache_read)::bigint AS cache_read_tokens,
        sum(cache_write)::bigint AS cache_write_tokens,
        (COALESCE(sum(cost_pico), 0) / 1000000000000.0)::numeric AS cost_usd,
        COALESCE(sum(unpriced), 0)::bigint AS unpriced_tokens,
        bit_or(sources)::int AS sources,
        sum(n)::bigint AS token_usages
    FROM parts
    GROUP BY initiator_id, provider, model, client, group_id, day, week, month
)
SELECT grouped.*, users.username AS user_username
FROM grouped
LEFT JOIN users ON users.id = grouped.initiator_id
ORDER BY grouped.cost_usd DESC, grouped.unpriced_tokens DESC, grouped.day, grouped.week, grouped.month,
    users.username, grouped.provider, grouped.model, grouped.client, grouped.group_id;

-- name: HistoryHoursStraddle :one
-- Whether some hour in [@from_hour, @to_hour) that history may answer (not before
-- @frozen_before: those are answered from history anyway) is cut by a @bucket edge in @tz
-- (day, or hour, in a zone whose offset is not a whole hour): then its raw rows are read too.
SELECT EXISTS (
    SELECT 1
    FROM generate_series(GREATEST(@from_hour::timestamptz, @frozen_before::timestamptz), @to_hour::timestamptz - interval '1 hour',
                         interval '1 hour') AS h
    WHERE CASE @bucket::text
        WHEN 'day' THEN date_trunc('day', h, @tz::text) != date_trunc('day', h + interval '59 minutes 59.999999 seconds', @tz::text)
        WHEN 'hour' THEN date_trunc('hour', h, @tz::text) != date_trunc('hour', h + interval '59 minutes 59.999999 seconds', @tz::text)
        WHEN 'any' THEN (h AT TIME ZONE @tz::text)::date != ((h + interval '59 minutes 59.999999 seconds') AT TIME ZONE @tz::text)::date
        ELSE false
    END
) AS straddles;
