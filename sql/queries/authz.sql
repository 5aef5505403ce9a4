-- Access control: the `--as USER` row filter, and `aibridge db grant/revoke`, which create
-- PostgreSQL login roles and enforce the same rule with row-level security.

-- name: AuthorizeFilter :many
-- The rule `--as` applies: the text after the `-- @predicate` line replaces the line
-- `-- @authorize_filter` of every list query (as `AND (...)`), with aibridge_interceptions in
-- scope under that name. Kept as a runnable query so that the contract tests check it.
SELECT aibridge_interceptions.id
FROM aibridge_interceptions
WHERE
-- @predicate
aibridge_interceptions.initiator_id = @authz_user_id::uuid

-- name: GetAccessSubject :one
-- The user `--as` or `db grant` names: by id when one is given, else by username.
SELECT id, username, rbac_roles, deleted
FROM users
WHERE CASE WHEN @id::uuid != '00000000-0000-0000-0000-000000000000'::uuid
           THEN id = @id::uuid
           ELSE username = @username::text AND deleted = false
      END
ORDER BY deleted, updated_at DESC
LIMIT 1;

-- name: AccessPreflight :one
-- What `db grant`/`db revoke` must know before touching anything: may the current role create
-- roles, and does it own the tables whose row-level security it installs.
SELECT current_user AS role_name,
       r.rolsuper AS superuser,
       (r.rolsuper OR r.rolcreaterole) AS can_create_roles,
       COALESCE(array_agg(t.name ORDER BY t.name) FILTER (
           WHERE to_regclass(t.name) IS NOT NULL
             AND NOT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = to_regclass(t.name)), 'USAGE')
       ), '{}')::text[] AS not_owned
FROM pg_roles r,
     unnest(ARRAY['users', 'aibridge_interceptions', 'aibridge_token_usages', 'aibridge_user_prompts',
                  'aibridge_tool_usages', 'aibridge_model_thoughts']) AS t(name)
WHERE r.rolname = current_user
GROUP BY r.rolsuper, r.rolcreaterole;

-- name: AccessRoleState :one
-- Whether a login role exists, whether aibridge made it (its comment says so; role comments,
-- like roles, are shared by every database of the server), and whether it has access here.
SELECT r.oid IS NOT NULL AS exists,
       COALESCE(shobj_description(r.oid, 'pg_authid') LIKE 'aibridge login role%', false) AS managed,
       COALESCE(r.rolcanlogin, false) AS can_login,
       COALESCE(to_regclass('aibridge_interceptions') IS NOT NULL
                AND has_table_privilege(r.oid, 'aibridge_interceptions', 'SELECT, INSERT'), false) AS granted_here
FROM (SELECT 1) AS one
LEFT JOIN pg_roles r ON r.rolname = @role_name::text;

-- name: InstallAccessControl :exec
-- Idempotent. Row-level security is enabled on the AI Bridge tables and users with one
-- permissive policy that lets every role through: roles that aibridge did not create keep
-- exactly the access they had. What narrows a member's rows are restrictive policies added per
-- login role by GrantAccess. Owners are not subject to row-level security (not FORCEd).
DO $$
DECLARE
    t text;
BEGIN
    CREATE TABLE IF NOT EXISTS aibridge_access_roles (
        role_name text PRIMARY KEY,
        user_id uuid NOT NULL,
        access text NOT NULL CHECK (access IN ('member', 'auditor', 'recorder')),
        granted_at timestamptz NOT NULL DEFAULT now()
    );
    REVOKE ALL ON aibridge_access_roles FROM PUBLIC;
    FOREACH t IN ARRAY ARRAY['users', 'aibridge_interceptions', 'aibridge_token_usages', 'aibridge_user_prompts',
                             'aibridge_tool_usages', 'aibridge_model_thoughts'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = to_regclass(t) AND polname = 'aibridge_unrestricted') THEN
            EXECUTE format('CREATE POLICY aibridge_unrestricted ON %I AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true)', t);
        END IF;
    END LOOP;
END
$$;

-- name: SetAccessParameters :exec
-- A DO block takes no parameters: GrantAccess and RevokeAccess read these transaction-local
-- settings. The password is a SCRAM verifier computed by the client, never the password.
SELECT set_config('aibridge.access_role', @role_name::text, true),
       set_config('aibridge.access_user', @user_id::text, true),
       set_config('aibridge.access_level', @access::text, true),
       set_config('aibridge.access_password', @password_verifier::text, true);

-- name: GrantAccess :exec
-- Creates (or updates) the login role and gives it exactly one access level in this database:
--   member   reads users/visible_users and the AI Bridge tables, restricted to its user's
--            interceptions and their child rows (restrictive policies), writes nothing;
--   auditor  reads everything, writes nothing;
--   recorder inserts every record type, may set ended_at, reads interceptions, users and
--            token usages, and of the other child tables every column but the content:
--            never prompts, tool inputs or thoughts.
-- No role gets DELETE, TRUNCATE or DDL: only the tables' owner can prune or migrate.
DO $$
DECLARE
    r text := current_setting('aibridge.access_role', true);
    uid uuid := NULLIF(current_setting('aibridge.access_user', true), '')::uuid;
    lvl text := current_setting('aibridge.access_level', true);
    pw text := current_setting('aibridge.access_password', true);
    pol text;
    t text;
    everything text[] := ARRAY['users', 'aibridge_interceptions', 'aibridge_token_usages', 'aibridge_user_prompts',
                               'aibridge_tool_usages', 'aibridge_model_thoughts'];
    children text[] := ARRAY['aibridge_token_usages', 'aibridge_user_prompts', 'aibridge_tool_usages',
                             'aibridge_model_thoughts'];
BEGIN
    IF COALESCE(r, '') = '' OR uid IS NULL THEN
        RETURN;  -- nothing asked for
    END IF;
    IF lvl NOT IN ('member', 'auditor', 'recorder') THEN
        RAISE EXCEPTION 'unknown access level %', lvl USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
        EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', r);
    ELSE
        EXECUTE format('ALTER ROLE %I LOGIN', r);
    END IF;
    EXECUTE format('COMMENT ON ROLE %I IS %L', r, 'aibridge login role, managed by aibridge db grant/revoke');
    IF COALESCE(pw, '') != '' THEN
        EXECUTE format('ALTER ROLE %I PASSWORD %L', r, pw);
    END IF;

    -- Start from nothing in this database, then grant the level asked for.
    pol := format('aibridge_member_%s', (SELECT oid FROM pg_roles WHERE rolname = r));
    FOREACH t IN ARRAY everything LOOP
        EXECUTE format('REVOKE ALL ON %I FROM %I', t, r);
        EXECUTE format('DROP POLICY IF EXISTS %I ON %I', pol, t);
    END LOOP;
    EXECUTE format('REVOKE ALL ON visible_users FROM %I', r);
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), r);
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), r);
    IF to_regclass('aibridge_schema_migrations') IS NOT NULL THEN
        -- So that 'aibridge db status' works for every granted role; it holds no data.
        EXECUTE format('GRANT SELECT ON aibridge_schema_migrations TO %I', r);
    END IF;

    IF lvl IN ('member', 'auditor') THEN
        FOREACH t IN ARRAY everything LOOP
            EXECUTE format('GRANT SELECT ON %I TO %I', t, r);
        END LOOP;
        EXECUTE format('GRANT SELECT ON visible_users TO %I', r);
    END IF;
    IF lvl = 'member' THEN
        EXECUTE format('CREATE POLICY %I ON aibridge_interceptions AS RESTRICTIVE FOR ALL TO %I USING (initiator_id = %L::uuid) WITH CHECK (initiator_id = %L::uuid)',
                       pol, r, uid, uid);
        FOREACH t IN ARRAY children LOOP
            EXECUTE format('CREATE POLICY %I ON %I AS RESTRICTIVE FOR ALL TO %I USING (interception_id IN (SELECT id FROM aibridge_interceptions WHERE initiator_id = %L::uuid)) WITH CHECK (false)',
                           pol, t, r, uid);
        END LOOP;
        EXECUTE format('CREATE POLICY %I ON users AS RESTRICTIVE FOR ALL TO %I USING (id = %L::uuid) WITH CHECK (false)', pol, r, uid);
    ELSIF lvl = 'recorder' THEN
        EXECUTE format('GRANT SELECT, INSERT ON aibridge_interceptions TO %I', r);
        -- Ending an interception; on the 2026-08 layout also its error and centralized credential hint.
        EXECUTE format('GRANT UPDATE (%s) ON aibridge_interceptions TO %I', (
            SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
            WHERE a.attrelid = 'aibridge_interceptions'::regclass AND NOT a.attisdropped
              AND a.attname IN ('ended_at', 'credential_hint', 'error_type', 'error_message')), r);
        FOREACH t IN ARRAY children LOOP
            EXECUTE format('GRANT INSERT ON %I TO %I', t, r);
        END LOOP;
        -- Every column but the content: enough for the lineage lookup, ON CONFLICT and
        -- RETURNING of what was written; prompts, tool inputs and thoughts stay unreadable.
        EXECUTE format('GRANT SELECT ON aibridge_token_usages TO %I', r);
        EXECUTE format('GRANT SELECT (id, interception_id, provider_response_id, metadata, created_at) ON aibridge_user_prompts TO %I', r);
        EXECUTE format('GRANT SELECT (id, interception_id, provider_response_id, provider_tool_call_id, tool, server_url, injected, invocation_error, metadata, created_at%s) ON aibridge_tool_usages TO %I',
                       CASE WHEN EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = 'aibridge_tool_usages'::regclass
                                         AND a.attname = 'provider_item_id' AND NOT a.attisdropped)
                            THEN ', provider_item_id' ELSE '' END, r);
        EXECUTE format('GRANT SELECT (interception_id, metadata, created_at) ON aibridge_model_thoughts TO %I', r);
        EXECUTE format('GRANT SELECT ON users, visible_users TO %I', r);
    END IF;

    INSERT INTO aibridge_access_roles (role_name, user_id, access) VALUES (r, uid, lvl)
    ON CONFLICT (role_name) DO UPDATE SET user_id = EXCLUDED.user_id, access = EXCLUDED.access, granted_at = now();
END
$$;

-- name: RevokeAccess :exec
-- Takes everything GrantAccess gave in this database, forgets the mapping, and drops the
-- login role unless it still holds rights elsewhere (another database of the same server).
DO $$
DECLARE
    r text := current_setting('aibridge.access_role', true);
    pol text;
    t text;
BEGIN
    IF COALESCE(r, '') = '' OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
        RETURN;
    END IF;
    pol := format('aibridge_member_%s', (SELECT oid FROM pg_roles WHERE rolname = r));
    FOREACH t IN ARRAY ARRAY['users', 'aibridge_interceptions', 'aibridge_token_usages', 'aibridge_user_prompts',
                             'aibridge_tool_usages', 'aibridge_model_thoughts'] LOOP
        IF to_regclass(t) IS NOT NULL THEN
            EXECUTE format('REVOKE ALL ON %I FROM %I', t, r);
            EXECUTE format('DROP POLICY IF EXISTS %I ON %I', pol, t);
        END IF;
    END LOOP;
    IF to_regclass('visible_users') IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON visible_users FROM %I', r);
    END IF;
    IF to_regclass('aibridge_schema_migrations') IS NOT NULL THEN
        EXECUTE format('REVOKE ALL ON aibridge_schema_migrations FROM %I', r);
    END IF;
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM %I', current_database(), r);
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', current_schema(), r);
    IF to_regclass('aibridge_access_roles') IS NOT NULL THEN
        DELETE FROM aibridge_access_roles WHERE role_name = r;
    END IF;
    BEGIN
        EXECUTE format('DROP ROLE %I', r);
    EXCEPTION WHEN dependent_objects_still_exist THEN
        NULL;  -- still used by another database of this server: keep it
    END;
END
$$;
