-- Hashtags: names are stored case-folded without '#'. hashtags.posts_count counts live
-- posts (tgr_post_hashtags_count; a soft delete removes the post's links).

-- name: tag_post(post_id, names)
-- Make the post's tags exactly :names (sorted, distinct; '{}' on a delete), creating
-- missing tags; returns the names linked or unlinked. Every tag touched, old and new, is
-- locked first, in name order, in this one statement (the upsert locks each row it meets,
-- and creates those missing), so concurrent writers over the same tags never deadlock
-- (migrations/0006.lock_order.sql); the count triggers then find their rows locked.
-- Indexes: idx_post_hashtags_post_id, hashtags_pkey, hashtags_name_key, post_hashtags_pkey.
WITH locked AS (
    INSERT INTO hashtags (name)
    SELECT name FROM (
        SELECT unnest(CAST(:names AS TEXT[]))
         UNION
        SELECT h.name FROM post_hashtags ph JOIN hashtags h ON h.id = ph.hashtag_id WHERE ph.post_id = :post_id
    ) AS touched (name)
    ORDER BY name
    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
    RETURNING id, name
), unlinked AS (
    DELETE FROM post_hashtags ph
     USING locked
     WHERE ph.post_id = :post_id AND ph.hashtag_id = locked.id AND NOT (locked.name = ANY(CAST(:names AS TEXT[])))
    RETURNING locked.name
), linked AS (
    INSERT INTO post_hashtags (hashtag_id, post_id)
    SELECT id, :post_id FROM locked WHERE name = ANY(CAST(:names AS TEXT[]))
    ON CONFLICT DO NOTHING
    RETURNING hashtag_id
)
SELECT name FROM unlinked
 UNION
SELECT locked.name FROM linked JOIN locked ON locked.id = linked.hashtag_id;

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

-- name: list_favorites(user_id, offset, limit)
-- A page of a user's favourite tags with their counts, by name. Index: favorite_hashtags_pkey.
SELECT h.name, h.posts_count AS count
  FROM favorite_hashtags f
  JOIN hashtags h ON h.id = f.hashtag_id
 WHERE f.user_id = :user_id
 ORDER BY h.name
OFFSET :offset
 LIMIT :limit;

-- name: count_favorites(user_id)$
-- users.favorite_hashtags_count, kept by tgr_favorite_hashtags_count. Index: users_pkey.
SELECT favorite_hashtags_count FROM users WHERE id = :user_id;
