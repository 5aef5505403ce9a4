-- Clients seen in ended interceptions (the deployment's ListAIBridgeClients, 2026-08).

-- name: ListAIBridgeClients :many
-- A missing client reads as 'Unknown', and the prefix matches the same way. Grouped by that
-- name, so NULL and a literal 'Unknown' are one row (the deployment groups by the raw column
-- and can list 'Unknown' twice), and ordered, so pages are stable (the deployment's has no
-- ORDER BY). The prefix matches literally, as models list's does.
SELECT COALESCE(aibridge_interceptions.client, 'Unknown')::text AS client
FROM aibridge_interceptions
WHERE
    aibridge_interceptions.ended_at IS NOT NULL
    AND (@client::text = ''
         OR COALESCE(aibridge_interceptions.client, 'Unknown') LIKE
            replace(replace(replace(@client::text, '\', '\\'), '%', '\%'), '_', '\_') || '%')
    -- @authorize_filter
GROUP BY 1
ORDER BY 1 ASC
LIMIT COALESCE(NULLIF(@limit_::integer, 0), 100)
OFFSET @offset_::integer;
