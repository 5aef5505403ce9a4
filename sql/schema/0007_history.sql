-- History: hourly rollups of the AI Bridge tables that outlive prune (docs/history.md).
--
-- Two tables, because the two readers window by different times:
-- * aibridge_history_interception_hours, for `telemetry summary`: interceptions by the UTC hour
--   of their ended_at (in-flight ones never count), with their token, prompt and tool rows
--   attached to the interception's hour whenever those were written.
-- * aibridge_history_usage_hours, for `spend`: token usage rows by the UTC hour of their own
--   created_at, with their cost as spend prices it at refresh time.
-- A row per hour x initiator x provider x model x client x provider_name ('' where the layout
-- has none) (x effective group for spend). Rows of an hour are replaced together, so the
-- tables need no unique key; `history refresh` deletes and rewrites whole hours in one
-- transaction per batch.
--
-- Durations: a mergeable logarithmic histogram. A duration of d microseconds (d >= 1) falls in
-- bucket k = floor(ln(d) / ln(1.02)), i.e. [1.02^k, 1.02^(k+1)) us; durations under 1 us (and
-- negative ones) in bucket -1, read as 0. The bucket's geometric midpoint 1.02^(k+1/2) is within
-- sqrt(1.02) - 1 < 1 % of every value in it, so a percentile read from merged buckets is within
-- 1 % of the exact one. Stored as parallel arrays (bucket numbers ascending, counts), merged by
-- unnest + sum. An hour's row holds at most a few hundred buckets (1 ms to 1 hour is 700).
--
-- aibridge_history_state (one row): hours before `watermark` are rolled up from `first_hour`;
-- hours before `frozen_before` are never recomputed, because prune deleted (some of) their raw
-- rows; `prices` describes the price sources the costs were computed with.
CREATE TABLE IF NOT EXISTS aibridge_history_interception_hours (
    hour timestamptz NOT NULL,
    initiator_id uuid NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    client text NOT NULL,
    provider_name text NOT NULL DEFAULT '',
    interceptions bigint NOT NULL,
    failed bigint NOT NULL,
    prompts bigint NOT NULL,
    token_usages bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cache_read_tokens bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    tool_calls_injected bigint NOT NULL,
    tool_calls_non_injected bigint NOT NULL,
    injected_tool_errors bigint NOT NULL,
    duration_buckets integer[] NOT NULL,
    duration_counts bigint[] NOT NULL
);
CREATE INDEX IF NOT EXISTS aibridge_history_interception_hours_hour ON aibridge_history_interception_hours (hour);

CREATE TABLE IF NOT EXISTS aibridge_history_usage_hours (
    hour timestamptz NOT NULL,
    initiator_id uuid NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    client text NOT NULL,
    provider_name text NOT NULL DEFAULT '',
    effective_group_id uuid,
    token_usages bigint NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    cache_read_tokens bigint NOT NULL,
    cache_write_tokens bigint NOT NULL,
    -- Exact: the sum of the rows' costs in micro-dollars (fractions kept), of the priced rows.
    cost_micros numeric NOT NULL,
    -- The sources of the costs as spend reports them: 1 stored, 2 file, 4 deployment, 8 genai-prices.
    sources integer NOT NULL,
    unpriced_tokens bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS aibridge_history_usage_hours_hour ON aibridge_history_usage_hours (hour);

CREATE TABLE IF NOT EXISTS aibridge_history_state (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    first_hour timestamptz,
    watermark timestamptz,
    frozen_before timestamptz,
    prices text NOT NULL DEFAULT '',
    refreshed_at timestamptz
);
INSERT INTO aibridge_history_state (id) VALUES (true) ON CONFLICT (id) DO NOTHING;
