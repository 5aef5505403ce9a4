-- Spend: what the token usages in [since, until) cost, grouped as asked.
--
-- Prices come from Python as a JSON array of rate rows (@rates): one per (provider key, model,
-- price period, tier of the row's total input), USD per million tokens. PostgreSQL applies
-- them to every row; Python never sees a row. A row's provider key is the type of the
-- ai_providers row named by its interception's provider_name (@provider_types, from that table
-- where it exists), else the interception's provider.
--
-- Columns of the 2026-08 layout (cache_*_input_tokens, cost_micros, effective_group_id,
-- provider_name) are read by unqualified names inside subqueries over one table: where the
-- table has them the name resolves there, else to the NULL column of `absent_columns` (as in
-- telemetry.sql), so one text runs on both layouts.
--
-- Cached tokens, the one rule: cache read is cache_read_input_tokens where above zero, else the
-- greatest of the metadata keys cache_read_input, input_cached and prompt_cached; cache write is
-- cache_write_input_tokens where above zero, else cache_creation_input. The bridge stores
-- input_tokens without the cached part, so a row's total input (which picks its tier) is
-- input + cache read + cache write.
--
-- A stored cost (cost_micros, not NULL) is the row's cost when @use_stored: it is what the
-- deployment billed. Sources are reported as a bit set: 1 stored, 2 file, 4 deployment,
-- 8 genai-prices.

-- name: ListSpendPriceKeys :many
-- The (provider key, model) pairs Python must price: those of every interception the filters
-- keep, whatever its time. A superset of the window's (pricing a pair too many costs a lookup),
-- found without joining the token usages: this is a fraction of SpendSummary's time.
SELECT DISTINCT COALESCE(pt.type, i.provider) AS provider, i.model
FROM (SELECT NULL::text AS provider_name) AS absent_columns
CROSS JOIN LATERAL (
    SELECT aibridge_interceptions.provider, aibridge_interceptions.model, provider_name AS pname
    FROM aibridge_interceptions
    WHERE CASE WHEN @provider::text != '' THEN aibridge_interceptions.provider = @provider::text ELSE true END
        AND CASE WHEN @model::text != '' THEN aibridge_interceptions.model = @model::text ELSE true END
        AND CASE WHEN @client::text != '' THEN COALESCE(aibridge_interceptions.client, 'Unknown') = @client::text ELSE true END
        AND CASE
            WHEN @initiator_id::uuid != '00000000-0000-0000-0000-000000000000'::uuid
            THEN aibridge_interceptions.initiator_id = @initiator_id::uuid
            ELSE true
        END
        -- @authorize_filter
) i
LEFT JOIN jsonb_to_recordset(@provider_types::jsonb) AS pt(name text, type text) ON pt.name = i.pname
ORDER BY 1, 2;

-- name: SpendSummary :many
-- Tokens and cost per group. A group key not asked for is NULL for every row, so grouping by
-- all of them groups by the ones asked for. day/week/month are the period's first date in @tz.
-- The rates come in integer pico-dollars per token (= micro-dollars per million tokens) and
-- per request, so each row's cost is an exact bigint and the sums are exact (numeric); a stored
-- cost in micro-dollars is scaled to the same unit. Integer sums also let each parallel worker
-- aggregate its share of the rows before they are gathered.
WITH priced AS (
    SELECT
        CASE WHEN @by_user::bool THEN i.initiator_id END AS initiator_id,
        CASE WHEN @by_provider::bool THEN i.provider END AS provider,
        CASE WHEN @by_model::bool THEN i.model END AS model,
        CASE WHEN @by_client::bool THEN i.client END AS client,
        CASE WHEN @by_session::bool THEN i.session_id END AS session_id,
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
        -- The metadata keys read in one call per row: the expressions below use them several
        -- times, and `->>` would parse the document each time.
        FROM aibridge_token_usages tu
        CROSS JOIN LATERAL jsonb_to_record(COALESCE(tu.metadata, '{}'::jsonb)) AS m(
            cache_read_input bigint, input_cached bigint, prompt_cached bigint, cache_creation_input bigint)
        WHERE tu.created_at >= @since::timestamptz AND tu.created_at < @until::timestamptz
    ) t
    JOIN LATERAL (
        SELECT aibridge_interceptions.initiator_id, aibridge_interceptions.provider, aibridge_interceptions.model,
               COALESCE(aibridge_interceptions.client, 'Unknown')::text AS client,
               aibridge_interceptions.session_id::text AS session_id, provider_name AS pname
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
grouped AS (
    SELECT
        initiator_id, provider, model, client, session_id, group_id, day, week, month,
        sum(input_tokens)::bigint AS input_tokens,
        sum(output_tokens)::bigint AS output_tokens,
        sum(cache_read)::bigint AS cache_read_tokens,
        sum(cache_write)::bigint AS cache_write_tokens,
        (COALESCE(sum(cost_pico) FILTER (WHERE source_bit > 0), 0) / 1000000000000.0)::numeric AS cost_usd,
        COALESCE(sum(input_tokens + output_tokens + cache_read + cache_write) FILTER (WHERE source_bit = 0), 0)::bigint
            AS unpriced_tokens,
        bit_or(source_bit)::int AS sources,
        count(*)::bigint AS token_usages
    FROM priced
    GROUP BY initiator_id, provider, model, client, session_id, group_id, day, week, month
)
SELECT grouped.*, users.username AS user_username
FROM grouped
LEFT JOIN users ON users.id = grouped.initiator_id
ORDER BY grouped.cost_usd DESC, grouped.unpriced_tokens DESC, grouped.day, grouped.week, grouped.month,
    users.username, grouped.provider, grouped.model, grouped.client, grouped.session_id, grouped.group_id;

-- name: ListSpendUnpricedModels :many
-- Which (provider key, model) pairs have rows no source prices, and how many tokens: asked only
-- when SpendSummary reported unpriced tokens.
SELECT COALESCE(pt.type, i.provider) AS provider, i.model,
       sum(t.input_tokens + t.output_tokens + t.cache_read + t.cache_write)::bigint AS unpriced_tokens
FROM (SELECT NULL::bigint AS cache_read_input_tokens, NULL::bigint AS cache_write_input_tokens,
             NULL::bigint AS cost_micros, NULL::uuid AS effective_group_id, NULL::text AS provider_name) AS absent_columns
CROSS JOIN LATERAL (
    SELECT
        tu.interception_id, tu.created_at, tu.input_tokens, tu.output_tokens,
        CASE WHEN cache_read_input_tokens > 0 THEN cache_read_input_tokens
             ELSE COALESCE(GREATEST((tu.metadata ->> 'cache_read_input')::bigint,
                                    (tu.metadata ->> 'input_cached')::bigint,
                                    (tu.metadata ->> 'prompt_cached')::bigint), 0)
        END AS cache_read,
        CASE WHEN cache_write_input_tokens > 0 THEN cache_write_input_tokens
             ELSE COALESCE((tu.metadata ->> 'cache_creation_input')::bigint, 0)
        END AS cache_write,
        cost_micros AS stored_micros
    FROM aibridge_token_usages tu
    WHERE tu.created_at >= @since::timestamptz AND tu.created_at < @until::timestamptz
) t
JOIN LATERAL (
    SELECT aibridge_interceptions.provider, aibridge_interceptions.model, provider_name AS pname
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
WHERE NOT (@use_stored::bool AND t.stored_micros IS NOT NULL)
    AND NOT EXISTS (
        SELECT 1 FROM jsonb_to_recordset(@rates::jsonb) AS r(provider text, model text, valid_from timestamptz,
                                                               valid_to timestamptz, lo bigint, hi bigint)
        WHERE r.provider = COALESCE(pt.type, i.provider) AND r.model = i.model
            AND t.created_at >= r.valid_from AND t.created_at < r.valid_to
            AND t.input_tokens + t.cache_read + t.cache_write > r.lo
            AND t.input_tokens + t.cache_read + t.cache_write <= r.hi
    )
GROUP BY 1, 2
ORDER BY 3 DESC, 1, 2;

-- name: SpendDefaultWindow :one
-- The calendar month in @tz (UTC when empty) that holds @at: [its first midnight, the next
-- month's first midnight).
SELECT date_trunc('month', @at::timestamptz, COALESCE(NULLIF(@tz::text, ''), 'UTC')) AS since,
       (date_trunc('month', @at::timestamptz AT TIME ZONE COALESCE(NULLIF(@tz::text, ''), 'UTC')) + interval '1 month')
           AT TIME ZONE COALESCE(NULLIF(@tz::text, ''), 'UTC') AS until;

-- name: SpendTablesPresent :one
-- Which parts of the 2026-08 layout this database has: the spend commands use what is there.
SELECT to_regclass('ai_model_prices') IS NOT NULL AS model_prices,
       to_regclass('ai_providers') IS NOT NULL AS providers,
       to_regclass('groups') IS NOT NULL AS groups,
       to_regclass('ai_user_daily_spend') IS NOT NULL AS daily_spend,
       (to_regclass('group_ai_budgets') IS NOT NULL AND to_regclass('user_ai_budget_overrides') IS NOT NULL) AS budgets,
       EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = to_regclass('aibridge_token_usages') AND attname = 'cost_micros' AND NOT attisdropped)
           AS stored_costs;

-- name: ListDeploymentModelPrices :many
-- The deployment's configured prices (USD micro-units per million tokens; NULL counts as zero),
-- keyed by provider type and model. Asked only where the table exists.
SELECT provider, model, input_price, output_price, cache_read_price, cache_write_price, updated_at
FROM ai_model_prices
ORDER BY provider, model;

-- name: ListDeploymentProviderTypes :many
-- Each configured provider name's type: a live row wins over soft-deleted ones of the same name
-- (names are reused after a delete), then the newest.
SELECT DISTINCT ON (name) name, type::text AS type
FROM ai_providers
ORDER BY name, deleted, updated_at DESC;

-- name: ListGroupNames :many
SELECT id, name
FROM groups
WHERE id = ANY(@ids::uuid[]);

-- name: SpendReconcile :many
-- Per user, effective group and UTC day in [@from_day, @to_day) (UTC midnights): the sum of the rows' stored
-- costs beside the deployment's accumulator ai_user_daily_spend; only the pairs that differ.
-- Rows without an effective group never reach the accumulator (as the deployment writes it).
WITH rows_ AS (
    SELECT aibridge_interceptions.initiator_id AS user_id, tu.effective_group_id,
           (tu.created_at AT TIME ZONE 'UTC')::date AS day,
           sum(tu.cost_micros)::bigint AS rows_micros,
           count(*) FILTER (WHERE tu.cost_micros IS NULL)::bigint AS unpriced_rows
    FROM aibridge_token_usages tu
    JOIN aibridge_interceptions ON aibridge_interceptions.id = tu.interception_id
    WHERE tu.effective_group_id IS NOT NULL
        AND tu.created_at >= @from_day::timestamptz
        AND tu.created_at < @to_day::timestamptz
        AND CASE
            WHEN @initiator_id::uuid != '00000000-0000-0000-0000-000000000000'::uuid
            THEN aibridge_interceptions.initiator_id = @initiator_id::uuid
            ELSE true
        END
    GROUP BY 1, 2, 3
),
acc AS (
    SELECT user_id, effective_group_id, day, spend_micros
    FROM ai_user_daily_spend
    WHERE day >= (@from_day::timestamptz AT TIME ZONE 'UTC')::date
        AND day < (@to_day::timestamptz AT TIME ZONE 'UTC')::date
        AND CASE
            WHEN @initiator_id::uuid != '00000000-0000-0000-0000-000000000000'::uuid
            THEN user_id = @initiator_id::uuid
            ELSE true
        END
)
SELECT COALESCE(r.user_id, a.user_id) AS user_id, users.username AS user_username,
       COALESCE(r.effective_group_id, a.effective_group_id) AS effective_group_id, groups.name AS group_name,
       COALESCE(r.day, a.day) AS day,
       COALESCE(r.rows_micros, 0)::bigint AS rows_micros,
       a.spend_micros AS daily_spend_micros,
       (COALESCE(r.rows_micros, 0) - COALESCE(a.spend_micros, 0))::bigint AS difference_micros,
       COALESCE(r.unpriced_rows, 0)::bigint AS unpriced_rows
FROM rows_ r
FULL JOIN acc a ON a.user_id = r.user_id AND a.effective_group_id = r.effective_group_id AND a.day = r.day
LEFT JOIN users ON users.id = COALESCE(r.user_id, a.user_id)
LEFT JOIN groups ON groups.id = COALESCE(r.effective_group_id, a.effective_group_id)
WHERE COALESCE(r.rows_micros, 0) != COALESCE(a.spend_micros, 0)
ORDER BY day, user_username, group_name;

-- name: ListDeploymentBudgets :many
-- Each (user, effective group) with stored costs in the window, with the limit that applies:
-- the user's override for that group, else the group's budget (NULL: no budget enforced).
SELECT aibridge_interceptions.initiator_id AS user_id, users.username AS user_username,
       tu.effective_group_id, groups.name AS group_name,
       COALESCE(sum(tu.cost_micros), 0)::bigint AS spend_micros,
       COALESCE(o.spend_limit_micros, b.spend_limit_micros) AS limit_micros,
       CASE WHEN o.spend_limit_micros IS NOT NULL THEN 'override' WHEN b.spend_limit_micros IS NOT NULL THEN 'group' END
           AS limit_source
FROM aibridge_token_usages tu
JOIN aibridge_interceptions ON aibridge_interceptions.id = tu.interception_id
LEFT JOIN users ON users.id = aibridge_interceptions.initiator_id
LEFT JOIN groups ON groups.id = tu.effective_group_id
LEFT JOIN user_ai_budget_overrides o
    ON o.user_id = aibridge_interceptions.initiator_id AND o.group_id = tu.effective_group_id
LEFT JOIN group_ai_budgets b ON b.group_id = tu.effective_group_id
WHERE tu.effective_group_id IS NOT NULL
    AND tu.created_at >= @since::timestamptz AND tu.created_at < @until::timestamptz
    AND CASE
        WHEN @initiator_id::uuid != '00000000-0000-0000-0000-000000000000'::uuid
        THEN aibridge_interceptions.initiator_id = @initiator_id::uuid
        ELSE true
    END
    -- @authorize_filter
GROUP BY 1, 2, 3, 4, o.spend_limit_micros, b.spend_limit_micros
ORDER BY 1, 3;

-- name: SetSpendWorkMem :exec
-- Room for the groups' hash tables (one per session with --by session), for this transaction only.
SELECT set_config('work_mem', COALESCE(NULLIF(@work_mem::text, ''), current_setting('work_mem')), true);
