-- The account lifecycle (domain/accounts.py): profile edits, passwords, the single-use
-- tokens of verification and reset emails (account_tokens, migrations/0010), deletion.

-- name: update_profile(user_id, display_name, bio)!
-- NULL keeps a field as it is. Index: users_pkey.
UPDATE users
   SET display_name = coalesce(:display_name, display_name),
       bio = coalesce(:bio, bio)
 WHERE id = :user_id;

-- name: lock_avatar(user_id)$
-- The avatar about to be replaced, the row locked first: of two concurrent changes the
-- second replaces the first's. Index: users_pkey.
SELECT avatar_image_id FROM users WHERE id = :user_id FOR UPDATE;

-- name: set_avatar(user_id, image_id)!
-- Index: users_pkey.
UPDATE users SET avatar_image_id = :image_id WHERE id = :user_id;

-- name: get_password(user_id)$
-- Index: users_pkey.
SELECT password_hash FROM users WHERE id = :user_id FOR UPDATE;

-- name: set_password(user_id, password_hash)!
-- A new password ends every session: access tokens of the older generation stop working
-- (security.py). Index: users_pkey.
UPDATE users
   SET password_hash = :password_hash,
       session_generation = session_generation + 1
 WHERE id = :user_id;

-- name: mail_user_by_email(email)^
-- The account a reset email goes to, any case. Index: idx_users_email_lower.
SELECT id, username, email
  FROM users
 WHERE lower(email) = lower(:email);

-- name: create_token(token_hash, user_id, purpose, email, seconds)!
-- Index: account_tokens_pkey.
INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at)
VALUES (:token_hash, :user_id, :purpose, :email, now() + make_interval(secs => :seconds));

-- name: spend_token(token_hash, purpose)^
-- Use a live token, once: of two concurrent uses only one gets the row back. A token
-- mailed to an address the account no longer has is not live. Indexes:
-- account_tokens_pkey, users_pkey.
UPDATE account_tokens t
   SET used_at = now()
  FROM users u
 WHERE t.token_hash = :token_hash AND t.purpose = :purpose
   AND t.used_at IS NULL AND t.expires_at > now()
   AND u.id = t.user_id AND lower(u.email) = lower(t.email)
RETURNING t.user_id;

-- name: retire_tokens(user_id, purpose)!
-- Void the account's outstanding tokens of a purpose (a new password voids the reset
-- links already mailed). Index: idx_account_tokens_user_id.
UPDATE account_tokens
   SET used_at = now()
 WHERE user_id = :user_id AND purpose = :purpose AND used_at IS NULL;

-- name: mark_email_verified(user_id)!
-- Index: users_pkey.
UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = :user_id;

-- name: email_verified(user_id)$
-- Index: users_pkey.
SELECT email_verified_at IS NOT NULL FROM users WHERE id = :user_id;

-- Deletion, in the order that takes locks as every other write does (migration 0006:
-- posts before users by id before hashtags by name): the account's likes (their posts'
-- likes_count), its follows (both sides' counts), its posts (posts_count, post_totals, the
-- tags' posts_count, by the triggers of 0001 and 0008), its images, then the row, whose
-- cascades take the rest (tokens, favourite tags, follow emails, anything later tables hang
-- on users with ON DELETE CASCADE).

-- name: delete_likes(user_id)
-- Returns the posts whose likes_count dropped. Index: idx_likes_user_id.
DELETE FROM likes WHERE user_id = :user_id RETURNING post_id;

-- name: delete_follows(user_id)
-- Both directions; returns the other side's id and whether it followed the account.
-- Indexes: follows_pkey (follower_id, ...), idx_follows_followee_id_id.
DELETE FROM follows
 WHERE follower_id = :user_id OR followee_id = :user_id
RETURNING CASE WHEN follower_id = :user_id THEN followee_id ELSE follower_id END AS other_id,
          followee_id = :user_id AS follows_me;

-- name: delete_posts(user_id)
-- Every post of the account, live or soft-deleted, with the tags of the live ones (their
-- lists and counts change). Cascades take their likes and tag links.
-- Indexes: idx_posts_author_id_id_live, idx_post_hashtags_post_id, hashtags_pkey;
-- posts has no index on author_id alone, so soft-deleted posts are found by a scan of
-- idx_posts_deleted_at (they are few: the beat job purges them).
WITH doomed AS (
    SELECT id FROM posts WHERE author_id = :user_id AND deleted_at IS NULL
     UNION ALL
    SELECT id FROM posts WHERE author_id = :user_id AND deleted_at IS NOT NULL
), tags AS (
    SELECT DISTINCT h.name
      FROM post_hashtags ph JOIN hashtags h ON h.id = ph.hashtag_id
     WHERE ph.post_id IN (SELECT id FROM doomed)
), gone AS (
    DELETE FROM posts p WHERE p.id IN (SELECT id FROM doomed) RETURNING p.id
)
SELECT 'post' AS kind, id::text AS value FROM gone
 UNION ALL
SELECT 'tag', name FROM tags;

-- name: delete_images(user_id)
-- Its images (post images and avatars) once nothing points at them; returns the files.
-- Index: idx_images_owner_id.
DELETE FROM images WHERE owner_id = :user_id RETURNING path, thumbnail_path;

-- name: delete_user(user_id)$
-- Index: users_pkey; the cascades use each table's user_id index.
DELETE FROM users WHERE id = :user_id RETURNING id;
