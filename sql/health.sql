-- name: ping()$
-- The health check's round trip to PostgreSQL.
SELECT 1;
