-- Users, as the deployment's users table holds them.

-- name: GetUserByUsername :one
SELECT id, username, name, avatar_url, email, rbac_roles, deleted
FROM users
WHERE username = @username::text AND deleted = false;
