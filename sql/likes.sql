-- Likes. posts.likes_count is kept by tgr_likes_count; its row lock serializes
-- concurrent likers, so the count stays exact.

-- name: like(post_id, user_id)$
-- Idempotent: a repeated like changes nothing. Only live posts can be liked, and not
-- across a block with the author, either way (migrations/0011; domain/safety.py tells a
-- refusal from a repeat). Returns the post's author when the like is new (whom it
-- notifies), else nothing. Indexes: posts_pkey, blocks_pkey, likes_pkey (post_id, user_id).
INSERT INTO likes (post_id, user_id)
SELECT id, :user_id
  FROM posts
 WHERE id = :post_id AND deleted_at IS NULL AND NOT blocked_between(:user_id, author_id)
ON CONFLICT DO NOTHING
RETURNING (SELECT author_id FROM posts WHERE id = :post_id);

-- name: unlike(post_id, user_id)!
-- Index: likes_pkey.
DELETE FROM likes WHERE post_id = :post_id AND user_id = :user_id;

-- name: list_likers(post_id, viewer_id, before, offset, limit)
-- Who liked a post, newest like first, as profiles. Indexes: idx_likes_post_id_id,
-- users_pkey, images_pkey (avatar), follows_pkey (follower_id, followee_id).
SELECT l.id AS key, u.id, u.username, u.created_at, u.followers_count, u.following_count,
       u.posts_count, u.display_name, u.bio,
       av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       EXISTS (SELECT 1 FROM follows f
                WHERE f.follower_id = :viewer_id AND f.followee_id = u.id) AS followed_by_me
  FROM likes l
  JOIN users u ON u.id = l.user_id
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE l.post_id = :post_id AND l.id < :before
 ORDER BY l.id DESC
OFFSET :offset
 LIMIT :limit;

-- name: liked_window(user_id, hidden, before, after, limit)
-- The Mastodon face's favourites (mastodon/lists.py): the live posts a user liked, newest
-- like first, between two like ids (max_id, since_id), as rows of a timeline; none by an
-- author of the viewer's hidden set. Indexes: idx_likes_user_id_id, posts_pkey.
SELECT l.id AS key, l.post_id, CAST(NULL AS BIGINT) AS reposter_id
  FROM likes l
  JOIN posts p ON p.id = l.post_id
 WHERE l.user_id = :user_id AND l.id < :before AND l.id > :after
   AND p.deleted_at IS NULL AND p.author_id <> ALL(CAST(:hidden AS BIGINT[]))
 ORDER BY l.id DESC
 LIMIT :limit;
