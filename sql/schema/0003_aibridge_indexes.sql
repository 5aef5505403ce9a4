-- aibridge's own indexes beyond a deployment's layout (what each is for: sql/optimize/indexes.sql,
-- which holds the same definitions for `aibridge db optimize`; a test keeps the two equal).
--
-- Built here only where that is free and harmless: a database aibridge set up itself, whose
-- interceptions table is still empty. A Coder deployment's database (it has workspaces and
-- templates), or any table that already holds rows, is left alone: a plain CREATE INDEX there
-- would block the deployment's writers for the whole build, so those databases get the indexes
-- only when someone runs `aibridge db optimize` (CREATE INDEX CONCURRENTLY), never implicitly.
DO $$
BEGIN
    IF to_regclass('workspaces') IS NULL AND to_regclass('templates') IS NULL
       AND NOT EXISTS (SELECT 1 FROM aibridge_interceptions) THEN
        CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_ended_at
            ON aibridge_interceptions (ended_at);
        CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_session_pairs
            ON aibridge_interceptions (initiator_id, session_id) WHERE ended_at IS NOT NULL;
    END IF;
END
$$;
