-- Values for shell completion: what a user is likely to type after --model, -u, --client and
-- --provider. Completion must answer in well under a second, so each list reads only the
-- last 30 days of interceptions (an index range on started_at) and is cut to the most used.

-- name: CompleteInterceptionValues :many
-- Models, providers or clients, by @field ('model', 'provider' or 'client'); @max_values cuts
-- the list (more models than providers or clients are worth offering).
SELECT recent.value
FROM (
    SELECT CASE @field::text
               WHEN 'model' THEN model
               WHEN 'provider' THEN provider
               ELSE COALESCE(client, 'Unknown')
           END AS value
    FROM aibridge_interceptions
    WHERE started_at >= now() - interval '30 days'
) recent
GROUP BY recent.value
ORDER BY count(*) DESC, recent.value
LIMIT @max_values::integer;

-- name: CompleteUsernames :many
SELECT username AS value
FROM users
WHERE NOT deleted
ORDER BY username
LIMIT 1000;
