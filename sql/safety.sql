-- Blocks and mutes (migrations/0011): the writes, the lists of them, and what a viewer
-- does not see (domain/safety.py). The other lists filter with the hidden set that
-- `hidden` gives, passed to them as an array (:hidden).

-- name: block(user_id, other_id)!
-- :user_id blocks :other_id. Idempotent: 1 for a new block, 0 for a repeat or an unknown
-- user (the view answers that with a 404). Indexes: users_pkey, blocks_pkey.
INSERT INTO blocks (blocker_id, blocked_id)
SELECT :user_id, :other_id
 WHERE EXISTS (SELECT 1 FROM users WHERE id = :other_id)
ON CONFLICT DO NOTHING;

-- name: lock_pair(user_id, other_id)
-- Follows and blocks between two accounts, one at a time: every follow, unfollow, block
-- and unblock of the pair takes this first (domain/safety.py: lock_pair), so a follow never
-- commits beside a block its check did not see yet, nor a block beside a follow its
-- unfollow did not see yet. First a transaction-scoped lock on the pair, not on their
-- users rows (a deletion of either account locks those, and the pair's lock must never
-- stand between them); then, as every write about accounts (users.lock_accounts), the two
-- rows in id order, FOR KEY SHARE; returns the ids found. One statement: the pair's lock is
-- an uncorrelated subquery, a one-time filter run before the scan, so before the rows are
-- locked. Its key: the two ids, smaller first, hashed into the int4 pair space (advisory
-- locks taken with one BIGINT, as idempotency.sql's, are another space); two pairs that
-- share a hash merely wait for each other. Index: users_pkey.
SELECT id
  FROM users
 WHERE id IN (:user_id, :other_id)
   AND (SELECT pg_advisory_xact_lock(26, hashtext(least(:user_id, :other_id) || ' ' || greatest(:user_id, :other_id)))
        IS NOT NULL)
 ORDER BY id
   FOR KEY SHARE;

-- name: unblock(user_id, other_id)!
-- Index: blocks_pkey.
DELETE FROM blocks WHERE blocker_id = :user_id AND blocked_id = :other_id;

-- name: mute(user_id, other_id)!
-- :user_id mutes :other_id. Idempotent, as block. Indexes: users_pkey, mutes_pkey.
INSERT INTO mutes (muter_id, muted_id)
SELECT :user_id, :other_id
 WHERE EXISTS (SELECT 1 FROM users WHERE id = :other_id)
ON CONFLICT DO NOTHING;

-- name: unmute(user_id, other_id)!
-- Index: mutes_pkey.
DELETE FROM mutes WHERE muter_id = :user_id AND muted_id = :other_id;

-- name: hidden(user_id)
-- Whom the viewer does not see: each account they block or that blocks them (blocked:
-- true) and each they mute (blocked: false); an account can be both. Indexes: blocks_pkey
-- (blocker_id prefix), idx_blocks_blocked_id, mutes_pkey (muter_id prefix).
SELECT blocked_id AS user_id, true AS blocked FROM blocks WHERE blocker_id = :user_id
 UNION ALL
SELECT blocker_id, true FROM blocks WHERE blocked_id = :user_id
 UNION ALL
SELECT muted_id, false FROM mutes WHERE muter_id = :user_id;

-- name: blocked_between(user_id, other_id)$
-- Whether a block stands between two accounts, either way (migrations/0011's function).
-- Index: blocks_pkey.
SELECT blocked_between(:user_id, :other_id);

-- name: blocked_post(user_id, post_id)$
-- Whether a block stands between an account and a post's author, either way.
-- Indexes: posts_pkey, blocks_pkey.
SELECT coalesce((SELECT blocked_between(:user_id, author_id) FROM posts WHERE id = :post_id), false);

-- name: list_blocks(user_id, before, offset, limit)
-- The accounts I block, newest block first, as profiles (followed_by_me is false: a block
-- ends the follows). Indexes: idx_blocks_blocker_id_id, users_pkey, images_pkey (avatar).
SELECT b.id AS key, u.id, u.username, u.created_at, u.followers_count, u.following_count,
       u.posts_count, u.display_name, u.bio,
       av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       false AS followed_by_me
  FROM blocks b
  JOIN users u ON u.id = b.blocked_id
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE b.blocker_id = :user_id AND b.id < :before
 ORDER BY b.id DESC
OFFSET :offset
 LIMIT :limit;

-- name: list_mutes(user_id, before, offset, limit)
-- The accounts I mute, newest mute first, as profiles. Indexes: idx_mutes_muter_id_id,
-- users_pkey, images_pkey (avatar), follows_pkey (for followed_by_me).
SELECT m.id AS key, u.id, u.username, u.created_at, u.followers_count, u.following_count,
       u.posts_count, u.display_name, u.bio,
       av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       EXISTS (SELECT 1 FROM follows f
                WHERE f.follower_id = :user_id AND f.followee_id = u.id) AS followed_by_me
  FROM mutes m
  JOIN users u ON u.id = m.muted_id
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE m.muter_id = :user_id AND m.id < :before
 ORDER BY m.id DESC
OFFSET :offset
 LIMIT :limit;
