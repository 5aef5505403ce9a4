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

-- name: DemoDropIndexes :exec
-- Loading into empty tables: their secondary indexes are dropped here and rebuilt by
-- DemoRestoreIndexes after the load, which is about twice as fast as updating them row by
-- row. The definitions are kept exactly as the catalog has them, in a temporary table
-- that goes away with the transaction. Only indexes the current role may drop.
DO $$
DECLARE
    r record;
BEGIN
    CREATE TEMP TABLE aibridge_demo_indexes ON COMMIT DROP AS
    SELECT n.nspname AS schema_name, c.relname AS index_name, pg_get_indexdef(i.indexrelid) AS definition
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE i.indrelid IN (to_regclass('aibridge_interceptions'), to_regclass('aibridge_token_usages'),
                         to_regclass('aibridge_user_prompts'), to_regclass('aibridge_tool_usages'),
                         to_regclass('aibridge_model_thoughts'))
      AND NOT i.indisprimary AND NOT i.indisunique
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
      AND pg_has_role(c.relowner, 'USAGE');
    FOR r IN SELECT schema_name, index_name FROM aibridge_demo_indexes LOOP
        EXECUTE format('DROP INDEX %I.%I', r.schema_name, r.index_name);
    END LOOP;
END
$$;

-- name: DemoRestoreIndexes :exec
-- Rebuilds what DemoDropIndexes dropped (nothing when it did not run).
DO $$
DECLARE
    r record;
BEGIN
    IF to_regclass('pg_temp.aibridge_demo_indexes') IS NULL THEN
        RETURN;
    END IF;
    PERFORM set_config('maintenance_work_mem', '256MB', true);
    FOR r IN SELECT definition FROM pg_temp.aibridge_demo_indexes LOOP
        EXECUTE r.definition;
    END LOOP;
    DROP TABLE pg_temp.aibridge_demo_indexes;
END
$$;

-- name: DemoExistingInterceptions :one
-- How many interceptions there are, counting no further than @cap.
SELECT count(*) AS existing FROM (SELECT 1 FROM aibridge_interceptions LIMIT @cap::bigint) t;
