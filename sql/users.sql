-- Users and profiles. Counts are materialized columns kept by triggers (migrations/0001).

-- name: create_user(username, email, password_hash)<!
-- Sign-up. A duplicate username or email fails on idx_users_username_lower or
-- idx_users_email_lower (both on lower(...)), which the view turns into a 409.
INSERT INTO users (username, email, password_hash)
VALUES (:username, :email, :password_hash)
RETURNING id, username, email, created_at, followers_count, following_count, posts_count,
          FALSE AS followed_by_me;

-- name: get_login(username)^
-- Log in by username, any case. Index: idx_users_username_lower.
SELECT id, password_hash
  FROM users
 WHERE lower(username) = lower(:username);

-- name: get_user(user_id)^
-- A profile's shared fields (cached in Redis; followed_by_me comes from is_following).
-- Index: users_pkey.
SELECT id, username, created_at, followers_count, following_count, posts_count
  FROM users
 WHERE id = :user_id;

-- name: is_following(follower_id, followee_id)$
-- Index: follows_pkey (follower_id, followee_id).
SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = :follower_id AND followee_id = :followee_id);

-- name: get_me(user_id)^
-- The viewer's own profile, with email. Index: users_pkey.
SELECT id, username, email, created_at, followers_count, following_count, posts_count,
       FALSE AS followed_by_me
  FROM users
 WHERE id = :user_id;

-- name: user_exists(user_id)$
-- Does the account an access token names still exist? Asked once per token and process
-- (security.py remembers the answer with the token). Index: users_pkey.
SELECT EXISTS (SELECT 1 FROM users WHERE id = :user_id);
