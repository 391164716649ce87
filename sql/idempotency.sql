-- Idempotency keys (POST /api/posts/ with an Idempotency-Key header). Kept 24 hours.

-- name: try_lock(user_id, key)$
-- Held until the transaction ends: a second request with the same key while the first
-- is in flight gets false (a 409) instead of creating a second post.
SELECT pg_try_advisory_xact_lock(hashtextextended(:key, :user_id));

-- name: get_response(user_id, key)^
-- The answer already given for this key, if it is under 24 hours old.
-- Index: idempotency_keys_pkey.
SELECT request_sha, status, response
  FROM idempotency_keys
 WHERE user_id = :user_id AND key = :key AND created_at > now() - interval '24 hours';

-- name: save_response(user_id, key, request_sha, status, response)!
-- In the transaction that created the post, so the key exists exactly when the post
-- does. A stale row (over 24 hours) is replaced. Index: idempotency_keys_pkey.
INSERT INTO idempotency_keys (user_id, key, request_sha, status, response)
VALUES (:user_id, :key, :request_sha, :status, :response)
ON CONFLICT (user_id, key) DO UPDATE
   SET request_sha = EXCLUDED.request_sha, status = EXCLUDED.status,
       response = EXCLUDED.response, created_at = now();

-- name: purge(hours)!
-- The beat job. Index: idx_idempotency_keys_created_at.
DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => :hours);
