-- Which layout the database has: the seed's (2026-03), or a deployment's at 2026-08 (see
-- docs/deployment.md). Read once per command that writes or shows the newer columns; the read
-- queries themselves run on either layout (the absent_columns scoping, telemetry.sql's top).

-- name: GetAIBridgeLayout :one
SELECT
    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass('aibridge_interceptions')
            AND a.attname = 'provider_name' AND NOT a.attisdropped) AS interception_columns,
    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass('aibridge_token_usages')
            AND a.attname = 'cache_read_input_tokens' AND NOT a.attisdropped) AS token_cache_columns,
    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass('aibridge_tool_usages')
            AND a.attname = 'provider_item_id' AND NOT a.attisdropped) AS tool_item_column,
    to_regclass('boundary_logs') IS NOT NULL AS boundary_logs,
    -- Coder's own users table: a login of its own (hashed_password, login_type, ...).
    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass('users')
            AND a.attname = 'hashed_password' AND NOT a.attisdropped) AS coder_users;
