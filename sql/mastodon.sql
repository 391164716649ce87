-- Reads of the Mastodon face (minitwitter/mastodon/) that the native API has no query for.

-- name: user_id_by_username(username)$
-- GET /api/v1/accounts/lookup?acct=. Index: idx_users_username_lower.
SELECT id FROM users WHERE lower(username) = lower(:username);

-- name: count_users()$
-- The instance's user_count: an index-only scan of users_pkey, so asked at most once a
-- minute per process (mastodon/instance.py keeps it).
SELECT count(*) FROM users;

-- name: repost_of(post_id, user_id)^
-- The caller's repost of a post (POST /api/v1/statuses/:id/reblog answers it as the reblog
-- Status). Index: reposts_pkey (post_id, user_id).
SELECT id, post_id, user_id, created_at FROM reposts WHERE post_id = :post_id AND user_id = :user_id;

-- name: get_repost(id)^
-- A repost by its id (GET /api/v1/statuses/:id of a reblog). Index: reposts_id_key (UNIQUE id).
SELECT id, post_id, user_id, created_at FROM reposts WHERE id = :id;

-- name: list_reposters(post_id, before, limit)
-- Who reposted a post, newest repost first (GET /api/v1/statuses/:id/reblogged_by): keyset
-- on the repost's id. Indexes: idx_reposts_post_id_id (post_id, id) backwards, users_pkey,
-- images_pkey (avatar).
SELECT r.id AS key, u.id, u.username, u.created_at, u.followers_count, u.following_count,
       u.posts_count, u.display_name, u.bio, av.path AS avatar_path
  FROM reposts r
  JOIN users u ON u.id = r.user_id
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE r.post_id = :post_id AND r.id < :before
 ORDER BY r.id DESC
 LIMIT :limit;
