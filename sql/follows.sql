-- Follows. users.followers_count and following_count are kept by tgr_follows_count;
-- its row locks serialize concurrent followers, so the counts stay exact.

-- name: follow(follower_id, followee_id)!
-- Idempotent: 1 for a new follow, 0 for a repeat (which sends no email), an unknown
-- user (which the view answers with a 404) or a block between them, either way (which
-- domain/safety.py refuses). Indexes: users_pkey, blocks_pkey, follows_pkey.
INSERT INTO follows (follower_id, followee_id)
SELECT :follower_id, :followee_id
 WHERE EXISTS (SELECT 1 FROM users WHERE id = :followee_id)
   AND NOT blocked_between(:follower_id, :followee_id)
ON CONFLICT DO NOTHING;

-- name: unfollow(follower_id, followee_id)!
-- Index: follows_pkey.
DELETE FROM follows WHERE follower_id = :follower_id AND followee_id = :followee_id;

-- name: follower_batch(user_id, before, limit)^
-- A batch of a user's followers, newest follow first, from `before` (a follows.id; the
-- last batch's smallest), as one row: the follower ids and the smallest follows.id (the next
-- :before). Whose cached feeds and timelines a post changes (freshness.feeds_changed,
-- tasks.fanout, tasks.timeline). One row, not :limit: making a row object per follower was
-- 64% of the CPU of a fan-out to 624,701 followers (bench/results/cost-2026-11-30.md).
-- Index: idx_follows_followee_id_id, index-only (it includes follower_id).
SELECT coalesce(array_agg(follower_id ORDER BY id DESC), '{}') AS ids, min(id) AS last
  FROM (SELECT id, follower_id
          FROM follows
         WHERE followee_id = :user_id AND id < :before
         ORDER BY id DESC
         LIMIT :limit) batch;

-- name: list_followers(user_id, viewer_id, before, offset, limit)
-- Who follows a user, newest follow first, as profiles. Indexes: idx_follows_followee_id_id,
-- users_pkey, images_pkey (avatar), follows_pkey (for followed_by_me).
SELECT f.id AS key, u.id, u.username, u.created_at, u.followers_count, u.following_count,
       u.posts_count, u.display_name, u.bio,
       av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       EXISTS (SELECT 1 FROM follows m
                WHERE m.follower_id = :viewer_id AND m.followee_id = u.id) AS followed_by_me
  FROM follows f
  JOIN users u ON u.id = f.follower_id
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE f.followee_id = :user_id AND f.id < :before
 ORDER BY f.id DESC
OFFSET :offset
 LIMIT :limit;

-- name: list_following(user_id, viewer_id, before, offset, limit)
-- Whom a user follows, newest follow first, as profiles. Indexes: idx_follows_follower_id_id,
-- users_pkey, images_pkey (avatar), follows_pkey (for followed_by_me).
SELECT f.id AS key, u.id, u.username, u.created_at, u.followers_count, u.following_count,
       u.posts_count, u.display_name, u.bio,
       av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       EXISTS (SELECT 1 FROM follows m
                WHERE m.follower_id = :viewer_id AND m.followee_id = u.id) AS followed_by_me
  FROM follows f
  JOIN users u ON u.id = f.followee_id
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE f.follower_id = :user_id AND f.id < :before
 ORDER BY f.id DESC
OFFSET :offset
 LIMIT :limit;
