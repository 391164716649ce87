-- Hashtags: names are stored case-folded without '#'. hashtags.posts_count counts live
-- posts (tgr_post_hashtags_count; a soft delete removes the post's links).

-- name: link_post(post_id, names)
-- Tag a post: create missing tags, then link them. Names come sorted, so concurrent
-- posts lock tag rows in one order. Indexes: hashtags_name_key, post_hashtags_pkey.
WITH tags AS (
    INSERT INTO hashtags (name)
    SELECT unnest(CAST(:names AS TEXT[]))
    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
    RETURNING id
)
INSERT INTO post_hashtags (hashtag_id, post_id)
SELECT id, :post_id FROM tags
ON CONFLICT DO NOTHING
RETURNING hashtag_id;

-- name: unlink_post(post_id, keep)
-- Drop the post's links to tags not in :keep (an edit), or all of them (keep = '{}',
-- a delete); returns the names unlinked. Index: idx_post_hashtags_post_id.
DELETE FROM post_hashtags ph
 USING hashtags h
 WHERE ph.post_id = :post_id AND h.id = ph.hashtag_id AND NOT (h.name = ANY(CAST(:keep AS TEXT[])))
RETURNING h.name;

-- name: get_hashtag(name)^
-- Index: hashtags_name_key.
SELECT id, name, posts_count FROM hashtags WHERE name = :name;

-- name: ensure_hashtag(name)^
-- A favourite may name a tag no post uses yet. Index: hashtags_name_key.
INSERT INTO hashtags (name) VALUES (:name)
ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
RETURNING id, name, posts_count;

-- name: popular_hashtags(limit)
-- The most used tags over live posts, from the materialized counts.
-- Index: idx_hashtags_posts_count.
SELECT name, posts_count AS count
  FROM hashtags
 WHERE posts_count > 0
 ORDER BY posts_count DESC, name
 LIMIT :limit;

-- name: add_favorite(user_id, hashtag_id)!
INSERT INTO favorite_hashtags (user_id, hashtag_id)
VALUES (:user_id, :hashtag_id)
ON CONFLICT DO NOTHING;

-- name: remove_favorite(user_id, name)!
-- Index: favorite_hashtags_pkey, hashtags_name_key.
DELETE FROM favorite_hashtags f
 USING hashtags h
 WHERE f.user_id = :user_id AND f.hashtag_id = h.id AND h.name = :name;

-- name: list_favorites(user_id)
-- A user's favourite tags with their counts. Index: favorite_hashtags_pkey.
SELECT h.name, h.posts_count AS count
  FROM favorite_hashtags f
  JOIN hashtags h ON h.id = f.hashtag_id
 WHERE f.user_id = :user_id
 ORDER BY h.name;
