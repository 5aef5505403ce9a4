-- Sessions as the deployment (2026-08) shows them: ordered by last activity, with cache tokens,
-- a session's threads paged, and the agent firewall's network calls (boundary_logs).
-- The cache rule is telemetry.sql's (the column above zero, else the greatest metadata key);
-- the filter block is the one every sessions query shares (sessions.sql).

-- name: ListAIBridgeSessionsByLastActive :many
-- `sessions list --sort last-active`: a session's last activity is its latest prompt's time,
-- falling back to its start; newest first, then session_id and initiator descending (the
-- deployment orders by (last_active_at, session_id) and pages by session_id alone, which is
-- ambiguous when two users share a key). threads counts distinct thread roots, as the seed's
-- list does (the deployment counts interceptions without a root, which differs where a root
-- is outside the filters). Paged by limit and offset.
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
page AS (
    SELECT fi.session_id, fi.initiator_id,
        min(fi.started_at) AS started_at,
        max(fi.ended_at) AS ended_at,
        count(DISTINCT COALESCE(fi.thread_root_id, fi.id)) AS threads,
        COALESCE(max(latest.created_at), min(fi.started_at)) AS last_active_at,
        array_agg(fi.id) AS ids
    FROM fi
    JOIN visible_users ON visible_users.id = fi.initiator_id
    LEFT JOIN LATERAL (
        SELECT up.created_at FROM aibridge_user_prompts up
        WHERE up.interception_id = fi.id
        ORDER BY up.created_at DESC
        LIMIT 1
    ) latest ON true
    GROUP BY fi.session_id, fi.initiator_id
    ORDER BY last_active_at DESC, fi.session_id DESC, fi.initiator_id DESC
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
    page.ended_at::timestamptz AS ended_at,
    page.threads,
    COALESCE(tokens.input_tokens, 0)::bigint AS input_tokens,
    COALESCE(tokens.output_tokens, 0)::bigint AS output_tokens,
    COALESCE(tokens.cache_read_tokens, 0)::bigint AS cache_read_tokens,
    COALESCE(tokens.cache_write_tokens, 0)::bigint AS cache_write_tokens,
    COALESCE(last_prompt.prompt, '') AS last_prompt,
    page.last_active_at::timestamptz AS last_active_at
FROM (SELECT NULL::bigint AS cache_read_input_tokens, NULL::bigint AS cache_write_input_tokens) AS absent_columns
CROSS JOIN page
JOIN visible_users ON visible_users.id = page.initiator_id
CROSS JOIN LATERAL (
    SELECT
        (array_agg(fi.client ORDER BY fi.started_at, fi.id))[1] AS client,
        (array_agg(fi.metadata ORDER BY fi.started_at, fi.id))[1] AS metadata,
        array_agg(DISTINCT fi.provider ORDER BY fi.provider) AS providers,
        array_agg(DISTINCT fi.model ORDER BY fi.model) AS models
    FROM fi
    WHERE fi.id = ANY(page.ids)
) agg
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
        WHERE t.interception_id = ANY(page.ids)
    ) tu
) tokens ON true
LEFT JOIN LATERAL (
    SELECT up.prompt
    FROM aibridge_user_prompts up
    WHERE up.interception_id = ANY(page.ids)
    ORDER BY up.created_at DESC, up.id DESC
    LIMIT 1
) last_prompt ON true
ORDER BY page.last_active_at DESC, page.session_id DESC, page.initiator_id DESC;

-- name: GetAIBridgeSessionsNetworkSummary :many
-- Where boundary_logs exists: per (session, initiator) of a page, the agent firewall's network
-- calls attributed to it and whether any of its interceptions went through the firewall. An
-- interception's calls are the firewall session's logs in the open interval (its sequence
-- number, the next interception's in the same firewall session), as the deployment counts them;
-- blocked calls are those no allow rule matched.
SELECT
    keys.session_id,
    keys.initiator_id,
    bool_or(i.agent_firewall_session_id IS NOT NULL) AS firewall_active,
    COALESCE(sum(calls.total), 0)::bigint AS network_calls_total,
    COALESCE(sum(calls.blocked), 0)::bigint AS network_calls_blocked
FROM unnest(@session_ids::text[], @initiator_ids::uuid[]) AS keys(session_id, initiator_id)
JOIN aibridge_interceptions i
  ON i.session_id = keys.session_id AND i.initiator_id = keys.initiator_id AND i.ended_at IS NOT NULL
LEFT JOIN LATERAL (
    SELECT count(*) AS total, count(*) FILTER (WHERE bl.matched_rule IS NULL) AS blocked
    FROM boundary_logs bl
    WHERE i.agent_firewall_session_id IS NOT NULL AND i.agent_firewall_sequence_number IS NOT NULL
      AND bl.session_id = i.agent_firewall_session_id
      AND bl.sequence_number > i.agent_firewall_sequence_number
      AND bl.sequence_number < (
          SELECT COALESCE(min(nxt.agent_firewall_sequence_number), 2147483647)
          FROM aibridge_interceptions nxt
          WHERE nxt.agent_firewall_session_id = i.agent_firewall_session_id
            AND nxt.agent_firewall_sequence_number > i.agent_firewall_sequence_number)
) calls ON true
GROUP BY keys.session_id, keys.initiator_id;

-- name: ListAIBridgeSessionNetworkCalls :many
-- `sessions show --network`: the session's firewall network calls (all protocols), oldest first,
-- windowed per interception as above; capped at @limit_ (1000 when 0).
SELECT bl.id, bl.session_id AS firewall_session_id, bl.sequence_number, bl.created_at, bl.captured_at, bl.proto,
       bl.method, bl.detail, bl.matched_rule, bl.matched_rule IS NULL AS blocked, i.id AS interception_id
FROM aibridge_interceptions i
JOIN boundary_logs bl
  ON bl.session_id = i.agent_firewall_session_id
 AND bl.sequence_number > i.agent_firewall_sequence_number
 AND bl.sequence_number < (
     SELECT COALESCE(min(nxt.agent_firewall_sequence_number), 2147483647)
     FROM aibridge_interceptions nxt
     WHERE nxt.agent_firewall_session_id = i.agent_firewall_session_id
       AND nxt.agent_firewall_sequence_number > i.agent_firewall_sequence_number)
WHERE i.session_id = @session_id::text
  AND i.initiator_id = @initiator_id::uuid
  AND i.ended_at IS NOT NULL
  AND i.agent_firewall_session_id IS NOT NULL
  AND i.agent_firewall_sequence_number IS NOT NULL
  -- @authorize_filter
ORDER BY bl.created_at ASC, bl.sequence_number ASC, bl.id ASC
LIMIT COALESCE(NULLIF(@limit_::integer, 0), 1000);

-- name: GetAIBridgeSessionTopDomains :many
-- `sessions show --network`: the most contacted hosts of the session's HTTP calls (scheme and
-- port stripped), most calls first, with the number of distinct hosts; top @limit_ (5 when 0).
WITH hosts AS (
    SELECT substring(bl.detail from '^(?:[A-Za-z][A-Za-z0-9+.-]*://)?([^/:?#]+)') AS domain
    FROM aibridge_interceptions i
    JOIN boundary_logs bl
      ON bl.session_id = i.agent_firewall_session_id
     AND bl.sequence_number > i.agent_firewall_sequence_number
     AND bl.sequence_number < (
         SELECT COALESCE(min(nxt.agent_firewall_sequence_number), 2147483647)
         FROM aibridge_interceptions nxt
         WHERE nxt.agent_firewall_session_id = i.agent_firewall_session_id
           AND nxt.agent_firewall_sequence_number > i.agent_firewall_sequence_number)
    WHERE i.session_id = @session_id::text
      AND i.initiator_id = @initiator_id::uuid
      AND i.ended_at IS NOT NULL
      AND i.agent_firewall_session_id IS NOT NULL
      AND i.agent_firewall_sequence_number IS NOT NULL
      AND bl.proto = 'http'
      -- @authorize_filter
),
counted AS (
    SELECT domain, count(*)::bigint AS count FROM hosts WHERE domain IS NOT NULL AND domain != '' GROUP BY domain
)
SELECT domain::text AS domain, count, count(*) OVER ()::bigint AS total_domains
FROM counted
ORDER BY count DESC, domain ASC
LIMIT COALESCE(NULLIF(@limit_::integer, 0), 5);

-- name: ListAIBridgeSessionThreads :many
-- `sessions show` paged by thread, as the deployment's ListAIBridgeSessionThreads: a thread is
-- one of the session's interceptions without a thread_root_id; oldest first by (started_at, id),
-- strictly after @after_id and before @before_id (threads' ids), @limit_ of them (50 when 0).
SELECT aibridge_interceptions.id AS thread_id, aibridge_interceptions.started_at
FROM aibridge_interceptions
WHERE aibridge_interceptions.session_id = @session_id::text
  AND aibridge_interceptions.initiator_id = @initiator_id::uuid
  AND aibridge_interceptions.ended_at IS NOT NULL
  AND aibridge_interceptions.thread_root_id IS NULL
  AND (@after_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
       OR (aibridge_interceptions.started_at, aibridge_interceptions.id) > (
           (SELECT t.started_at FROM aibridge_interceptions t WHERE t.id = @after_id::uuid), @after_id::uuid))
  AND (@before_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid
       OR (aibridge_interceptions.started_at, aibridge_interceptions.id) < (
           (SELECT t.started_at FROM aibridge_interceptions t WHERE t.id = @before_id::uuid), @before_id::uuid))
  -- @authorize_filter
ORDER BY aibridge_interceptions.started_at ASC, aibridge_interceptions.id ASC
LIMIT COALESCE(NULLIF(@limit_::integer, 0), 50);
