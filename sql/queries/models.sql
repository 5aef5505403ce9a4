-- Models seen in ended interceptions.

-- name: ListAIBridgeModels :many
-- The prefix matches literally: backslash, % and _ are escaped before LIKE sees them
-- (LIKE's default escape character is the backslash).
SELECT aibridge_interceptions.model
FROM aibridge_interceptions
WHERE
    aibridge_interceptions.ended_at IS NOT NULL
    AND (@model::text = ''
         OR aibridge_interceptions.model LIKE
            replace(replace(replace(@model::text, '\', '\\'), '%', '\%'), '_', '\_') || '%')
    -- `--since`: the zero time (the default) means no lower bound.
    AND (@started_after::timestamptz = '0001-01-01 00:00:00+00'::timestamptz
         OR aibridge_interceptions.started_at >= @started_after::timestamptz)
    -- @authorize_filter
GROUP BY aibridge_interceptions.model
ORDER BY aibridge_interceptions.model ASC
LIMIT COALESCE(NULLIF(@limit_::integer, 0), 100)
OFFSET @offset_::integer;
