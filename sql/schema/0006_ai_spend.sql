-- The spend and price tables of a deployment at 2026-08: configured prices per provider type
-- and model (USD micro-units per million tokens), the provider instances, spend per user,
-- effective group and UTC day, groups and their budgets, and per-user overrides.
--
-- Two of the deployment's foreign keys point at tables outside AI Bridge and are left out:
-- groups.organization_id -> organizations and ai_providers.settings_key_id -> dbcrypt_keys.
-- Never created in a Coder deployment's database (see 0004).
DO $$
BEGIN
    IF to_regclass('workspaces') IS NOT NULL OR to_regclass('templates') IS NOT NULL THEN
        RETURN;
    END IF;

    IF to_regtype('ai_provider_type') IS NULL THEN
        CREATE TYPE ai_provider_type AS ENUM (
            'openai', 'anthropic', 'azure', 'bedrock', 'google', 'openai-compat', 'openrouter', 'vercel', 'copilot');
    END IF;
    IF to_regtype('group_source') IS NULL THEN
        CREATE TYPE group_source AS ENUM ('user', 'oidc');
    END IF;

    CREATE TABLE IF NOT EXISTS ai_model_prices (
        provider text NOT NULL,
        model text NOT NULL,
        input_price bigint CONSTRAINT ai_model_prices_input_price_check CHECK (input_price >= 0),
        output_price bigint CONSTRAINT ai_model_prices_output_price_check CHECK (output_price >= 0),
        cache_read_price bigint CONSTRAINT ai_model_prices_cache_read_price_check CHECK (cache_read_price >= 0),
        cache_write_price bigint CONSTRAINT ai_model_prices_cache_write_price_check CHECK (cache_write_price >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ai_model_prices_pkey PRIMARY KEY (provider, model)
    );

    CREATE TABLE IF NOT EXISTS ai_providers (
        id uuid NOT NULL DEFAULT gen_random_uuid() CONSTRAINT ai_providers_pkey PRIMARY KEY,
        type ai_provider_type NOT NULL,
        name text NOT NULL CONSTRAINT ai_providers_name_check CHECK (name ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
        display_name text,
        enabled boolean NOT NULL DEFAULT true,
        deleted boolean NOT NULL DEFAULT false,
        base_url text NOT NULL,
        settings text,
        settings_key_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        icon text NOT NULL DEFAULT ''
    );
    CREATE UNIQUE INDEX IF NOT EXISTS ai_providers_name_unique ON ai_providers (name) WHERE deleted = false;
    CREATE INDEX IF NOT EXISTS idx_ai_providers_enabled ON ai_providers (enabled) WHERE deleted = false;

    CREATE TABLE IF NOT EXISTS ai_user_daily_spend (
        user_id uuid NOT NULL,
        effective_group_id uuid NOT NULL,
        day date NOT NULL,
        spend_micros bigint NOT NULL CONSTRAINT ai_user_daily_spend_spend_micros_check CHECK (spend_micros >= 0),
        CONSTRAINT ai_user_daily_spend_pkey PRIMARY KEY (user_id, effective_group_id, day)
    );
    CREATE INDEX IF NOT EXISTS idx_ai_user_daily_spend_effective_group_id_day
        ON ai_user_daily_spend (effective_group_id, day);

    CREATE TABLE IF NOT EXISTS groups (
        id uuid NOT NULL CONSTRAINT groups_pkey PRIMARY KEY,
        name text NOT NULL,
        organization_id uuid NOT NULL,
        avatar_url text NOT NULL DEFAULT '',
        quota_allowance integer NOT NULL DEFAULT 0,
        display_name text NOT NULL DEFAULT '',
        source group_source NOT NULL DEFAULT 'user',
        chat_spend_limit_micros bigint CONSTRAINT groups_chat_spend_limit_micros_check
            CHECK (chat_spend_limit_micros IS NULL OR chat_spend_limit_micros > 0),
        CONSTRAINT groups_name_organization_id_key UNIQUE (name, organization_id)
    );

    CREATE TABLE IF NOT EXISTS group_ai_budgets (
        group_id uuid NOT NULL CONSTRAINT group_ai_budgets_pkey PRIMARY KEY
            CONSTRAINT group_ai_budgets_group_id_fkey REFERENCES groups (id) ON DELETE CASCADE,
        spend_limit_micros bigint NOT NULL CONSTRAINT group_ai_budgets_spend_limit_micros_check CHECK (spend_limit_micros >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE IF NOT EXISTS user_ai_budget_overrides (
        user_id uuid NOT NULL CONSTRAINT user_ai_budget_overrides_pkey PRIMARY KEY
            CONSTRAINT user_ai_budget_overrides_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
        group_id uuid NOT NULL
            CONSTRAINT user_ai_budget_overrides_group_id_fkey REFERENCES groups (id) ON DELETE CASCADE,
        spend_limit_micros bigint NOT NULL
            CONSTRAINT user_ai_budget_overrides_spend_limit_micros_check CHECK (spend_limit_micros >= 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    );
END
$$;
