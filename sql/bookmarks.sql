-- Bookmarks: private to their owner; nobody else reads them.

-- name: bookmark(user_id, post_id)!
-- Idempotent. Only live posts can be bookmarked, and not across a block with the author
-- (0: domain/safety.py tells which). Indexes: posts_pkey, blocks_pkey, bookmarks_pkey
-- (user_id, post_id).
INSERT INTO bookmarks (user_id, post_id)
SELECT :user_id, :post_id
  FROM posts
 WHERE id = :post_id AND deleted_at IS NULL AND NOT blocked_between(:user_id, author_id)
ON CONFLICT DO NOTHING;

-- name: unbookmark(user_id, post_id)!
-- Index: bookmarks_pkey.
DELETE FROM bookmarks WHERE user_id = :user_id AND post_id = :post_id;

-- name: list_bookmarks(user_id, hidden, before, offset, limit)
-- My bookmarked live posts, newest bookmark first (keyset on the bookmark's id); a
-- deleted post's bookmark stays until the purge but is not listed, nor a post by an
-- author of the viewer's hidden set (:hidden, domain/safety.py).
-- Indexes: idx_bookmarks_user_id_id, posts_pkey.
SELECT b.id AS key, b.post_id
  FROM bookmarks b
  JOIN posts p ON p.id = b.post_id
 WHERE b.user_id = :user_id AND b.id < :before AND p.deleted_at IS NULL AND p.author_id <> ALL(CAST(:hidden AS BIGINT[]))
 ORDER BY b.id DESC
OFFSET :offset
 LIMIT :limit;

-- name: bookmarks_window(user_id, hidden, before, after, limit)
-- The Mastodon face's bookmarks (mastodon/lists.py): as list_bookmarks, between two
-- bookmark ids (max_id, since_id), as rows of a timeline (no reposter).
-- Indexes: idx_bookmarks_user_id_id, posts_pkey.
SELECT b.id AS key, b.post_id, CAST(NULL AS BIGINT) AS reposter_id
  FROM bookmarks b
  JOIN posts p ON p.id = b.post_id
 WHERE b.user_id = :user_id AND b.id < :before AND b.id > :after
   AND p.deleted_at IS NULL AND p.author_id <> ALL(CAST(:hidden AS BIGINT[]))
 ORDER BY b.id DESC
 LIMIT :limit;
