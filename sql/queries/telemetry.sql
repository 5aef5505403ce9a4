-- Telemetry summaries: usage, latency, cache and tool statistics per (provider, model, client)
-- over interceptions that ended inside [ended_at_after, ended_at_before).
--
-- Cached tokens, one rule in every query of the tool (telemetry, sessions, interceptions show):
-- a token usage row's cache read is its `cache_read_input_tokens` column where that is above
-- zero, else the greatest of its numeric metadata keys `cache_read_input` (Anthropic),
-- `input_cached` (OpenAI Responses, what Codex writes) and `prompt_cached` (OpenAI chat): the
-- rule the deployment itself used to backfill the columns (2026-08). Its cache write is
-- `cache_write_input_tokens` above zero, else `cache_creation_input`. A row carrying both is
-- never counted twice, and rows written before the columns existed still count. This departs
-- from the seed's telemetry on purpose: the seed summed cache_read_input and prompt_cached and
-- ignored input_cached, so Codex showed 0 % cache where `sessions show` counted its tokens.
-- The columns are read by an unqualified name inside a subquery over aibridge_token_usages
-- alone: when the table has them, the name resolves there; when it does not, SQL's scoping
-- resolves it to the NULL column of the enclosing `absent_columns` row instead. So one query
-- text runs on both layouts without a catalog lookup, and the planner folds the NULL away.
--
-- The two summary shapes share their window's filters between `-- filter:telemetry-filters`
-- marker lines; tests/test_sql_filters.py keeps the copies identical.

-- name: ListAIBridgeInterceptionsTelemetrySummaries :many
-- The (provider, model, client) groups that have an interception ended in the window.
SELECT
    aibridge_interceptions.provider,
    aibridge_interceptions.model,
    COALESCE(aibridge_interceptions.client, 'Unknown') AS client
FROM aibridge_interceptions
WHERE aibridge_interceptions.ended_at >= @ended_at_after::timestamptz
    AND aibridge_interceptions.ended_at < @ended_at_before::timestamptz
    -- @authorize_filter
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;

-- name: CalculateAIBridgeInterceptionsTelemetrySummary :one
-- The statistics of one (provider, model, client) group; every child table is joined to the
-- group's interceptions on its own, so token, prompt and tool rows never multiply each other.
WITH grp AS MATERIALIZED (
    SELECT
        aibridge_interceptions.id,
        aibridge_interceptions.initiator_id,
        EXTRACT(EPOCH FROM aibridge_interceptions.ended_at - aibridge_interceptions.started_at) AS seconds
    FROM aibridge_interceptions
    WHERE aibridge_interceptions.provider = @provider::text
        AND aibridge_interceptions.model = @model::text
        AND COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text
        AND aibridge_interceptions.ended_at >= @ended_at_after::timestamptz
        AND aibridge_interceptions.ended_at < @ended_at_before::timestamptz
        -- @authorize_filter
),
latency AS (
    SELECT
        count(*) AS n,
        count(DISTINCT initiator_id) AS initiators,
        COALESCE(percentile_cont(ARRAY[0.50, 0.90, 0.95, 0.99]) WITHIN GROUP (ORDER BY seconds),
                 ARRAY[0, 0, 0, 0]::float8[]) AS p
    FROM grp
),
tokens AS (
    SELECT
        count(*) AS rows_,
        COALESCE(sum(t.input_tokens), 0) AS input_,
        COALESCE(sum(t.output_tokens), 0) AS output_,
        COALESCE(sum(t.cached_read), 0) AS cached_read,
        COALESCE(sum(t.cached_written), 0) AS cached_written
    FROM (SELECT NULL::bigint AS cache_read_input_tokens, NULL::bigint AS cache_write_input_tokens) AS absent_columns
    CROSS JOIN LATERAL (
        SELECT
            tu.interception_id,
            tu.input_tokens,
            tu.output_tokens,
            CASE WHEN cache_read_input_tokens > 0 THEN cache_read_input_tokens
                 ELSE GREATEST(CASE WHEN jsonb_typeof(tu.metadata -> 'cache_read_input') = 'number' THEN (tu.metadata ->> 'cache_read_input')::numeric END,
                               CASE WHEN jsonb_typeof(tu.metadata -> 'input_cached') = 'number' THEN (tu.metadata ->> 'input_cached')::numeric END,
                               CASE WHEN jsonb_typeof(tu.metadata -> 'prompt_cached') = 'number' THEN (tu.metadata ->> 'prompt_cached')::numeric END, 0)
            END AS cached_read,
            CASE WHEN cache_write_input_tokens > 0 THEN cache_write_input_tokens
                 ELSE GREATEST(CASE WHEN jsonb_typeof(tu.metadata -> 'cache_creation_input') = 'number' THEN (tu.metadata ->> 'cache_creation_input')::numeric END, 0)
            END AS cached_written
        FROM aibridge_token_usages tu
    ) t
    JOIN grp ON grp.id = t.interception_id
),
prompts AS (
    SELECT count(*) AS n
    FROM grp JOIN aibridge_user_prompts up ON up.interception_id = grp.id
),
tools AS (
    SELECT
        count(*) FILTER (WHERE tl.injected) AS injected,
        count(*) FILTER (WHERE NOT tl.injected) AS non_injected,
        count(*) FILTER (WHERE tl.injected AND tl.invocation_error IS NOT NULL) AS injected_errors
    FROM grp JOIN aibridge_tool_usages tl ON tl.interception_id = grp.id
)
SELECT
    latency.n::bigint AS interception_count,
    (latency.p[1] * 1000)::bigint AS interception_duration_p50_millis,
    (latency.p[2] * 1000)::bigint AS interception_duration_p90_millis,
    (latency.p[3] * 1000)::bigint AS interception_duration_p95_millis,
    (latency.p[4] * 1000)::bigint AS interception_duration_p99_millis,
    latency.initiators::bigint AS unique_initiator_count,
    prompts.n::bigint AS user_prompts_count,
    tokens.rows_::bigint AS token_usages_count,
    tokens.input_::bigint AS token_count_input,
    tokens.output_::bigint AS token_count_output,
    tokens.cached_read::bigint AS token_count_cached_read,
    tokens.cached_written::bigint AS token_count_cached_written,
    tools.injected::bigint AS tool_calls_count_injected,
    tools.non_injected::bigint AS tool_calls_count_non_injected,
    tools.injected_errors::bigint AS injected_tool_call_error_count
FROM latency, tokens, prompts, tools;

-- name: SummarizeAIBridgeInterceptionsTelemetry :many
-- Every group's statistics in one pass over the window, optionally per time bucket (`day` or
-- `hour` of ended_at in time zone @tz), with the semantics of running
-- CalculateAIBridgeInterceptionsTelemetrySummary once per group. The three child tables are
-- read as one stream; each child row joins its one interception (ids are unique), so token,
-- prompt and tool rows never multiply each other. Groups are hashed, not sorted: sorting the
-- window's rows by three text keys was most of the cost; the percentiles and distinct
-- initiators are then taken from each group's collected values.
SELECT summary.*
FROM (SELECT NULL::bigint AS cache_read_input_tokens, NULL::bigint AS cache_write_input_tokens,
             NULL::text AS provider_name, NULL::text AS error_type) AS absent_columns
CROSS JOIN LATERAL (
    WITH win AS NOT MATERIALIZED (
        SELECT
            aibridge_interceptions.id,
            aibridge_interceptions.initiator_id,
            -- "C" only for grouping: equality is the same under every deterministic collation,
            -- and byte comparison is cheaper than the database's locale.
            aibridge_interceptions.provider COLLATE "C" AS provider,
            aibridge_interceptions.model COLLATE "C" AS model,
            COALESCE(aibridge_interceptions.client, 'Unknown')::text COLLATE "C" AS client,
            -- Not NULL when ungrouped, so the group key joins by plain equality.
            CASE @bucket::text
                WHEN 'day' THEN date_trunc('day', aibridge_interceptions.ended_at, @tz::text)
                WHEN 'hour' THEN date_trunc('hour', aibridge_interceptions.ended_at, @tz::text)
                ELSE '-infinity'::timestamptz
            END AS bucket,
            -- The same float8 the reference's percentile_cont(numeric) receives.
            EXTRACT(EPOCH FROM aibridge_interceptions.ended_at - aibridge_interceptions.started_at)::float8 AS seconds,
            -- provider_name and error_type unqualified: absent_columns' NULL on the seed's layout.
            error_type IS NOT NULL AS failed
        FROM aibridge_interceptions
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
            -- @authorize_filter
    ),
    latency AS (
        SELECT provider, model, client, bucket,
            count(*) AS n,
            count(*) FILTER (WHERE failed) AS failed,
            array_agg(initiator_id) AS initiators,
            array_agg(seconds) AS seconds
        FROM win
        GROUP BY provider, model, client, bucket
    ),
    children AS (
        -- Each branch leaves the other branches' columns NULL, so plain count(column) and sum()
        -- pick out their own rows without a FILTER per aggregate and row.
        SELECT
            win.provider, win.model, win.client, win.bucket,
            count(c.input_tokens) AS token_rows,
            sum(c.input_tokens) AS input_,
            sum(c.output_tokens) AS output_,
            -- Cached tokens: the column when above zero, else the metadata keys (see the top).
            -- Evaluated after the join, so only for the window's token usage rows.
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
            SELECT tu.interception_id, tu.input_tokens, tu.output_tokens, tu.metadata,
                cache_read_input_tokens::bigint AS cache_read_column,
                cache_write_input_tokens::bigint AS cache_write_column,
                NULL::integer AS prompt, NULL::boolean AS injected, NULL::integer AS injected_failed
            FROM aibridge_token_usages tu
            UNION ALL
            SELECT up.interception_id, NULL, NULL, NULL, NULL, NULL, 1, NULL, NULL
            FROM aibridge_user_prompts up
            UNION ALL
            SELECT tl.interception_id, NULL, NULL, NULL, NULL, NULL, NULL, tl.injected,
                CASE WHEN tl.injected AND tl.invocation_error IS NOT NULL THEN 1 END
            FROM aibridge_tool_usages tl
        ) c
        JOIN win ON win.id = c.interception_id
        GROUP BY win.provider, win.model, win.client, win.bucket
    )
    SELECT
        latency.provider::text AS provider,
        latency.model::text AS model,
        latency.client::text AS client,
        NULLIF(latency.bucket, '-infinity'::timestamptz) AS bucket,
        latency.n::bigint AS interception_count,
        (pct.p[1] * 1000)::bigint AS interception_duration_p50_millis,
        (pct.p[2] * 1000)::bigint AS interception_duration_p90_millis,
        (pct.p[3] * 1000)::bigint AS interception_duration_p95_millis,
        (pct.p[4] * 1000)::bigint AS interception_duration_p99_millis,
        initiators.n::bigint AS unique_initiator_count,
        COALESCE(children.prompt_rows, 0)::bigint AS user_prompts_count,
        COALESCE(children.token_rows, 0)::bigint AS token_usages_count,
        COALESCE(children.input_, 0)::bigint AS token_count_input,
        COALESCE(children.output_, 0)::bigint AS token_count_output,
        COALESCE(children.cached_read, 0)::bigint AS token_count_cached_read,
        COALESCE(children.cached_written, 0)::bigint AS token_count_cached_written,
        COALESCE(children.injected, 0)::bigint AS tool_calls_count_injected,
        COALESCE(children.non_injected, 0)::bigint AS tool_calls_count_non_injected,
        COALESCE(children.injected_errors, 0)::bigint AS injected_tool_call_error_count,
        latency.failed::bigint AS interception_failed_count
    FROM latency
    CROSS JOIN LATERAL (
        SELECT percentile_cont(ARRAY[0.50, 0.90, 0.95, 0.99]) WITHIN GROUP (ORDER BY s) AS p
        FROM unnest(latency.seconds) AS s
    ) AS pct
    CROSS JOIN LATERAL (
        -- DISTINCT hashes a group's few hundred initiators; count(DISTINCT) would sort all of
        -- the group's values (twice the time on a million interceptions).
        SELECT count(u) AS n FROM (SELECT DISTINCT u FROM unnest(latency.initiators) AS u) AS distinct_initiators
    ) AS initiators
    LEFT JOIN children USING (provider, model, client, bucket)
) AS summary
ORDER BY summary.bucket, summary.provider, summary.model, summary.client;

-- name: SummarizeAIBridgeInterceptionsTelemetryFewInterceptions :many
-- The same rows as SummarizeAIBridgeInterceptionsTelemetry, shaped for a window of few
-- interceptions: it reads the window once, and finds each interception's token, prompt and tool
-- rows through their interception_id indexes, where the other shape reads the window twice
-- (without an index on ended_at, each read is the whole table). Chosen by the caller from
-- EstimateTelemetryWindowRows: the index probes cost about 15 µs per interception, so past some
-- tens of thousands the other shape's hashing wins.
SELECT summary.*
FROM (SELECT NULL::bigint AS cache_read_input_tokens, NULL::bigint AS cache_write_input_tokens,
             NULL::text AS provider_name, NULL::text AS error_type) AS absent_columns
CROSS JOIN LATERAL (
    WITH win AS NOT MATERIALIZED (
        SELECT
            aibridge_interceptions.id,
            aibridge_interceptions.initiator_id,
            -- "C" only for grouping: equality is the same under every deterministic collation,
            -- and byte comparison is cheaper than the database's locale.
            aibridge_interceptions.provider COLLATE "C" AS provider,
            aibridge_interceptions.model COLLATE "C" AS model,
            COALESCE(aibridge_interceptions.client, 'Unknown')::text COLLATE "C" AS client,
            -- Not NULL when ungrouped, so the group key joins by plain equality.
            CASE @bucket::text
                WHEN 'day' THEN date_trunc('day', aibridge_interceptions.ended_at, @tz::text)
                WHEN 'hour' THEN date_trunc('hour', aibridge_interceptions.ended_at, @tz::text)
                ELSE '-infinity'::timestamptz
            END AS bucket,
            -- The same float8 the reference's percentile_cont(numeric) receives.
            EXTRACT(EPOCH FROM aibridge_interceptions.ended_at - aibridge_interceptions.started_at)::float8 AS seconds,
            -- provider_name and error_type unqualified: absent_columns' NULL on the seed's layout.
            error_type IS NOT NULL AS failed
        FROM aibridge_interceptions
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
            -- @authorize_filter
    ),
    per_group AS (
        SELECT win.provider, win.model, win.client, win.bucket,
            count(*) AS n,
            count(*) FILTER (WHERE win.failed) AS failed,
            array_agg(win.initiator_id) AS initiators,
            array_agg(win.seconds) AS seconds,
            sum(tokens.rows_) AS token_rows,
            sum(tokens.input_) AS input_,
            sum(tokens.output_) AS output_,
            sum(tokens.cached_read) AS cached_read,
            sum(tokens.cached_written) AS cached_written,
            sum(prompts.n) AS prompt_rows,
            sum(tools.injected) AS injected,
            sum(tools.non_injected) AS non_injected,
            sum(tools.injected_errors) AS injected_errors
        FROM win
        CROSS JOIN LATERAL (
            -- Cached tokens: the column when above zero, else the metadata keys (see the top).
            SELECT count(*) AS rows_, sum(tu.input_tokens) AS input_, sum(tu.output_tokens) AS output_,
                sum(CASE WHEN tu.cache_read_column > 0 THEN tu.cache_read_column
                         ELSE GREATEST(CASE WHEN jsonb_typeof(tu.metadata -> 'cache_read_input') = 'number' THEN (tu.metadata ->> 'cache_read_input')::numeric END,
                                       CASE WHEN jsonb_typeof(tu.metadata -> 'input_cached') = 'number' THEN (tu.metadata ->> 'input_cached')::numeric END,
                                       CASE WHEN jsonb_typeof(tu.metadata -> 'prompt_cached') = 'number' THEN (tu.metadata ->> 'prompt_cached')::numeric END, 0)
                    END) AS cached_read,
                sum(CASE WHEN tu.cache_write_column > 0 THEN tu.cache_write_column
                         ELSE GREATEST(CASE WHEN jsonb_typeof(tu.metadata -> 'cache_creation_input') = 'number' THEN (tu.metadata ->> 'cache_creation_input')::numeric END, 0)
                    END) AS cached_written
            FROM (
                SELECT aibridge_token_usages.input_tokens, aibridge_token_usages.output_tokens, aibridge_token_usages.metadata,
                    cache_read_input_tokens::bigint AS cache_read_column,
                    cache_write_input_tokens::bigint AS cache_write_column
                FROM aibridge_token_usages
                WHERE aibridge_token_usages.interception_id = win.id
            ) AS tu
        ) AS tokens
        CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM aibridge_user_prompts WHERE aibridge_user_prompts.interception_id = win.id
        ) AS prompts
        CROSS JOIN LATERAL (
            SELECT
                count(*) FILTER (WHERE tl.injected) AS injected,
                count(*) FILTER (WHERE NOT tl.injected) AS non_injected,
                count(*) FILTER (WHERE tl.injected AND tl.invocation_error IS NOT NULL) AS injected_errors
            FROM aibridge_tool_usages tl
            WHERE tl.interception_id = win.id
        ) AS tools
        GROUP BY win.provider, win.model, win.client, win.bucket
    )
    SELECT
        per_group.provider::text AS provider,
        per_group.model::text AS model,
        per_group.client::text AS client,
        NULLIF(per_group.bucket, '-infinity'::timestamptz) AS bucket,
        per_group.n::bigint AS interception_count,
        (pct.p[1] * 1000)::bigint AS interception_duration_p50_millis,
        (pct.p[2] * 1000)::bigint AS interception_duration_p90_millis,
        (pct.p[3] * 1000)::bigint AS interception_duration_p95_millis,
        (pct.p[4] * 1000)::bigint AS interception_duration_p99_millis,
        initiators.n::bigint AS unique_initiator_count,
        per_group.prompt_rows::bigint AS user_prompts_count,
        per_group.token_rows::bigint AS token_usages_count,
        COALESCE(per_group.input_, 0)::bigint AS token_count_input,
        COALESCE(per_group.output_, 0)::bigint AS token_count_output,
        COALESCE(per_group.cached_read, 0)::bigint AS token_count_cached_read,
        COALESCE(per_group.cached_written, 0)::bigint AS token_count_cached_written,
        per_group.injected::bigint AS tool_calls_count_injected,
        per_group.non_injected::bigint AS tool_calls_count_non_injected,
        per_group.injected_errors::bigint AS injected_tool_call_error_count,
        per_group.failed::bigint AS interception_failed_count
    FROM per_group
    CROSS JOIN LATERAL (
        SELECT percentile_cont(ARRAY[0.50, 0.90, 0.95, 0.99]) WITHIN GROUP (ORDER BY s) AS p
        FROM unnest(per_group.seconds) AS s
    ) AS pct
    CROSS JOIN LATERAL (
        SELECT count(u) AS n FROM (SELECT DISTINCT u FROM unnest(per_group.initiators) AS u) AS distinct_initiators
    ) AS initiators
) AS summary
ORDER BY summary.bucket, summary.provider, summary.model, summary.client;

-- name: EstimateTelemetryWindowRows :one
-- The planner's own guess of how many interceptions ended in the window (its plan's "Plan Rows"),
-- from the table's statistics and without reading it: it picks the summary's shape (see
-- SummarizeAIBridgeInterceptionsTelemetryFewInterceptions).
EXPLAIN (FORMAT JSON)
SELECT FROM aibridge_interceptions
WHERE aibridge_interceptions.ended_at >= @ended_at_after::timestamptz
    AND aibridge_interceptions.ended_at < @ended_at_before::timestamptz;

-- name: TelemetryRowsChangedSinceAnalyze :one
-- How many interceptions were written, changed or deleted since the table's statistics were
-- last taken: none of them are in EstimateTelemetryWindowRows, so a window may hold up to this
-- many more than estimated (all of them, before the first ANALYZE).
SELECT COALESCE((
    SELECT pg_stat_all_tables.n_mod_since_analyze
    FROM pg_stat_all_tables
    WHERE pg_stat_all_tables.relid = to_regclass('aibridge_interceptions')
), 0)::bigint AS changed;

-- name: SetTelemetryWorkMem :exec
-- Room for the summary's hash tables and per-group value lists, for this transaction only.
-- An empty value keeps the current setting.
SELECT set_config('work_mem', COALESCE(NULLIF(@work_mem::text, ''), current_setting('work_mem')), true);

-- name: ResolveTimeZone :one
-- A time zone name as PostgreSQL spells it, matched case-insensitively; no row when unknown.
SELECT name FROM pg_timezone_names WHERE lower(name) = lower(@tz::text) ORDER BY name = @tz::text DESC LIMIT 1;
