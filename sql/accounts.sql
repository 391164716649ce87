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
-- (domain/credentials.py). Index: users_pkey.
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

-- Deletion, in one transaction, in an order that can wait on other writes but never
-- deadlock with them (domain/accounts.py: delete_account):
--
-- 1. serialize_deletions: one deletion at a time (two accounts that follow each other
--    would each take the other's row for its counts while holding its own).
-- 2. the account's own row, FOR UPDATE (get_password): every write about the account locks
--    it first (sql/users.sql: lock_accounts), so from here on none is half-way.
-- 3. the posts of others it liked, reposted or replied to (lock_touched_posts), newest first
--    (a reply before its parent, as a reply's delete locks them); then the accounts on the
--    other side of its follows, in id order (lock_follow_counts): posts before users, as
--    in migration 0006.
-- 4. its likes, reposts, follows and timeline; its live posts leave post_totals and their
--    tags' counts (the slots locked first in order, then the tags by name); its posts, its
--    images, its notifications (their recipients' counters last, in id order), then the
--    row, whose cascades take the rest (tokens, favourite tags, follow emails, blocks,
--    mutes, mentions, anything later tables hang on users with ON DELETE CASCADE).
-- The count triggers step aside (bulk_delete) and each count drops by one set-based update:
-- a row per trigger would update one users row or tag row once per post (migration 0010).

-- name: password_hash(user_id)$
-- Read without a lock: the deletion checks the password (bcrypt, a quarter of a second)
-- before it takes any. Index: users_pkey.
SELECT password_hash FROM users WHERE id = :user_id;

-- name: serialize_deletions()$
-- Transaction-scoped, in the int4 pair space (sql/safety.sql: lock_pair uses namespace 26).
SELECT pg_advisory_xact_lock(27, 0);

-- name: bulk_delete()$
-- For this transaction only (SET LOCAL), so the pooled connection keeps nothing of it.
SELECT set_config('minitwitter.bulk_delete', 'on', true);

-- name: lock_touched_posts(user_id)
-- Others' posts whose counts the deletion changes: those it liked or reposted, and the
-- parents of its live replies; newest first. Indexes: idx_likes_user_id_id,
-- idx_reposts_user_id_id, idx_posts_author_id_id_live, posts_pkey.
SELECT id
  FROM posts
 WHERE id IN (SELECT post_id FROM likes WHERE user_id = :user_id
               UNION
              SELECT post_id FROM reposts WHERE user_id = :user_id
               UNION
              SELECT in_reply_to FROM posts
               WHERE author_id = :user_id AND deleted_at IS NULL AND in_reply_to IS NOT NULL)
   AND author_id <> :user_id
 ORDER BY id DESC
   FOR NO KEY UPDATE;

-- name: lock_follow_counts(user_id)
-- The accounts on the other side of its follows (their counts drop), in id order.
-- Indexes: follows_pkey (follower_id, ...), idx_follows_followee_id_id, users_pkey.
SELECT id
  FROM users
 WHERE id IN (SELECT followee_id FROM follows WHERE follower_id = :user_id
               UNION
              SELECT follower_id FROM follows WHERE followee_id = :user_id)
 ORDER BY id
   FOR NO KEY UPDATE;

-- name: lock_post_totals(user_id)
-- The post_totals slots of its live posts, in slot order (uncount_posts changes them).
-- Indexes: idx_posts_author_id_id_live, post_totals_pkey.
SELECT slot
  FROM post_totals
 WHERE slot IN (SELECT mod(id, 16) FROM posts WHERE author_id = :user_id AND deleted_at IS NULL)
 ORDER BY slot
   FOR NO KEY UPDATE;

-- name: lock_post_tags(user_id)
-- The tags of its live posts, in name order, as every write of tags locks them
-- (sql/hashtags.sql); after post_totals (migration 0015). Indexes:
-- idx_posts_author_id_id_live, idx_post_hashtags_post_id, hashtags_pkey.
SELECT name
  FROM hashtags
 WHERE id IN (SELECT ph.hashtag_id
                FROM post_hashtags ph
                JOIN posts p ON p.id = ph.post_id
               WHERE p.author_id = :user_id AND p.deleted_at IS NULL)
 ORDER BY name
   FOR NO KEY UPDATE;

-- name: delete_likes(user_id)
-- The account's likes, and their posts' likes_count; returns those posts.
-- Indexes: idx_likes_user_id_id, posts_pkey.
WITH gone AS (
    DELETE FROM likes WHERE user_id = :user_id RETURNING post_id
)
UPDATE posts p
   SET likes_count = p.likes_count - 1
  FROM gone
 WHERE p.id = gone.post_id
RETURNING p.id AS post_id;

-- name: delete_reposts(user_id)
-- The account's reposts (tgr_reposts_count drops each post's reposts_count, one row a post);
-- returns those posts and the reposts' ids. Index: idx_reposts_user_id_id.
DELETE FROM reposts WHERE user_id = :user_id RETURNING post_id, id;

-- name: delete_follows(user_id)
-- Both directions, and the other side's counts (a mutual follow changes both of its
-- counts); returns the other side and whether it followed the account.
-- Indexes: follows_pkey (follower_id, ...), idx_follows_followee_id_id, users_pkey.
WITH gone AS (
    DELETE FROM follows
     WHERE follower_id = :user_id OR followee_id = :user_id
    RETURNING follower_id, followee_id
), others AS (
    SELECT CASE WHEN follower_id = :user_id THEN followee_id ELSE follower_id END AS other_id,
           count(*) FILTER (WHERE follower_id = :user_id) AS lost_followers,
           count(*) FILTER (WHERE followee_id = :user_id) AS lost_following
      FROM gone
     GROUP BY 1
)
UPDATE users u
   SET followers_count = u.followers_count - o.lost_followers,
       following_count = u.following_count - o.lost_following
  FROM others o
 WHERE u.id = o.other_id
RETURNING u.id AS other_id, o.lost_following > 0 AS follows_me;

-- name: uncount_posts(user_id)
-- Before its posts go: the live ones leave post_totals and their tags' posts_count; returns
-- those tags. Indexes: idx_posts_author_id_id_live, idx_post_hashtags_post_id, hashtags_pkey.
WITH live AS (
    SELECT id FROM posts WHERE author_id = :user_id AND deleted_at IS NULL
), totals AS (
    UPDATE post_totals t
       SET live = t.live - c.n
      FROM (SELECT mod(id, 16) AS slot, count(*) AS n FROM live GROUP BY 1) c
     WHERE t.slot = c.slot
)
UPDATE hashtags h
   SET posts_count = h.posts_count - c.n
  FROM (SELECT ph.hashtag_id, count(*) AS n
          FROM post_hashtags ph JOIN live ON live.id = ph.post_id
         GROUP BY 1) c
 WHERE h.id = c.hashtag_id
RETURNING h.name;

-- name: reposters_of_posts(user_id)
-- Before its posts go: who else reposted them (their followers' feeds show those reposts,
-- which go with the posts by cascade). Indexes: idx_posts_author_id_id_live, reposts_pkey
-- (post_id prefix).
SELECT DISTINCT r.user_id
  FROM posts p
  JOIN reposts r ON r.post_id = p.id
 WHERE p.author_id = :user_id AND p.deleted_at IS NULL AND r.user_id <> :user_id;

-- name: delete_posts(user_id)
-- Every post of the account, live or soft-deleted; cascades take their likes and tag links
-- (their counts went with uncount_posts, or with the posts). Returns each post and, for a
-- live reply, its parent (tgr_post_replies_count takes one from the parent's replies_count).
-- Indexes: idx_posts_author_id_id_live; posts has no index on author_id alone, so
-- soft-deleted posts are found through idx_posts_deleted_at (they are few: the beat job
-- purges them).
DELETE FROM posts
 WHERE id IN (SELECT id FROM posts WHERE author_id = :user_id AND deleted_at IS NULL
               UNION ALL
              SELECT id FROM posts WHERE author_id = :user_id AND deleted_at IS NOT NULL)
RETURNING id, CASE WHEN deleted_at IS NULL THEN in_reply_to END AS parent_id;

-- name: delete_mentions(user_id)
-- The mentions of the account in others' posts (which then name nobody there: a later
-- account of the same name is not the one they named); returns those posts.
-- Index: idx_post_mentions_user_id.
DELETE FROM post_mentions WHERE user_id = :user_id RETURNING post_id;

-- name: hiders(user_id)
-- The accounts whose hidden set (domain/safety.py) holds this one: it blocks them, they
-- block it, they mute it. Indexes: blocks_pkey (blocker_id prefix), idx_blocks_blocked_id,
-- idx_mutes_muted_id.
SELECT blocked_id AS user_id FROM blocks WHERE blocker_id = :user_id
 UNION
SELECT blocker_id FROM blocks WHERE blocked_id = :user_id
 UNION
SELECT muter_id FROM mutes WHERE muted_id = :user_id;

-- name: delete_images(user_id)
-- Its images (post images and avatars) once nothing points at them; returns the files.
-- Index: idx_images_owner_id.
DELETE FROM images WHERE owner_id = :user_id RETURNING path, thumbnail_path;

-- name: delete_user(user_id)$
-- Index: users_pkey; the cascades use each table's user_id index.
DELETE FROM users WHERE id = :user_id RETURNING id;
