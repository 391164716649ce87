-- Bookmarks: private to their owner; nobody else reads them.

-- name: bookmark(user_id, post_id)!
-- Idempotent. Only live posts can be bookmarked. Index: bookmarks_pkey (user_id, post_id).
INSERT INTO bookmarks (user_id, post_id)
SELECT :user_id, :post_id
 WHERE EXISTS (SELECT 1 FROM posts WHERE id = :post_id AND deleted_at IS NULL)
ON CONFLICT DO NOTHING;

-- name: unbookmark(user_id, post_id)!
-- Index: bookmarks_pkey.
DELETE FROM bookmarks WHERE user_id = :user_id AND post_id = :post_id;

-- name: list_bookmarks(user_id, before, offset, limit)
-- My bookmarked live posts, newest bookmark first (keyset on the bookmark's id); a
-- deleted post's bookmark stays until the purge but is not listed.
-- Indexes: idx_bookmarks_user_id_id, posts_pkey.
SELECT b.id AS key, b.post_id
  FROM bookmarks b
  JOIN posts p ON p.id = b.post_id
 WHERE b.user_id = :user_id AND b.id < :before AND p.deleted_at IS NULL
 ORDER BY b.id DESC
OFFSET :offset
 LIMIT :limit;
