-- A plain statement of the sessions semantics, for tests only: aggregate every filtered
-- session, then sort. ListAIBridgeSessions must return exactly this, page by page.

-- name: ReferenceSessions :many
WITH fi AS (
    SELECT *
    FROM aibridge_interceptions
    WHERE ended_at IS NOT NULL
      AND (@started_after::timestamptz = '0001-01-01 00:00:00+00' OR started_at >= @started_after::timestamptz)
      AND (@started_before::timestamptz = '0001-01-01 00:00:00+00' OR started_at <= @started_before::timestamptz)
      AND (@initiator_id::uuid = '00000000-0000-0000-0000-000000000000' OR initiator_id = @initiator_id::uuid)
      AND (@provider::text = '' OR provider = @provider::text)
      AND (@model::text = '' OR model = @model::text)
      AND (@client::text = '' OR COALESCE(client, 'Unknown') = @client::text)
      AND (@session_id::text = '' OR session_id = @session_id::text)
),
s AS (
    SELECT session_id, initiator_id,
           (array_agg(client ORDER BY started_at, id))[1] AS client,
           (array_agg(metadata ORDER BY started_at, id))[1] AS metadata,
           array_agg(DISTINCT provider ORDER BY provider) AS providers,
           array_agg(DISTINCT model ORDER BY model) AS models,
           min(started_at) AS started_at, max(ended_at) AS ended_at,
           count(DISTINCT COALESCE(thread_root_id, id)) AS threads,
           array_agg(id) AS ids
    FROM fi
    GROUP BY session_id, initiator_id
)
SELECT s.session_id, u.id AS user_id, u.username AS user_username, u.name AS user_name,
       u.avatar_url AS user_avatar_url, s.providers, s.models, COALESCE(s.client, '') AS client, s.metadata,
       s.started_at, s.ended_at, s.threads,
       COALESCE((SELECT sum(input_tokens) FROM aibridge_token_usages WHERE interception_id = ANY(s.ids)), 0)::bigint AS input_tokens,
       COALESCE((SELECT sum(output_tokens) FROM aibridge_token_usages WHERE interception_id = ANY(s.ids)), 0)::bigint AS output_tokens,
       COALESCE((SELECT prompt FROM aibridge_user_prompts WHERE interception_id = ANY(s.ids)
                 ORDER BY created_at DESC, id DESC LIMIT 1), '') AS last_prompt
FROM s
JOIN visible_users u ON u.id = s.initiator_id
ORDER BY s.started_at DESC, s.session_id DESC, s.initiator_id DESC;
