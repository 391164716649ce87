-- The account lifecycle: profile fields, email verification, sessions that end on a
-- password change, reset or deletion, and the single-use tokens emailed for verification
-- and password reset (domain/accounts.py).
-- depends: 0009.conversations

ALTER TABLE users
    ADD COLUMN display_name TEXT NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 50),
    ADD COLUMN bio TEXT NOT NULL DEFAULT '' CHECK (char_length(bio) <= 300),
    -- The avatar: an images row of its own (owner_id = this user), never a post's.
    ADD COLUMN avatar_image_id BIGINT UNIQUE REFERENCES images (id) ON DELETE SET NULL,
    ADD COLUMN email_verified_at TIMESTAMPTZ,
    -- Access tokens carry the generation they were issued in (claim `gen`); a password
    -- change or reset adds one, so every access token issued before stops working
    -- (security.py re-checks a remembered token against it).
    ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;

-- Email verification and password reset tokens. Only a token's SHA-256 is kept (the
-- token is 256 random bits, so no salt is needed): the table leaks no usable token.
CREATE TABLE account_tokens (
    token_hash BYTEA PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    -- The address the token was mailed to: verifying proves that address, not a later one.
    email      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
-- accounts.spend_token is served by account_tokens_pkey.
-- accounts.retire_tokens (a password change or reset voids the outstanding reset links),
-- and foreign key lookups when a user is deleted.
CREATE INDEX idx_account_tokens_user_id ON account_tokens (user_id);

-- Deleting an account with many rows: the count triggers of 0001, 0006 and 0008 work a row at a
-- time, so 5,000 posts were 5,000 updates of one users row and of each of their tags' rows
-- in one transaction, each longer than the last (every version of the row stays until the
-- commit): 18.6 s for an account with 5,000 posts, 5,000 likes and 1,500 follows. A deletion
-- sets minitwitter.bulk_delete for its transaction (SET LOCAL; accounts.bulk_delete) and fixes
-- each count with one set-based update instead (sql/accounts.sql); every other write keeps
-- the triggers. Same functions otherwise (0001, 0006, 0008).
CREATE OR REPLACE FUNCTION posts_count_changed() RETURNS TRIGGER AS $$
BEGIN
    IF current_setting('minitwitter.bulk_delete', true) = 'on' THEN
        RETURN NULL;  -- accounts.delete_*: the counts are fixed a set at a time
    END IF;
    IF TG_OP = 'INSERT' AND NEW.deleted_at IS NULL THEN
        UPDATE users SET posts_count = posts_count + 1 WHERE id = NEW.author_id;
    ELSIF TG_OP = 'UPDATE' AND OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        UPDATE users SET posts_count = posts_count - 1 WHERE id = NEW.author_id;
    ELSIF TG_OP = 'DELETE' AND OLD.deleted_at IS NULL THEN
        UPDATE users SET posts_count = posts_count - 1 WHERE id = OLD.author_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION posts_total_changed() RETURNS TRIGGER AS $$
BEGIN
    IF current_setting('minitwitter.bulk_delete', true) = 'on' THEN
        RETURN NULL;  -- accounts.delete_*: the counts are fixed a set at a time
    END IF;
    IF TG_OP = 'INSERT' AND NEW.deleted_at IS NULL THEN
        UPDATE post_totals SET live = live + 1 WHERE slot = NEW.id % 16;
    ELSIF TG_OP = 'UPDATE' AND OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        UPDATE post_totals SET live = live - 1 WHERE slot = NEW.id % 16;
    ELSIF TG_OP = 'DELETE' AND OLD.deleted_at IS NULL THEN
        UPDATE post_totals SET live = live - 1 WHERE slot = OLD.id % 16;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION post_hashtags_count_changed() RETURNS TRIGGER AS $$
BEGIN
    IF current_setting('minitwitter.bulk_delete', true) = 'on' THEN
        RETURN NULL;  -- accounts.delete_*: the counts are fixed a set at a time
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE hashtags SET posts_count = posts_count + 1 WHERE id = NEW.hashtag_id;
    ELSE
        UPDATE hashtags SET posts_count = posts_count - 1 WHERE id = OLD.hashtag_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION likes_count_changed() RETURNS TRIGGER AS $$
BEGIN
    IF current_setting('minitwitter.bulk_delete', true) = 'on' THEN
        RETURN NULL;  -- accounts.delete_*: the counts are fixed a set at a time
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE posts SET likes_count = likes_count + 1 WHERE id = NEW.post_id;
    ELSE
        UPDATE posts SET likes_count = likes_count - 1 WHERE id = OLD.post_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION follows_count_changed() RETURNS TRIGGER AS $$
DECLARE
    edge follows := CASE WHEN TG_OP = 'INSERT' THEN NEW ELSE OLD END;
    delta INTEGER := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    IF current_setting('minitwitter.bulk_delete', true) = 'on' THEN
        RETURN NULL;  -- accounts.delete_*: the counts are fixed a set at a time
    END IF;
    PERFORM 1 FROM users WHERE id IN (edge.follower_id, edge.followee_id) ORDER BY id FOR NO KEY UPDATE;
    UPDATE users SET following_count = following_count + delta WHERE id = edge.follower_id;
    UPDATE users SET followers_count = followers_count + delta WHERE id = edge.followee_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION favorite_hashtags_count_changed() RETURNS TRIGGER AS $$
BEGIN
    IF current_setting('minitwitter.bulk_delete', true) = 'on' THEN
        RETURN NULL;  -- accounts.delete_*: the counts are fixed a set at a time
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE users SET favorite_hashtags_count = favorite_hashtags_count + 1 WHERE id = NEW.user_id;
    ELSE
        UPDATE users SET favorite_hashtags_count = favorite_hashtags_count - 1 WHERE id = OLD.user_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
