-- Moderation (minitwitter/domain/moderation.py): roles and the audit log (migrations/0018).

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
-- table's triggers refuse UPDATE, DELETE and TRUNCATE (migrations/0018).
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
