-- Queries the tool itself needs: connection set-up, the embedded server, migrations.

-- name: SetStatementTimeout :exec
SELECT set_config('statement_timeout', @timeout_ms::integer::text, false);

-- name: DatabaseExists :one
SELECT 1 AS exists FROM pg_database WHERE datname = @name::text;

-- name: EnsureMigrationsTable :exec
CREATE TABLE IF NOT EXISTS aibridge_schema_migrations (
    version text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- name: MigrationsTableExists :one
SELECT to_regclass('aibridge_schema_migrations') IS NOT NULL AS exists;

-- name: ListAppliedMigrations :many
SELECT version, applied_at FROM aibridge_schema_migrations ORDER BY version;

-- name: RecordMigration :exec
INSERT INTO aibridge_schema_migrations (version) VALUES (@version::text)
ON CONFLICT (version) DO NOTHING;

-- name: LockMigrations :exec
-- Serialises concurrent 'db migrate' runs for the rest of the transaction.
SELECT pg_advisory_xact_lock(hashtext('aibridge_migrate'));

-- name: DeploymentTablesPresent :one
-- Which of the AI Bridge tables already exist, e.g. in a real deployment's database.
SELECT array_agg(t.name ORDER BY t.name) FILTER (WHERE to_regclass(t.name) IS NOT NULL)::text[] AS present
FROM unnest(ARRAY['users', 'visible_users', 'aibridge_interceptions', 'aibridge_token_usages',
                  'aibridge_user_prompts', 'aibridge_tool_usages', 'aibridge_model_thoughts']) AS t(name);

-- name: ServerInfo :one
SELECT current_setting('server_version') AS server_version, current_database() AS database,
       current_user AS "user", pg_size_pretty(pg_database_size(current_database())) AS size;
