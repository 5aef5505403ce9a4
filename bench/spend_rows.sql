-- What the naive way of pricing reads: every token usage row of the window with its provider,
-- model, user and cache tokens (the one cache rule), to be priced one by one in Python with
-- genai-prices' calc_price, for comparison with `aibridge spend`. Never shipped.

-- name: BenchSpendRows :many
SELECT i.initiator_id, i.provider, i.model, tu.created_at, tu.input_tokens, tu.output_tokens,
       CASE WHEN tu.cache_read_input_tokens > 0 THEN tu.cache_read_input_tokens
            ELSE COALESCE(GREATEST((tu.metadata ->> 'cache_read_input')::bigint, (tu.metadata ->> 'input_cached')::bigint,
                                   (tu.metadata ->> 'prompt_cached')::bigint), 0) END AS cache_read,
       CASE WHEN tu.cache_write_input_tokens > 0 THEN tu.cache_write_input_tokens
            ELSE COALESCE((tu.metadata ->> 'cache_creation_input')::bigint, 0) END AS cache_write,
       tu.cost_micros
FROM aibridge_token_usages tu
JOIN aibridge_interceptions i ON i.id = tu.interception_id
WHERE tu.created_at >= @since::timestamptz AND tu.created_at < @until::timestamptz;
