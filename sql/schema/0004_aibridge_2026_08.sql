-- The AI Bridge tables move to the layout of a deployment at 2026-08 (coder/coder e751b285;
-- the spec's schema-2026-08.sql): the enums, the interceptions' provider instance name,
-- credential, agent-firewall link and error columns, the token usages' cache and price columns,
-- the tool usages' provider item id, and the foreign key from initiator_id to users.
--
-- Only in a database aibridge set up itself. A Coder deployment's database (it has workspaces
-- or templates) is never altered: its tables belong to Coder, whose own migrations add these
-- columns and types (a type created here first would make Coder's upgrade fail). A deployment
-- still on the seed's layout therefore keeps its layout, and the read queries treat the newer
-- columns as absent there (see the rationale comments in sql/queries/*.sql).
--
-- The embedded users table stays the part of a deployment's users table that the AI Bridge
-- queries read (0001): hashed_password, login_type and the rest belong to Coder's login.
DO $$
BEGIN
    IF to_regclass('workspaces') IS NOT NULL OR to_regclass('templates') IS NOT NULL THEN
        RETURN;
    END IF;

    IF to_regtype('aibridge_interception_error_type') IS NULL THEN
        CREATE TYPE aibridge_interception_error_type AS ENUM (
            'bad_request', 'unauthorized', 'rate_limited', 'overloaded', 'server_error', 'timeout', 'unknown');
    END IF;
    IF to_regtype('credential_kind') IS NULL THEN
        CREATE TYPE credential_kind AS ENUM ('centralized', 'byok');
    END IF;

    ALTER TABLE aibridge_interceptions
        ADD COLUMN IF NOT EXISTS provider_name text NOT NULL DEFAULT '',
        ADD COLUMN IF NOT EXISTS credential_kind credential_kind NOT NULL DEFAULT 'centralized',
        ADD COLUMN IF NOT EXISTS credential_hint varchar(15) NOT NULL DEFAULT '',
        ADD COLUMN IF NOT EXISTS agent_firewall_session_id uuid,
        ADD COLUMN IF NOT EXISTS agent_firewall_sequence_number integer,
        ADD COLUMN IF NOT EXISTS error_type aibridge_interception_error_type,
        ADD COLUMN IF NOT EXISTS error_message varchar(1024);
    CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_agent_firewall_session_seq
        ON aibridge_interceptions (agent_firewall_session_id, agent_firewall_sequence_number)
        WHERE agent_firewall_session_id IS NOT NULL;

    ALTER TABLE aibridge_token_usages
        ADD COLUMN IF NOT EXISTS cache_read_input_tokens bigint NOT NULL DEFAULT 0,
        ADD COLUMN IF NOT EXISTS cache_write_input_tokens bigint NOT NULL DEFAULT 0,
        ADD COLUMN IF NOT EXISTS effective_group_id uuid,
        ADD COLUMN IF NOT EXISTS input_price_micros bigint
            CONSTRAINT aibridge_token_usages_input_price_micros_check CHECK (input_price_micros >= 0),
        ADD COLUMN IF NOT EXISTS output_price_micros bigint
            CONSTRAINT aibridge_token_usages_output_price_micros_check CHECK (output_price_micros >= 0),
        ADD COLUMN IF NOT EXISTS cache_read_price_micros bigint
            CONSTRAINT aibridge_token_usages_cache_read_price_micros_check CHECK (cache_read_price_micros >= 0),
        ADD COLUMN IF NOT EXISTS cache_write_price_micros bigint
            CONSTRAINT aibridge_token_usages_cache_write_price_micros_check CHECK (cache_write_price_micros >= 0),
        ADD COLUMN IF NOT EXISTS cost_micros bigint
            CONSTRAINT aibridge_token_usages_cost_micros_check CHECK (cost_micros >= 0);
    CREATE INDEX IF NOT EXISTS idx_aibridge_token_usages_effective_group_id_created_at
        ON aibridge_token_usages (effective_group_id, created_at) WHERE effective_group_id IS NOT NULL;

    -- The columns are filled the way the deployment backfilled its own: cache read is the
    -- greatest of the metadata keys cache_read_input, input_cached (OpenAI Responses) and
    -- prompt_cached; cache write is cache_creation_input. Non-numeric values count as absent.
    UPDATE aibridge_token_usages AS t
    SET cache_read_input_tokens = GREATEST(
            CASE WHEN jsonb_typeof(t.metadata -> 'cache_read_input') = 'number'
                 THEN (t.metadata ->> 'cache_read_input')::numeric::bigint END,
            CASE WHEN jsonb_typeof(t.metadata -> 'input_cached') = 'number'
                 THEN (t.metadata ->> 'input_cached')::numeric::bigint END,
            CASE WHEN jsonb_typeof(t.metadata -> 'prompt_cached') = 'number'
                 THEN (t.metadata ->> 'prompt_cached')::numeric::bigint END,
            0),
        cache_write_input_tokens = GREATEST(
            CASE WHEN jsonb_typeof(t.metadata -> 'cache_creation_input') = 'number'
                 THEN (t.metadata ->> 'cache_creation_input')::numeric::bigint END,
            0)
    WHERE t.metadata ?| ARRAY['cache_read_input', 'input_cached', 'prompt_cached', 'cache_creation_input']
      AND t.cache_read_input_tokens = 0 AND t.cache_write_input_tokens = 0;

    ALTER TABLE aibridge_tool_usages ADD COLUMN IF NOT EXISTS provider_item_id text;

    -- The deployment's foreign key from the initiator to users. Rows written before it whose
    -- initiator is not a user keep their place: the key then checks new rows only (NOT VALID).
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'aibridge_interceptions_initiator_id_fkey'
                     AND conrelid = 'aibridge_interceptions'::regclass) THEN
        IF EXISTS (SELECT 1 FROM aibridge_interceptions AS i
                   WHERE NOT EXISTS (SELECT 1 FROM users AS u WHERE u.id = i.initiator_id)) THEN
            ALTER TABLE aibridge_interceptions ADD CONSTRAINT aibridge_interceptions_initiator_id_fkey
                FOREIGN KEY (initiator_id) REFERENCES users (id) NOT VALID;
        ELSE
            ALTER TABLE aibridge_interceptions ADD CONSTRAINT aibridge_interceptions_initiator_id_fkey
                FOREIGN KEY (initiator_id) REFERENCES users (id);
        END IF;
    END IF;
END
$$;
