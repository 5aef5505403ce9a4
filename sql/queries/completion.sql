-- Values for shell completion: what a user is likely to type after --model, -u, --client and
-- --provider. Completion must answer in well under a second, so each list reads only the
-- last 30 days of interceptions (an index range on started_at) and is cut to the most used.

-- name: CompleteModels :many
SELECT model AS value
FROM aibridge_interceptions
WHERE started_at >= now() - interval '30 days'
GROUP BY model
ORDER BY count(*) DESC, model
LIMIT 200;

-- name: CompleteProviders :many
SELECT provider AS value
FROM aibridge_interceptions
WHERE started_at >= now() - interval '30 days'
GROUP BY provider
ORDER BY count(*) DESC, provider
LIMIT 50;

-- name: CompleteClients :many
SELECT COALESCE(client, 'Unknown') AS value
FROM aibridge_interceptions
WHERE started_at >= now() - interval '30 days'
GROUP BY COALESCE(client, 'Unknown')
ORDER BY count(*) DESC, 1
LIMIT 50;

-- name: CompleteUsernames :many
SELECT username AS value
FROM users
WHERE NOT deleted
ORDER BY username
LIMIT 1000;
