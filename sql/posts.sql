-- Posts. Every list is two steps: a keyset query that returns one page of ids from
-- an index (:before is an exclusive upper bound on id, :offset serves the older
-- page-number style, :limit is page_size + 1 to see whether a next page exists),
-- then get_posts hydrates those ids in one query. Soft-deleted posts are kept out
-- by partial indexes WHERE deleted_at IS NULL.

-- name: create_post(author_id, text, image_id)^
-- tgr_posts_count adds one to users.posts_count. Returns the new id.
INSERT INTO posts (author_id, text, image_id)
VALUES (:author_id, :text, :image_id)
RETURNING id;

-- name: get_post_for_update(post_id)^
-- The row an edit or delete works on, locked so a concurrent edit waits. Index: posts_pkey.
SELECT id, author_id, image_id, deleted_at
  FROM posts
 WHERE id = :post_id
   FOR UPDATE OF posts;

-- name: update_text(post_id, text)!
-- Index: posts_pkey.
UPDATE posts
   SET text = :text, updated_at = now()
 WHERE id = :post_id AND deleted_at IS NULL;

-- name: soft_delete(post_id)!
-- tgr_posts_count takes one from users.posts_count; the post leaves every partial index.
UPDATE posts
   SET deleted_at = now()
 WHERE id = :post_id AND deleted_at IS NULL;

-- name: get_posts(ids)
-- Hydrate a page: author, image and hashtags, in one query whatever the page holds.
-- Only the fields every viewer shares (they are cached in Redis); liked_by_me comes
-- from likes.liked_among. Indexes: posts_pkey, users_pkey, images_pkey,
-- idx_post_hashtags_post_id.
SELECT p.id, p.author_id, u.username AS author_username, p.text, p.created_at, p.updated_at,
       p.likes_count,
       i.path AS image_path, i.thumbnail_path AS image_thumbnail_path, i.width AS image_width,
       i.height AS image_height, i.content_type AS image_content_type,
       ARRAY(SELECT h.name
               FROM post_hashtags ph JOIN hashtags h ON h.id = ph.hashtag_id
              WHERE ph.post_id = p.id
              ORDER BY h.name) AS hashtags
  FROM posts p
  JOIN users u ON u.id = p.author_id
  LEFT JOIN images i ON i.id = p.image_id
 WHERE p.id = ANY(:ids) AND p.deleted_at IS NULL;

-- name: list_posts(before, offset, limit)
-- All live posts, newest first. Index: idx_posts_id_live.
SELECT id AS key
  FROM posts
 WHERE deleted_at IS NULL AND id < :before
 ORDER BY id DESC
OFFSET :offset
 LIMIT :limit;

-- name: list_user_posts(author_id, before, offset, limit)
-- One author's live posts, newest first. Index: idx_posts_author_id_id_live.
SELECT id AS key
  FROM posts
 WHERE author_id = :author_id AND deleted_at IS NULL AND id < :before
 ORDER BY id DESC
OFFSET :offset
 LIMIT :limit;

-- name: list_hashtag_posts(hashtag_id, before, offset, limit)
-- One tag's posts, newest first. post_hashtags only links live posts (a soft delete
-- removes the links). Index: post_hashtags_pkey (hashtag_id, post_id).
SELECT post_id AS key
  FROM post_hashtags
 WHERE hashtag_id = :hashtag_id AND post_id < :before
 ORDER BY post_id DESC
OFFSET :offset
 LIMIT :limit;

-- name: list_favorite_hashtag_posts(user_id, before, offset, limit)
-- Posts with any of the user's favourite tags, newest first, each once: the top
-- (offset + limit) of each favourite tag, merged. Indexes: favorite_hashtags_pkey,
-- post_hashtags_pkey.
SELECT DISTINCT t.post_id AS key
  FROM favorite_hashtags f
 CROSS JOIN LATERAL (
        SELECT ph.post_id
          FROM post_hashtags ph
         WHERE ph.hashtag_id = f.hashtag_id AND ph.post_id < :before
         ORDER BY ph.post_id DESC
         LIMIT :offset + :limit
       ) t
 WHERE f.user_id = :user_id
 ORDER BY t.post_id DESC
OFFSET :offset
 LIMIT :limit;

-- name: purge_deleted(days, batch)
-- The beat job: hard-delete posts soft-deleted over :days days ago, a batch at a time,
-- with their image rows; returns the image files to remove. Cascades take likes and
-- hashtag links. Index: idx_posts_deleted_at.
WITH doomed AS (
    SELECT id FROM posts
     WHERE deleted_at < now() - make_interval(days => :days)
     ORDER BY deleted_at
     LIMIT :batch
       FOR UPDATE SKIP LOCKED
), gone AS (
    DELETE FROM posts p USING doomed WHERE p.id = doomed.id
    RETURNING p.id, p.image_id
), images_gone AS (
    DELETE FROM images i USING gone WHERE i.id = gone.image_id
    RETURNING i.id, i.path, i.thumbnail_path
)
SELECT gone.id, ig.path, ig.thumbnail_path
  FROM gone LEFT JOIN images_gone ig ON ig.id = gone.image_id;

-- name: is_live(post_id)$
-- Index: posts_pkey.
SELECT EXISTS (SELECT 1 FROM posts WHERE id = :post_id AND deleted_at IS NULL);

-- name: count_live_posts()$
-- All live posts: the 16 rows of the split counter post_totals (migration 0008), summed.
-- Index: post_totals_pkey (a 16-row table).
SELECT coalesce(sum(live), 0)::bigint FROM post_totals;
