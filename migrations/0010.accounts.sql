-- The account lifecycle: profile fields, email verification, sessions that end on a
-- password change, reset or deletion, and the single-use tokens emailed for verification
-- and password reset (domain/accounts.py).
-- depends: 0008.list_counts

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
