-- Reposts. posts.reposts_count is kept by tgr_reposts_count. A repost's id comes from the
-- posts' sequence (migrations/0009), so the feed orders posts and reposts by one key.

-- name: repost(post_id, user_id)$
-- Idempotent: a repeated repost changes nothing (and keeps its place in the feeds). The
-- caller has locked the live post (posts.lock_live_post). Returns the new repost's id (the
-- feed's key), NULL for a repeat. Index: reposts_pkey.
INSERT INTO reposts (post_id, user_id)
VALUES (:post_id, :user_id)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: unrepost(post_id, user_id)$
-- The undone repost's id, NULL if there was none. Index: reposts_pkey (post_id, user_id).
DELETE FROM reposts WHERE post_id = :post_id AND user_id = :user_id
RETURNING id;

-- name: delete_post_reposts(post_id)
-- A post deleted takes every repost of it along; returns who had reposted it (their
-- followers' feeds held it). Index: reposts_pkey (post_id prefix).
DELETE FROM reposts WHERE post_id = :post_id
RETURNING user_id;

-- name: get_reposts(ids)
-- Reposts by id, for the Mastodon face's reblogs (domain/shared_posts.shared_reposts: cached
-- under their post's version). Index: reposts_id_key (the UNIQUE index on id).
SELECT id, post_id, user_id, created_at FROM reposts WHERE id = ANY(:ids);
