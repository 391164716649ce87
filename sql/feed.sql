-- The home feed: the live posts of the accounts a user follows, newest first.
-- Two plans for one question, chosen by the reader's following_count (views/feed.py):

-- name: feed_by_followee(user_id, before, offset, limit)
-- Few followees: the top (offset + limit) posts of each followee, merged. Reads at most
-- (offset + limit) rows per followee, whatever their history holds.
-- Indexes: follows_pkey (follower_id, followee_id), idx_posts_author_id_id_live.
SELECT t.id AS key
  FROM follows f
 CROSS JOIN LATERAL (
        SELECT p.id
          FROM posts p
         WHERE p.author_id = f.followee_id AND p.deleted_at IS NULL AND p.id < :before
         ORDER BY p.id DESC
         LIMIT :offset + :limit
       ) t
 WHERE f.follower_id = :user_id
 ORDER BY t.id DESC
OFFSET :offset
 LIMIT :limit;

-- name: feed_by_timeline(user_id, before, offset, limit)
-- Many followees: walk all live posts newest first and keep those by a followee; with
-- thousands of followees a page fills within a few hundred rows.
-- Indexes: idx_posts_id_live, follows_pkey.
SELECT p.id AS key
  FROM posts p
 WHERE p.deleted_at IS NULL AND p.id < :before
   AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = :user_id AND f.followee_id = p.author_id)
 ORDER BY p.id DESC
OFFSET :offset
 LIMIT :limit;
