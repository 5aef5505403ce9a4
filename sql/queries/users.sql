-- Users, as the deployment's users table holds them.

-- name: GetUserByUsername :one
SELECT id, username, name, avatar_url, email, rbac_roles, deleted
FROM users
WHERE username = @username::text AND deleted = false;

-- name: InsertUser :one
-- `aibridge users add`. A clash on the id or on a live username returns no row.
INSERT INTO users (id, username, name, avatar_url, email, rbac_roles, deleted, created_at, updated_at)
SELECT @id::uuid, @username::text, @display_name::text, @avatar_url::text, @email::text, @rbac_roles::text[], false,
       now(), now()
WHERE NOT EXISTS (SELECT 1 FROM users AS u WHERE u.username = @username::text AND NOT u.deleted)
ON CONFLICT DO NOTHING
RETURNING id, username, name, email, avatar_url, rbac_roles, created_at;

-- name: ListUsers :many
-- `aibridge users list`: live users by username; with include_deleted, the deleted ones too.
-- only_id (with `--as` a member): that user's own row, as a member's own role reads `users`.
SELECT u.id, u.username, u.name, u.email, u.avatar_url, u.rbac_roles, u.deleted, u.created_at
FROM users AS u
WHERE (@include_deleted::boolean OR NOT u.deleted)
  AND (@role::text = '' OR @role::text = ANY(u.rbac_roles))
  AND (@only_id::uuid = '00000000-0000-0000-0000-000000000000'::uuid OR u.id = @only_id::uuid)
  -- `--since`: only users with an interception started since then; the zero time means everyone.
  AND (@started_after::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
       OR EXISTS (SELECT 1 FROM aibridge_interceptions AS i
                  WHERE i.initiator_id = u.id AND i.started_at >= @started_after::timestamptz))
ORDER BY u.username, u.deleted, u.id;

-- name: GetUserByID :one
SELECT id, username, name, avatar_url, email, rbac_roles, deleted
FROM users
WHERE id = @id::uuid;
