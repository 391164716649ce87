-- Hashtags: names are stored case-folded without '#'. hashtags.posts_count counts live
-- posts (tgr_post_hashtags_count; a soft delete removes the post's links).

-- name: tag_post(post_id, names)
-- Make the post's tags exactly :names (sorted, distinct; '{}' on a delete), creating
-- missing tags; returns the names linked or unlinked. The count trigger
-- (tgr_post_hashtags_count) runs at commit (migrations/0015.tag_counts_at_commit.sql), so a
-- new post that names only existing tags locks none of them here: a popular tag's row is
-- held only while the posts naming it commit. Its links are inserted in name order, so its
-- commit locks the tags in that order. Any other call (an edit, a delete, a post creating a
-- tag) creates or locks every tag it touches, old and new, in name order first (`locked`,
-- which the unlinks and links wait for), as before 0015: a created tag is a new row that a
-- second post naming it waits for, and unlinks and links fire their counts in no set order
-- (migrations/0006.lock_order.sql).
-- Indexes: idx_post_hashtags_post_id, hashtags_pkey, hashtags_name_key, post_hashtags_pkey.
WITH wanted AS (
    SELECT name FROM unnest(CAST(:names AS TEXT[])) AS n (name)
), linked_before AS (
    SELECT h.id, h.name FROM post_hashtags ph JOIN hashtags h ON h.id = ph.hashtag_id WHERE ph.post_id = :post_id
), existing AS (
    SELECT h.id, h.name FROM hashtags h JOIN wanted USING (name)
), locked AS (
    INSERT INTO hashtags (name)
    SELECT name FROM (SELECT name FROM wanted UNION SELECT name FROM linked_before) AS touched (name)
     WHERE EXISTS (SELECT 1 FROM linked_before) OR (SELECT count(*) FROM existing) < (SELECT count(*) FROM wanted)
     ORDER BY name
    ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
    RETURNING id, name
), tags AS (
    SELECT id, name FROM existing
     UNION
    SELECT id, name FROM locked WHERE name IN (SELECT name FROM wanted)
), unlinked AS (
    DELETE FROM post_hashtags ph
     USING linked_before b
     WHERE ph.post_id = :post_id AND ph.hashtag_id = b.id AND b.name NOT IN (SELECT name FROM wanted)
       AND (SELECT count(*) FROM locked) >= 0  -- after the locks
    RETURNING b.name
), linked AS (
    INSERT INTO post_hashtags (hashtag_id, post_id)
    SELECT id, :post_id FROM tags ORDER BY name
    ON CONFLICT DO NOTHING
    RETURNING hashtag_id
)
SELECT name FROM unlinked
 UNION
SELECT tags.name FROM linked JOIN tags ON tags.id = linked.hashtag_id;

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

-- name: favorite_names(user_id, names)
-- Which of these tags are the user's favourites (the Mastodon face's Tag.following).
-- Indexes: hashtags_name_key, favorite_hashtags_pkey.
SELECT h.name
  FROM hashtags h
  JOIN favorite_hashtags f ON f.hashtag_id = h.id AND f.user_id = :user_id
 WHERE h.name = ANY(:names);

-- name: followed_window(user_id, before, after, limit)
-- The Mastodon face's followed tags: a user's favourite tags, newest tag id first, between
-- two ids (max_id, since_id). Indexes: favorite_hashtags_pkey, hashtags_pkey.
SELECT h.id AS key, h.name
  FROM favorite_hashtags f
  JOIN hashtags h ON h.id = f.hashtag_id
 WHERE f.user_id = :user_id AND f.hashtag_id < :before AND f.hashtag_id > :after
 ORDER BY f.hashtag_id DESC
 LIMIT :limit;
