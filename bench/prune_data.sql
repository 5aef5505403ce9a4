-- Scratch data for bench/bench_prune.py: n interceptions spread evenly over `span` up to
-- `newest`, inserted in time order as a deployment writes them, with about four child rows
-- each (token usages 1-2, one prompt, tool usages 0-2, model thoughts 0-1). Never shipped.

-- name: BenchGenerateIds :exec
CREATE UNLOGGED TABLE bench_prune_ids AS
SELECT g AS n, gen_random_uuid() AS id,
       @newest::timestamptz - @span_seconds::integer * interval '1 second' * (1 - g::float8 / @n::integer) AS started_at
FROM generate_series(1, @n::integer) AS g;

-- name: BenchInsertInterceptions :exec
INSERT INTO aibridge_interceptions (id, initiator_id, provider, model, started_at, metadata, ended_at, client)
SELECT id, ('00000000-0000-4000-8000-' || lpad((n % 50)::text, 12, '0'))::uuid,
       CASE WHEN n % 3 = 0 THEN 'openai' ELSE 'anthropic' END,
       CASE WHEN n % 3 = 0 THEN 'gpt-5' ELSE 'claude-sonnet-4' END,
       started_at, '{}'::jsonb, started_at + interval '3 seconds', 'Claude Code'
FROM bench_prune_ids ORDER BY n;

-- name: BenchInsertTokenUsages :exec
INSERT INTO aibridge_token_usages (id, interception_id, provider_response_id, input_tokens, output_tokens, metadata, created_at)
SELECT gen_random_uuid(), b.id, 'resp_' || b.n, 1200, 300, '{"cache_read_input": 800}'::jsonb, b.started_at
FROM bench_prune_ids b, generate_series(1, 1 + b.n % 2) AS k ORDER BY b.n;

-- name: BenchInsertUserPrompts :exec
INSERT INTO aibridge_user_prompts (id, interception_id, provider_response_id, prompt, metadata, created_at)
SELECT gen_random_uuid(), id, 'resp_' || n, 'fix the failing test in module ' || n, NULL, started_at
FROM bench_prune_ids ORDER BY n;

-- name: BenchInsertToolUsages :exec
INSERT INTO aibridge_tool_usages (id, interception_id, provider_response_id, tool, input, injected, created_at,
                                  provider_tool_call_id)
SELECT gen_random_uuid(), b.id, 'resp_' || b.n, 'bash', '{"cmd": "ls"}', false, b.started_at, 'call_' || b.n || '_' || k
FROM bench_prune_ids b, generate_series(1, b.n % 3) AS k ORDER BY b.n;

-- name: BenchInsertModelThoughts :exec
INSERT INTO aibridge_model_thoughts (interception_id, content, metadata, created_at)
SELECT id, 'thinking about module ' || n, '{"source": "thinking"}'::jsonb, started_at
FROM bench_prune_ids WHERE n % 2 = 1 ORDER BY n;

-- name: BenchDropIds :exec
DROP TABLE IF EXISTS bench_prune_ids;

-- name: BenchNewest :one
SELECT max(started_at) AS newest, count(*)::bigint AS interceptions FROM aibridge_interceptions;

-- name: BenchVacuumAnalyze :exec
VACUUM ANALYZE;
