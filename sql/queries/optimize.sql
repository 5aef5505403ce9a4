-- name: ListOptionalIndexes :many
-- Which of our own indexes exist, and whether each is valid (a failed CREATE INDEX
-- CONCURRENTLY leaves an invalid one behind that must be dropped and built again).
SELECT c.relname::text AS index, i.indisvalid AS valid,
       pg_size_pretty(pg_relation_size(c.oid)) AS size
FROM pg_class c
JOIN pg_index i ON i.indexrelid = c.oid
WHERE c.relname = ANY(@names::text[])
  AND c.relnamespace = current_schema()::regnamespace
ORDER BY c.relname;
