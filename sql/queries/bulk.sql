-- COPY statements for bulk loads (record import, demo). Column lists are the order in
-- which aibridge_cli.bulk expects each row's values.

-- name: CopyUsers :exec
COPY users (id, username, name, avatar_url, email, rbac_roles, deleted, created_at, updated_at) FROM STDIN;

-- name: CopyInterceptions :exec
COPY aibridge_interceptions (id, initiator_id, provider, model, started_at, metadata, ended_at, api_key_id,
                             client, thread_parent_id, thread_root_id, client_session_id) FROM STDIN;

-- name: CopyTokenUsages :exec
COPY aibridge_token_usages (id, interception_id, provider_response_id, input_tokens, output_tokens, metadata,
                            created_at) FROM STDIN;

-- name: CopyUserPrompts :exec
COPY aibridge_user_prompts (id, interception_id, provider_response_id, prompt, metadata, created_at) FROM STDIN;

-- name: CopyToolUsages :exec
COPY aibridge_tool_usages (id, interception_id, provider_response_id, server_url, tool, input, injected,
                           invocation_error, metadata, created_at, provider_tool_call_id) FROM STDIN;

-- name: CopyModelThoughts :exec
COPY aibridge_model_thoughts (interception_id, content, metadata, created_at) FROM STDIN;

-- The 2026-08 layout's variants: the seed's columns, then the newer ones (record import formats
-- its rows for the layout present; data/layout.py).

-- name: CopyInterceptionsV2026 :exec
COPY aibridge_interceptions (id, initiator_id, provider, model, started_at, metadata, ended_at, api_key_id,
                             client, thread_parent_id, thread_root_id, client_session_id, provider_name,
                             credential_kind, credential_hint, agent_firewall_session_id,
                             agent_firewall_sequence_number, error_type, error_message) FROM STDIN;

-- name: CopyTokenUsagesV2026 :exec
COPY aibridge_token_usages (id, interception_id, provider_response_id, input_tokens, output_tokens, metadata,
                            created_at, cache_read_input_tokens, cache_write_input_tokens) FROM STDIN;

-- name: CopyToolUsagesV2026 :exec
COPY aibridge_tool_usages (id, interception_id, provider_response_id, server_url, tool, input, injected,
                           invocation_error, metadata, created_at, provider_tool_call_id, provider_item_id) FROM STDIN;
