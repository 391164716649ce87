-- The Mastodon face's OAuth 2 (minitwitter/domain/oauth.py): the apps clients register, the
-- authorization codes a person's approval makes, the access tokens they are exchanged for.
--
-- - Secrets are stored as their SHA-256 only (client secrets, codes, tokens): a copy of the
--   database lets nobody act as an app or an account. They are 32 random bytes, so a plain
--   hash is enough (no salt, no stretching: nothing to guess).
-- - A code is spent by deleting it (one statement: of two concurrent exchanges, one wins).
-- - An access token does not expire (as on Mastodon): it works until revoked, or until its
--   account's session_generation moves past the one it was made in (a password change or a
--   reset, domain/accounts.py), or its account goes (ON DELETE CASCADE). An app token
--   (client_credentials) has no account.
-- depends: 0015.tag_counts_at_commit

CREATE TABLE oauth_apps (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    website TEXT,
    redirect_uris TEXT[] NOT NULL,
    scopes TEXT[] NOT NULL,
    client_id TEXT NOT NULL,
    client_secret_hash BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- oauth.get_app: every authorize page, token exchange and revocation names its client.
CREATE UNIQUE INDEX idx_oauth_apps_client_id ON oauth_apps (client_id);

CREATE TABLE oauth_codes (
    code_hash BYTEA PRIMARY KEY,
    app_id BIGINT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scopes TEXT[] NOT NULL,
    -- PKCE (RFC 7636): the S256 challenge, NULL when the client sent none.
    code_challenge TEXT,
    session_generation INTEGER NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
-- oauth.purge_expired_codes: codes never exchanged go at the next approval.
CREATE INDEX idx_oauth_codes_expires_at ON oauth_codes (expires_at);
-- The cascade from users (an account's deletion) and from apps.
CREATE INDEX idx_oauth_codes_user_id ON oauth_codes (user_id);
CREATE INDEX idx_oauth_codes_app_id ON oauth_codes (app_id);

CREATE TABLE oauth_tokens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash BYTEA NOT NULL,
    app_id BIGINT NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    scopes TEXT[] NOT NULL,
    session_generation INTEGER,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ,
    CHECK ((user_id IS NULL) = (session_generation IS NULL))
);
-- oauth.get_token: the lookup of a bearer token (once per token, process and
-- jwt.recheck_seconds), and oauth.revoke_token.
CREATE UNIQUE INDEX idx_oauth_tokens_token_hash ON oauth_tokens (token_hash);
-- The cascade from users (an account's deletion: its tokens go with it) and from apps.
CREATE INDEX idx_oauth_tokens_user_id ON oauth_tokens (user_id);
CREATE INDEX idx_oauth_tokens_app_id ON oauth_tokens (app_id);
