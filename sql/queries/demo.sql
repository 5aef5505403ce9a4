-- The demo data set (aibridge demo): safety checks before loading, statistics after.

-- name: DemoLock :exec
-- Serialises concurrent demo loads, so two of them cannot both find the database empty.
SELECT pg_advisory_xact_lock(hashtext('aibridge_demo'));

-- name: DemoExistingData :one
SELECT EXISTS (SELECT 1 FROM users) AS users,
       EXISTS (SELECT 1 FROM aibridge_interceptions) AS interceptions;

-- name: DemoUsersTaken :one
-- How many of the users a seed would create already exist (the same seed loaded before).
SELECT count(*) AS taken FROM users WHERE id = ANY(@ids::uuid[]);

-- name: DemoUsernamesTaken :many
SELECT username FROM users WHERE username = ANY(@usernames::text[]) AND deleted = false;

-- name: DemoAnalyze :exec
-- Fresh statistics, so the first queries on the new data get good plans without
-- waiting for autovacuum.
ANALYZE users, aibridge_interceptions, aibridge_token_usages, aibridge_user_prompts,
        aibridge_tool_usages, aibridge_model_thoughts;

-- name: DemoDeploymentTables :one
-- A Coder deployment's database has these beside the AI Bridge tables; demo data must
-- never be mixed into one.
SELECT to_regclass('workspaces') IS NOT NULL AND to_regclass('templates') IS NOT NULL AS deployment;
