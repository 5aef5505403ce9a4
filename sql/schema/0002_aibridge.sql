-- The AI Bridge tables exactly as a deployment lays them out (see the spec's schema.md).
-- Child tables deliberately have no foreign key to aibridge_interceptions.
CREATE TABLE IF NOT EXISTS aibridge_interceptions (
    id uuid NOT NULL PRIMARY KEY,
    initiator_id uuid NOT NULL,
    provider text NOT NULL,
    model text NOT NULL,
    started_at timestamptz NOT NULL,
    metadata jsonb,
    ended_at timestamptz,
    api_key_id text,
    client varchar(64) DEFAULT 'Unknown',
    thread_parent_id uuid,
    thread_root_id uuid,
    client_session_id varchar(256),
    session_id text NOT NULL GENERATED ALWAYS AS (
        COALESCE(client_session_id::text, thread_root_id::text, id::text)
    ) STORED
);

CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_client ON aibridge_interceptions (client);
CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_client_session_id ON aibridge_interceptions (client_session_id) WHERE client_session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_initiator_id ON aibridge_interceptions (initiator_id);
CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_model ON aibridge_interceptions (model);
CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_provider ON aibridge_interceptions (provider);
CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_session_id ON aibridge_interceptions (session_id) WHERE ended_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_sessions_filter ON aibridge_interceptions (initiator_id, started_at DESC, id DESC) WHERE ended_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_started_id_desc ON aibridge_interceptions (started_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_thread_parent_id ON aibridge_interceptions (thread_parent_id);
CREATE INDEX IF NOT EXISTS idx_aibridge_interceptions_thread_root_id ON aibridge_interceptions (thread_root_id);

CREATE TABLE IF NOT EXISTS aibridge_token_usages (
    id uuid NOT NULL PRIMARY KEY,
    interception_id uuid NOT NULL,
    provider_response_id text NOT NULL,
    input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_aibridge_token_usages_interception_id ON aibridge_token_usages (interception_id);
CREATE INDEX IF NOT EXISTS idx_aibridge_token_usages_provider_response_id ON aibridge_token_usages (provider_response_id);

CREATE TABLE IF NOT EXISTS aibridge_user_prompts (
    id uuid NOT NULL PRIMARY KEY,
    interception_id uuid NOT NULL,
    provider_response_id text NOT NULL,
    prompt text NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_aibridge_user_prompts_interception_created ON aibridge_user_prompts (interception_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS idx_aibridge_user_prompts_interception_id ON aibridge_user_prompts (interception_id);
CREATE INDEX IF NOT EXISTS idx_aibridge_user_prompts_provider_response_id ON aibridge_user_prompts (provider_response_id);

CREATE TABLE IF NOT EXISTS aibridge_tool_usages (
    id uuid NOT NULL PRIMARY KEY,
    interception_id uuid NOT NULL,
    provider_response_id text NOT NULL,
    server_url text,
    tool text NOT NULL,
    input text NOT NULL,
    injected boolean NOT NULL DEFAULT false,
    invocation_error text,
    metadata jsonb,
    created_at timestamptz NOT NULL,
    provider_tool_call_id text
);
CREATE INDEX IF NOT EXISTS idx_aibridge_tool_usages_interception_id ON aibridge_tool_usages (interception_id);
CREATE INDEX IF NOT EXISTS idx_aibridge_tool_usages_provider_tool_call_id ON aibridge_tool_usages (provider_tool_call_id);
CREATE INDEX IF NOT EXISTS idx_aibridge_tool_usagesprovider_response_id ON aibridge_tool_usages (provider_response_id);

CREATE TABLE IF NOT EXISTS aibridge_model_thoughts (
    interception_id uuid NOT NULL,
    content text NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_aibridge_model_thoughts_interception_id ON aibridge_model_thoughts (interception_id);
