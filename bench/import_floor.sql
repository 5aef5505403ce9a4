-- Read back what bench/bench_import.py imported, in the column order of the COPY statements
-- in sql/queries/bulk.sql, to time the server's share alone: COPY of the same rows into a
-- fresh database with the deployment's indexes. Never shipped.

-- name: BenchCopyOutUsers :exec
COPY users (id, username, name, avatar_url, email, rbac_roles, deleted, created_at, updated_at) TO STDOUT;

-- name: BenchCopyOutInterceptions :exec
COPY aibridge_interceptions (id, initiator_id, provider, model, started_at, metadata, ended_at, api_key_id,
                             client, thread_parent_id, thread_root_id, client_session_id) TO STDOUT;

-- name: BenchCopyOutTokenUsages :exec
COPY aibridge_token_usages (id, interception_id, provider_response_id, input_tokens, output_tokens, metadata,
                            created_at) TO STDOUT;

-- name: BenchCopyOutUserPrompts :exec
COPY aibridge_user_prompts (id, interception_id, provider_response_id, prompt, metadata, created_at) TO STDOUT;

-- name: BenchCopyOutToolUsages :exec
COPY aibridge_tool_usages (id, interception_id, provider_response_id, server_url, tool, input, injected,
                           invocation_error, metadata, created_at, provider_tool_call_id) TO STDOUT;

-- name: BenchCopyOutModelThoughts :exec
COPY aibridge_model_thoughts (interception_id, content, metadata, created_at) TO STDOUT;
