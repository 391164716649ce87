-- Users and profiles. Counts are materialized columns kept by triggers (migrations/0001).

-- name: create_user(username, email, password_hash, approved)<!
-- Sign-up (approved false: waiting for a moderator, registrations = approval). A duplicate
-- username or email fails on idx_users_username_lower or idx_users_email_lower (both on
-- lower(...)), which the view turns into a 409.
INSERT INTO users (username, email, password_hash, approved)
VALUES (:username, :email, :password_hash, :approved)
RETURNING id, username, email, created_at, followers_count, following_count, posts_count,
          display_name, bio, NULL AS avatar_path, NULL AS avatar_width, NULL AS avatar_height,
          FALSE AS email_verified, FALSE AS followed_by_me, role, approved;

-- name: get_login(username)^
-- Log in by username, any case. Index: idx_users_username_lower.
SELECT id, password_hash, session_generation, suspended_at IS NOT NULL AS suspended, approved
  FROM users
 WHERE lower(username) = lower(:username);

-- name: fold(value)$
-- A username or an email as every lookup of one compares it (lower(), as above, under the
-- database's collation): the rate limits key on it too (domain/accounts.py: limit_key), so
-- no spelling the lookup takes for an account is counted apart from it. PostgreSQL's lower()
-- is not Python's: under a glibc UTF-8 ctype (C.UTF-8, en_US.UTF-8) 'İ' is 'i' (Python: 'i'
-- and U+0307) and a final 'Σ' is 'σ' (Python: 'ς'); under ctype C it folds ASCII only.
SELECT lower(:value);

-- name: folded_username(user_id)$
-- The account's username as fold() gives it. Index: users_pkey.
SELECT lower(username) FROM users WHERE id = :user_id;

-- name: get_user(user_id)^
-- A profile's shared fields (cached in Redis; followed_by_me comes from is_following), and
-- whether the account is approved (a waiting one answers moderators only: api/hydration.py).
-- Index: users_pkey; images_pkey for the avatar.
SELECT u.id, u.username, u.created_at, u.followers_count, u.following_count, u.posts_count,
       u.display_name, u.bio, av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       u.approved
  FROM users u
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE u.id = :user_id;

-- name: is_following(follower_id, followee_id)$
-- Index: follows_pkey (follower_id, followee_id).
SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = :follower_id AND followee_id = :followee_id);

-- name: get_me(user_id)^
-- The viewer's own profile, with email. Index: users_pkey.
-- images_pkey for the avatar.
SELECT u.id, u.username, u.email, u.created_at, u.followers_count, u.following_count, u.posts_count,
       u.display_name, u.bio, av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       u.email_verified_at IS NOT NULL AS email_verified, FALSE AS followed_by_me, u.role, u.approved
  FROM users u
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE u.id = :user_id;

-- name: session_generation(user_id)$
-- The generation of the account an access token names (its `gen` claim must equal it), or
-- NULL when the account no longer exists. Asked once per token and process, then again at
-- most every jwt.recheck_seconds (domain/credentials.py). Index: users_pkey.
SELECT session_generation FROM users WHERE id = :user_id;

-- name: lock_accounts(user_ids, post_id, names)
-- The first lock of a write about other accounts (domain.lock_accounts): the rows of the
-- accounts it is about, in id order, FOR KEY SHARE: :user_ids (the caller and the account
-- acted on), the author of post :post_id (NULL for none) and the accounts :names mentions
-- (lower-cased usernames). Returns the ids found. An account deleting itself holds its row
-- FOR UPDATE from its first statement (accounts.get_password), so this waits for it to
-- commit and then finds the account gone, or the deletion waits for this write, and takes
-- what it wrote along: never a write half-way through failing on a row the deletion took.
-- KEY SHARE conflicts with nothing but a deletion (or a password change): the count
-- triggers' FOR NO KEY UPDATE still runs beside it. Indexes: users_pkey, posts_pkey, and
-- an index on lower(username) (a BitmapOr of the three). Plan: generic (by keys).
SELECT id
  FROM users
 WHERE id = ANY(CAST(:user_ids AS BIGINT[]))
    OR id = (SELECT author_id FROM posts WHERE id = :post_id)
    OR lower(username) = ANY(CAST(:names AS TEXT[]))
 ORDER BY id
   FOR KEY SHARE;

-- name: lock_counts(user_id)$
-- The caller's own row, for a write that changes its counts after it has locked rows an
-- account's deletion locks after the users rows (a favourite: its tag, then the count):
-- locked first, so that order holds. Index: users_pkey.
SELECT id FROM users WHERE id = :user_id FOR NO KEY UPDATE;

-- name: session_state(user_id)^
-- session_generation, and whether the account is suspended (its tokens then stop: 401):
-- what the security policy asks of each access token (web/security.py), as above.
-- Index: users_pkey.
SELECT session_generation, suspended_at IS NOT NULL AS suspended FROM users WHERE id = :user_id;
