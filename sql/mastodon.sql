-- Reads of the Mastodon face (minitwitter/mastodon/) that the native API has no query for.

-- name: user_id_by_username(username)$
-- GET /api/v1/accounts/lookup?acct=. Index: idx_users_username_lower.
SELECT id FROM users WHERE lower(username) = lower(:username);

-- name: count_users()$
-- The instance's user_count: an index-only scan of users_pkey, so asked at most once a
-- minute per process (mastodon/instance.py keeps it).
SELECT count(*) FROM users;
