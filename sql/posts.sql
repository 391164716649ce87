-- Posts. Every list is two steps: a keyset query that returns one page of ids from
-- an index (:before is an exclusive upper bound on id, :offset serves the older
-- page-number style, :limit is page_size + 1 to see whether a next page exists),
-- then get_posts hydrates those ids in one query. Soft-deleted posts are kept out
-- by partial indexes WHERE deleted_at IS NULL.
-- A list a viewer reads takes :hidden, the viewer's hidden set (domain/safety.py: '{}'
-- for most viewers, whose pages are shared): posts by those authors are left out in the
-- query, so a page stays full. Where the list has no author column the check is a probe
-- of posts_pkey, skipped when :hidden is empty (cardinality(...) = 0 folds to true); it is
-- a scalar subquery, which is never hashed: PostgreSQL 18 turns a NOT EXISTS there into a
-- hashed subplan that reads every post of the hidden authors (no index has them all).

-- name: create_post(author_id, text, image_id, in_reply_to)^
-- tgr_posts_count adds one to users.posts_count; a reply, one to its parent's
-- replies_count (tgr_post_replies_count: the parent is locked already, lock_live_post).
-- Returns the new id.
INSERT INTO posts (author_id, text, image_id, in_reply_to)
VALUES (:author_id, :text, :image_id, :in_reply_to)
RETURNING id;

-- name: lock_live_post(post_id, user_id)^
-- The live post a reply answers or a repost repeats, locked (FOR NO KEY UPDATE: its
-- count changes) so that a concurrent delete waits, or wins and this finds nothing: a
-- reply or a repost never points at a post deleted under it. `blocked`: a block stands
-- between :user_id (who writes) and its author, either way (migrations/0011), which
-- domain/posts.live_post refuses; `suspended`: its author is (migrations/0019), which it
-- answers as no such post. Indexes: posts_pkey, blocks_pkey, users_pkey.
SELECT id, author_id, blocked_between(:user_id, author_id) AS blocked,
       (SELECT u.suspended_at IS NOT NULL FROM users u WHERE u.id = posts.author_id) AS suspended
  FROM posts
 WHERE id = :post_id AND deleted_at IS NULL
   FOR NO KEY UPDATE;

-- name: set_mentions(post_id, names)
-- Make the post's mentions exactly the existing users among :names (lower-cased
-- usernames in order of first appearance; '{}' for none); returns the ids newly
-- mentioned (what a notification would go to). An account waiting for approval is
-- nobody yet: not mentioned, linked nor notified (an edit after its approval names it).
-- Indexes: idx_users_username_lower, post_mentions_pkey.
WITH named AS (
    SELECT u.id, n.position
      FROM unnest(CAST(:names AS TEXT[])) WITH ORDINALITY AS n (name, position)
      JOIN users u ON lower(u.username) = lower(n.name)  -- as every lookup folds (users.fold)
     WHERE u.approved
), unmentioned AS (
    DELETE FROM post_mentions pm
     WHERE pm.post_id = :post_id AND pm.user_id NOT IN (SELECT id FROM named)
), mentioned AS (
    INSERT INTO post_mentions (post_id, user_id, position)
    SELECT :post_id, id, position FROM named
    ON CONFLICT (post_id, user_id) DO UPDATE SET position = EXCLUDED.position
    RETURNING user_id, xmax = 0 AS inserted
)
SELECT user_id FROM mentioned WHERE inserted;
-- name: get_post_for_update(post_id)^
-- The row an edit or delete works on, locked so a concurrent edit waits. Index: posts_pkey.
SELECT id, author_id, image_id, in_reply_to, deleted_at
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
-- (hydration.py puts the hashtags in order of first use in the text.)
-- Only the fields every viewer shares (they are cached in Redis); liked_by_me,
-- reposted_by_me and bookmarked_by_me come from viewer_flags. in_reply_to_author_id: the
-- parent's author (the Mastodon face's in_reply_to_account_id; kept after its delete).
-- Indexes: posts_pkey (the parent's too), users_pkey, images_pkey,
-- idx_post_hashtags_post_id, post_mentions_pkey. Plan: generic (by primary key, whatever
-- the ids: store/db.py Prepared).
SELECT p.id, p.author_id, u.username AS author_username, p.text, p.created_at, p.updated_at,
       p.likes_count, p.in_reply_to, p.replies_count, p.reposts_count,
       (SELECT r.author_id FROM posts r WHERE r.id = p.in_reply_to) AS in_reply_to_author_id,
       coalesce((SELECT json_agg(json_build_object('id', m.id, 'username', m.username) ORDER BY pm.position)
                   FROM post_mentions pm JOIN users m ON m.id = pm.user_id
                  WHERE pm.post_id = p.id), '[]') AS mentions,
       i.path AS image_path, i.thumbnail_path AS image_thumbnail_path, i.width AS image_width,
       i.height AS image_height, i.content_type AS image_content_type,
       i.id AS image_id, i.description AS image_description,
       ARRAY(SELECT h.name
               FROM post_hashtags ph JOIN hashtags h ON h.id = ph.hashtag_id
              WHERE ph.post_id = p.id
              ORDER BY h.name) AS hashtags
  FROM posts p
  JOIN users u ON u.id = p.author_id
  LEFT JOIN images i ON i.id = p.image_id
 WHERE p.id = ANY(:ids) AND p.deleted_at IS NULL;

-- name: list_posts(hidden, before, offset, limit)
-- All live posts, newest first. Index: idx_posts_id_live.
SELECT id AS key
  FROM posts
 WHERE deleted_at IS NULL AND id < :before AND author_id <> ALL(CAST(:hidden AS BIGINT[]))
 ORDER BY id DESC
OFFSET :offset
 LIMIT :limit;

-- name: viewer_flags(user_id, ids)
-- The viewer's own fields of a page of posts, in one query: liked_by_me, reposted_by_me,
-- bookmarked_by_me. Indexes: likes_pkey (post_id, user_id), reposts_pkey (post_id,
-- user_id), bookmarks_pkey (user_id, post_id). Plan: generic (by primary keys).
SELECT i.id AS post_id,
       EXISTS (SELECT 1 FROM likes l WHERE l.post_id = i.id AND l.user_id = :user_id) AS liked,
       EXISTS (SELECT 1 FROM reposts r WHERE r.post_id = i.id AND r.user_id = :user_id) AS reposted,
       EXISTS (SELECT 1 FROM bookmarks b WHERE b.user_id = :user_id AND b.post_id = i.id) AS bookmarked
  FROM unnest(CAST(:ids AS BIGINT[])) AS i (id);

-- name: list_replies(post_id, hidden, after, offset, limit)
-- A post's live direct replies, OLDEST first (a conversation reads down): keyset on
-- id > :after. Index: idx_posts_in_reply_to_id_live (in_reply_to, id).
SELECT id AS key
  FROM posts
 WHERE in_reply_to = :post_id AND deleted_at IS NULL AND id > :after AND author_id <> ALL(CAST(:hidden AS BIGINT[]))
 ORDER BY id
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

-- name: list_hashtag_posts(hashtag_id, hidden, before, offset, limit)
-- One tag's posts, newest first. post_hashtags only links live posts (a soft delete
-- removes the links). Index: post_hashtags_pkey (hashtag_id, post_id); posts_pkey.
SELECT post_id AS key
  FROM post_hashtags
 WHERE hashtag_id = :hashtag_id AND post_id < :before
   AND (cardinality(CAST(:hidden AS BIGINT[])) = 0
        OR (SELECT hp.author_id FROM posts hp WHERE hp.id = post_id) <> ALL(CAST(:hidden AS BIGINT[])))
 ORDER BY post_id DESC
OFFSET :offset
 LIMIT :limit;

-- name: list_favorite_hashtag_posts(user_id, hidden, before, offset, limit)
-- Posts with any of the user's favourite tags, newest first, each once: the top
-- (offset + limit) of each favourite tag, merged. Indexes: favorite_hashtags_pkey,
-- post_hashtags_pkey; posts_pkey.
SELECT DISTINCT t.post_id AS key
  FROM favorite_hashtags f
 CROSS JOIN LATERAL (
        SELECT ph.post_id
          FROM post_hashtags ph
         WHERE ph.hashtag_id = f.hashtag_id AND ph.post_id < :before
           AND (cardinality(CAST(:hidden AS BIGINT[])) = 0
                OR (SELECT hp.author_id FROM posts hp WHERE hp.id = ph.post_id) <> ALL(CAST(:hidden AS BIGINT[])))
         ORDER BY ph.post_id DESC
         LIMIT CAST(:offset AS BIGINT) + CAST(:limit AS BIGINT)
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
