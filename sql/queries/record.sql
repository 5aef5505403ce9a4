-- Writing AI Bridge records: one at a time (`aibridge record ...`, the bridge's own
-- insert queries) and in bulk (`aibridge record import`, COPY in batches).

-- name: InsertAIBridgeInterception :one
INSERT INTO aibridge_interceptions AS i
    (id, api_key_id, initiator_id, provider, model, metadata, started_at, client, client_session_id,
     thread_parent_id, thread_root_id)
SELECT @id::uuid, sqlc.narg('api_key_id')::text, @initiator_id::uuid, @provider::text, @model::text,
       COALESCE(@metadata::jsonb, '{}'::jsonb), @started_at::timestamptz,
       COALESCE(sqlc.narg('client')::text, 'Unknown'), sqlc.narg('client_session_id')::text,
       sqlc.narg('thread_parent_interception_id')::uuid, sqlc.narg('thread_root_interception_id')::uuid
ON CONFLICT (id) DO NOTHING
RETURNING i.*;

-- name: UpdateAIBridgeInterceptionEnded :one
UPDATE aibridge_interceptions AS i
SET ended_at = @ended_at::timestamptz
WHERE i.id = @id::uuid AND i.ended_at IS NULL AND i.started_at <= @ended_at::timestamptz
RETURNING i.*;

-- ---- the 2026-08 layout's variants (data/layout.py picks them where the columns exist) ----

-- name: InsertAIBridgeInterceptionV2026 :one
-- As InsertAIBridgeInterception, with the provider instance name (the provider when empty, as a
-- deployment with one instance per provider writes it), the credential and the agent-firewall link.
INSERT INTO aibridge_interceptions AS i
    (id, api_key_id, initiator_id, provider, provider_name, model, metadata, started_at, client,
     client_session_id, thread_parent_id, thread_root_id, credential_kind, credential_hint,
     agent_firewall_session_id, agent_firewall_sequence_number)
SELECT @id::uuid, sqlc.narg('api_key_id')::text, @initiator_id::uuid, @provider::text,
       COALESCE(NULLIF(@provider_name::text, ''), @provider::text), @model::text,
       COALESCE(@metadata::jsonb, '{}'::jsonb), @started_at::timestamptz,
       COALESCE(sqlc.narg('client')::text, 'Unknown'), sqlc.narg('client_session_id')::text,
       sqlc.narg('thread_parent_interception_id')::uuid, sqlc.narg('thread_root_interception_id')::uuid,
       COALESCE(NULLIF(@credential_kind::text, ''), 'centralized')::credential_kind, @credential_hint::text,
       sqlc.narg('agent_firewall_session_id')::uuid, sqlc.narg('agent_firewall_sequence_number')::integer
ON CONFLICT (id) DO NOTHING
RETURNING i.*;

-- name: UpdateAIBridgeInterceptionEndedV2026 :one
-- As UpdateAIBridgeInterceptionEnded, with the terminal upstream error (NULL: it succeeded) and,
-- for a centralized credential, the hint known only at the end (kept when none is given; the
-- deployment's own query overwrites it with what the bridge passes).
UPDATE aibridge_interceptions AS i
SET ended_at = @ended_at::timestamptz,
    credential_hint = CASE WHEN i.credential_kind = 'centralized' AND @credential_hint::text != ''
                           THEN @credential_hint::text ELSE i.credential_hint END,
    error_type = sqlc.narg('error_type')::text::aibridge_interception_error_type,
    error_message = sqlc.narg('error_message')::text
WHERE i.id = @id::uuid AND i.ended_at IS NULL AND i.started_at <= @ended_at::timestamptz
RETURNING i.*;

-- name: InsertAIBridgeTokenUsageV2026 :one
-- As InsertAIBridgeTokenUsage, with the cache columns the deployment's readers use.
INSERT INTO aibridge_token_usages AS t
    (id, interception_id, provider_response_id, input_tokens, output_tokens, cache_read_input_tokens,
     cache_write_input_tokens, metadata, created_at)
SELECT @id::uuid, @interception_id::uuid, @provider_response_id::text, @input_tokens::bigint,
       @output_tokens::bigint, @cache_read_input_tokens::bigint, @cache_write_input_tokens::bigint,
       COALESCE(@metadata::jsonb, '{}'::jsonb), @created_at::timestamptz
ON CONFLICT (id) DO NOTHING
RETURNING t.*;

-- name: InsertAIBridgeToolUsageV2026 :one
-- As InsertAIBridgeToolUsage, with the OpenAI Responses output item id.
INSERT INTO aibridge_tool_usages AS t
    (id, interception_id, provider_response_id, provider_tool_call_id, provider_item_id, tool, server_url, input,
     injected, invocation_error, metadata, created_at)
SELECT @id::uuid, @interception_id::uuid, @provider_response_id::text, sqlc.narg('provider_tool_call_id')::text,
       sqlc.narg('provider_item_id')::text, @tool::text, sqlc.narg('server_url')::text, @input::text,
       @injected::boolean, sqlc.narg('invocation_error')::text, COALESCE(@metadata::jsonb, '{}'::jsonb),
       @created_at::timestamptz
ON CONFLICT (id) DO NOTHING
RETURNING t.id, t.interception_id, t.provider_response_id, t.server_url, t.tool, @input::text AS input, t.injected,
          t.invocation_error, t.metadata, t.created_at, t.provider_tool_call_id, t.provider_item_id;

-- name: GetAIBridgeInterceptionLineageByToolCallID :one
-- The newest tool usage that carried this call id names the parent; the parent's root
-- (or the parent itself, when it starts its thread) is the root. No row: no lineage.
SELECT p.id AS thread_parent_id, COALESCE(p.thread_root_id, p.id) AS thread_root_id
FROM (
    SELECT t.interception_id
    FROM aibridge_tool_usages AS t
    WHERE t.provider_tool_call_id = @tool_call_id::text
    ORDER BY t.created_at DESC
    LIMIT 1
) AS newest
JOIN aibridge_interceptions AS p ON p.id = newest.interception_id;

-- name: InsertAIBridgeTokenUsage :one
INSERT INTO aibridge_token_usages AS t
    (id, interception_id, provider_response_id, input_tokens, output_tokens, metadata, created_at)
SELECT @id::uuid, @interception_id::uuid, @provider_response_id::text, @input_tokens::bigint,
       @output_tokens::bigint, COALESCE(@metadata::jsonb, '{}'::jsonb), @created_at::timestamptz
ON CONFLICT (id) DO NOTHING
RETURNING t.*;

-- name: InsertAIBridgeUserPrompt :one
INSERT INTO aibridge_user_prompts AS p (id, interception_id, provider_response_id, prompt, metadata, created_at)
SELECT @id::uuid, @interception_id::uuid, @provider_response_id::text, @prompt::text,
       COALESCE(@metadata::jsonb, '{}'::jsonb), @created_at::timestamptz
ON CONFLICT (id) DO NOTHING
-- The content is echoed from the parameter, not read back: a recorder role may write prompts
-- but not SELECT them (see authz.sql).
RETURNING p.id, p.interception_id, p.provider_response_id, @prompt::text AS prompt, p.metadata, p.created_at;

-- name: InsertAIBridgeToolUsage :one
INSERT INTO aibridge_tool_usages AS t
    (id, interception_id, provider_response_id, provider_tool_call_id, tool, server_url, input, injected,
     invocation_error, metadata, created_at)
SELECT @id::uuid, @interception_id::uuid, @provider_response_id::text, sqlc.narg('provider_tool_call_id')::text,
       @tool::text, sqlc.narg('server_url')::text, @input::text, @injected::boolean,
       sqlc.narg('invocation_error')::text, COALESCE(@metadata::jsonb, '{}'::jsonb), @created_at::timestamptz
ON CONFLICT (id) DO NOTHING
RETURNING t.id, t.interception_id, t.provider_response_id, t.server_url, t.tool, @input::text AS input, t.injected,
          t.invocation_error, t.metadata, t.created_at, t.provider_tool_call_id;

-- name: InsertAIBridgeModelThought :one
INSERT INTO aibridge_model_thoughts AS m (interception_id, content, metadata, created_at)
SELECT @interception_id::uuid, @content::text, COALESCE(@metadata::jsonb, '{}'::jsonb), @created_at::timestamptz
RETURNING m.interception_id, @content::text AS content, m.metadata, m.created_at;

-- name: GetRecordInterceptionState :one
-- Why an end did not apply: the interception is missing (no row), already ended, or started later.
SELECT i.id, i.started_at, i.ended_at FROM aibridge_interceptions AS i WHERE i.id = @id::uuid;

-- name: GetRecordInterceptionRoot :one
-- The root a child of this interception belongs to: its root, or itself.
SELECT COALESCE(i.thread_root_id, i.id) AS thread_root_id FROM aibridge_interceptions AS i WHERE i.id = @id::uuid;

-- name: RecordInterceptionExists :one
SELECT EXISTS (SELECT 1 FROM aibridge_interceptions AS i WHERE i.id = @id::uuid) AS found;

-- ---- record import ---------------------------------------------------------------------
-- The import COPYs straight into the tables (see aibridge_cli/importer.py). What it must know
-- of the stored data it asks per batch, passing the batch's keys as one comma-separated text
-- (cheaper to send than an array of 20,000 values); ids come back as text, which the importer
-- compares with the file's (cheaper than building a uuid.UUID per row).

-- name: ImportPrepareSession :exec
SELECT set_config('synchronous_commit', 'off', true);

-- name: ImportKnownUsers :many
SELECT u.id, u.username, u.deleted
FROM users AS u
WHERE u.id = ANY(string_to_array(@ids::text, ',')::uuid[])
   OR (u.username = ANY(@usernames::text[]) AND NOT u.deleted);

-- name: ImportStoredInterceptions :many
SELECT i.id::text AS id, i.started_at, i.ended_at, COALESCE(i.thread_root_id, i.id)::text AS thread_root_id
FROM aibridge_interceptions AS i
WHERE i.id = ANY(string_to_array(@ids::text, ',')::uuid[]);

-- name: ImportNewestToolCalls :many
-- Per call id, the newest stored tool usage with it (the bridge's lineage lookup, for many).
-- The call ids come as one JSON array: cheaper to send than a text[] of thousands.
SELECT c.call_id AS tool_call_id, newest.created_at, newest.interception_id::text AS interception_id
FROM jsonb_array_elements_text(@tool_call_ids::jsonb) AS c(call_id)
CROSS JOIN LATERAL (
    SELECT t.interception_id, t.created_at
    FROM aibridge_tool_usages AS t
    WHERE t.provider_tool_call_id = c.call_id
    ORDER BY t.created_at DESC
    LIMIT 1
) AS newest;

-- The stored ids of a batch's child records come back the way they went: one comma-separated
-- text (a re-import asks for every id of the file; one value is far cheaper to read than a row each).

-- name: ImportStoredTokenUsageIDs :one
SELECT COALESCE(string_agg(t.id::text, ','), '') AS ids
FROM aibridge_token_usages AS t WHERE t.id = ANY(string_to_array(@ids::text, ',')::uuid[]);

-- name: ImportStoredUserPromptIDs :one
SELECT COALESCE(string_agg(p.id::text, ','), '') AS ids
FROM aibridge_user_prompts AS p WHERE p.id = ANY(string_to_array(@ids::text, ',')::uuid[]);

-- name: ImportStoredToolUsageIDs :one
SELECT COALESCE(string_agg(t.id::text, ','), '') AS ids
FROM aibridge_tool_usages AS t WHERE t.id = ANY(string_to_array(@ids::text, ',')::uuid[]);

-- name: ImportStoredThoughts :many
-- Thoughts have no id: a stored thought with the same interception, time and content is the same one.
SELECT m.interception_id::text AS interception_id, m.created_at, md5(m.content) AS content_md5
FROM aibridge_model_thoughts AS m
WHERE m.interception_id = ANY(string_to_array(@interception_ids::text, ',')::uuid[]);

-- name: ImportEndInterceptions :execrows
UPDATE aibridge_interceptions AS i
SET ended_at = e.ended_at
FROM unnest(string_to_array(@ids::text, ',')::uuid[], @ended_ats::timestamptz[]) AS e(id, ended_at)
WHERE i.id = e.id AND i.ended_at IS NULL;

-- name: ImportInterceptionErrors :execrows
-- The errors (and centralized credential hints) that interception_end lines carry, on the
-- 2026-08 layout: set on interceptions that have no error yet.
UPDATE aibridge_interceptions AS i
SET error_type = COALESCE(e.error_type::aibridge_interception_error_type, i.error_type),
    error_message = COALESCE(e.error_message, i.error_message),
    credential_hint = CASE WHEN i.credential_kind = 'centralized' AND e.credential_hint != ''
                           THEN e.credential_hint ELSE i.credential_hint END
FROM unnest(string_to_array(@ids::text, ',')::uuid[], @error_types::text[], @error_messages::text[],
            @credential_hints::text[]) AS e(id, error_type, error_message, credential_hint)
WHERE i.id = e.id AND i.error_type IS NULL;
