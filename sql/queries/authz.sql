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
