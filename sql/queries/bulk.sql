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
