-- Moderation (minitwitter/domain/moderation.py): roles and the audit log (migrations/0019).

-- name: role(user_id)$
-- The account's role (NULL: no such account). Each /api/admin/ request asks it, so a role
-- changed holds at once. Index: users_pkey.
SELECT role FROM users WHERE id = :user_id;

-- name: role_by_username(username)^
-- minitwitter-admin grant: the account by username, any case. Index: idx_users_username_lower.
SELECT id, role FROM users WHERE lower(username) = lower(:username);

-- name: lock_role(user_id)^
-- The account's role, locked until the change commits: two grants of one account queue.
-- Index: users_pkey.
SELECT id, role FROM users WHERE id = :user_id FOR UPDATE;

-- name: set_role(user_id, role)!
-- Index: users_pkey.
UPDATE users SET role = :role WHERE id = :user_id;

-- name: audit(actor_id, action, account_id, post_id, reason)<!
-- An entry of the audit log, in the transaction of the action it records. Append-only: the
-- table's triggers refuse UPDATE, DELETE and TRUNCATE (migrations/0019).
INSERT INTO moderation_audit (actor_id, action, account_id, post_id, reason)
VALUES (:actor_id, :action, :account_id, :post_id, :reason)
RETURNING id, actor_id, action, account_id, post_id, reason, created_at;

-- name: list_audit(before, offset, limit)
-- GET /api/admin/audit/: every entry, newest first, a keyset page (key: id).
-- Index: moderation_audit_pkey, walked backwards from :before.
SELECT id AS key, id, actor_id, action, account_id, post_id, reason, created_at
  FROM moderation_audit
 WHERE id < :before
 ORDER BY id DESC
OFFSET :offset
 LIMIT :limit;

-- name: suspended_ids()
-- Every account hidden from users: suspended, or waiting for approval. The set each list,
-- lookup and count leaves out (domain/profiles.py: suspended), cached under one version that
-- each suspension, lift, sign-up waiting, approval and rejection bumps.
-- Index: idx_users_suspended and idx_users_pending (partial: only those accounts' rows; a
-- BitmapOr of the two).
SELECT id FROM users WHERE suspended_at IS NOT NULL OR NOT approved ORDER BY id;

-- name: lock_account(user_id)^
-- The account a suspension acts on, locked until the change commits: two moderators acting
-- on one account queue, and the second sees the first's change. Index: users_pkey.
SELECT id, role, suspended_at IS NOT NULL AS suspended FROM users WHERE id = :user_id FOR UPDATE;

-- name: set_suspended(user_id, suspended)!
-- Index: users_pkey.
UPDATE users
   SET suspended_at = CASE WHEN :suspended THEN coalesce(suspended_at, now()) END
 WHERE id = :user_id;

-- name: get_account(user_id)^
-- A profile as moderators see it, with its role and whether it is suspended. Read from
-- PostgreSQL (moderators only). Index: users_pkey; images_pkey for the avatar.
SELECT u.id, u.username, u.created_at, u.followers_count, u.following_count, u.posts_count,
       u.display_name, u.bio, av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       u.role, u.suspended_at IS NOT NULL AS suspended, u.approved, u.email
  FROM users u
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE u.id = :user_id;

-- name: staff_ids()
-- The moderators and admins, whom a sign-up waiting for approval notifies
-- (domain/accounts.py: sign_up). Index: idx_users_staff (partial: their rows only).
SELECT id FROM users WHERE role <> 'user' ORDER BY id;

-- name: lock_pending(user_id)^
-- The account an approval acts on, locked until it commits: two moderators approving one
-- account queue, and the second finds it approved. Index: users_pkey.
SELECT id, approved FROM users WHERE id = :user_id FOR UPDATE;

-- name: approve(user_id)!
-- Index: users_pkey.
UPDATE users SET approved = TRUE WHERE id = :user_id;

-- name: is_pending(user_id)$
-- Whether the account waits for approval (NULL: no such account); a rejection asks it once
-- it holds the row (accounts.lock_for_deletion). Index: users_pkey.
SELECT NOT approved FROM users WHERE id = :user_id;

-- The accounts as moderators list them (GET /api/admin/accounts/), newest first, a keyset
-- page (key: id); :pattern is a lower-case username prefix 'prefix%' (% _ \ escaped; '%'
-- for every account). Each status walks its own index backwards from :before and filters
-- by the prefix as it goes, so no page sorts and none reads more than it shows but the rows
-- the prefix passes over. Columns: moderation.get_account's.

-- name: list_pending(pattern, before, offset, limit)
-- Waiting for approval. Index: idx_users_pending (partial: the waiting accounts only).
SELECT u.id AS key, u.id, u.username, u.created_at, u.followers_count, u.following_count, u.posts_count,
       u.display_name, u.bio, av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       u.role, u.suspended_at IS NOT NULL AS suspended, u.approved, u.email
  FROM users u
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE NOT u.approved AND u.id < :before AND lower(u.username) LIKE :pattern
 ORDER BY u.id DESC
OFFSET :offset
 LIMIT :limit;

-- name: list_suspended(pattern, before, offset, limit)
-- Suspended. Index: idx_users_suspended (partial: the suspended accounts only).
SELECT u.id AS key, u.id, u.username, u.created_at, u.followers_count, u.following_count, u.posts_count,
       u.display_name, u.bio, av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       u.role, u.suspended_at IS NOT NULL AS suspended, u.approved, u.email
  FROM users u
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE u.suspended_at IS NOT NULL AND u.id < :before AND lower(u.username) LIKE :pattern
 ORDER BY u.id DESC
OFFSET :offset
 LIMIT :limit;

-- name: list_accounts(active, pattern, before, offset, limit)
-- Every account, or (:active) those approved and not suspended: nearly all of them, so the
-- walk of users_pkey finds a page in about as many rows as it shows.
-- Index: users_pkey, backwards from :before.
SELECT u.id AS key, u.id, u.username, u.created_at, u.followers_count, u.following_count, u.posts_count,
       u.display_name, u.bio, av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       u.role, u.suspended_at IS NOT NULL AS suspended, u.approved, u.email
  FROM users u
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE u.id < :before AND lower(u.username) LIKE :pattern
   AND (NOT :active OR (u.approved AND u.suspended_at IS NULL))
 ORDER BY u.id DESC
OFFSET :offset
 LIMIT :limit;

-- name: followed_among(viewer_id, user_ids)$
-- Which of a page's accounts the viewer follows (followed_by_me), as one array.
-- Index: follows_pkey (follower_id, followee_id).
SELECT coalesce(array_agg(followee_id), '{}')
  FROM follows
 WHERE follower_id = :viewer_id AND followee_id = ANY(CAST(:user_ids AS BIGINT[]));
