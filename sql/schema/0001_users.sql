-- The part of a deployment's users table that the AI Bridge queries read. A real
-- deployment's users table has many more columns; IF NOT EXISTS leaves it alone.
CREATE TABLE IF NOT EXISTS users (
    id uuid NOT NULL PRIMARY KEY,
    username text NOT NULL,
    name text NOT NULL DEFAULT '',
    avatar_url text NOT NULL DEFAULT '',
    email text NOT NULL,
    rbac_roles text[] NOT NULL DEFAULT '{}'::text[],
    deleted boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE UNIQUE INDEX IF NOT EXISTS idx_users_username ON users (username) WHERE deleted = false;

-- CREATE OR REPLACE would overwrite a deployment's own view definition.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'visible_users' AND relnamespace = current_schema()::regnamespace) THEN
        CREATE VIEW visible_users AS SELECT id, username, name, avatar_url FROM users;
    END IF;
END
$$;
