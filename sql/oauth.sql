-- OAuth 2 of the Mastodon face (minitwitter/domain/oauth.py; migration 0017 says why the
-- secrets are stored as SHA-256 and how a code is spent).

-- name: create_app(name, website, redirect_uris, scopes, client_id, client_secret_hash)<!
INSERT INTO oauth_apps (name, website, redirect_uris, scopes, client_id, client_secret_hash)
VALUES (:name, :website, :redirect_uris, :scopes, :client_id, :client_secret_hash)
RETURNING id, name, website, redirect_uris, scopes, client_id;

-- name: get_app(client_id)^
-- Index: idx_oauth_apps_client_id.
SELECT id, name, website, redirect_uris, scopes, client_id, client_secret_hash
  FROM oauth_apps
 WHERE client_id = :client_id;

-- name: get_app_by_id(app_id)^
-- Index: oauth_apps_pkey.
SELECT id, name, website, redirect_uris, scopes, client_id
  FROM oauth_apps
 WHERE id = :app_id;

-- name: get_login_by_email(email)^
-- The authorize page's log in by address, any case. Index: idx_users_email_lower.
SELECT id, password_hash, session_generation, suspended_at IS NOT NULL AS suspended, approved
  FROM users
 WHERE lower(email) = lower(:email);

-- name: purge_expired_codes()!
-- Codes never exchanged. Index: idx_oauth_codes_expires_at.
DELETE FROM oauth_codes WHERE expires_at < now();

-- name: create_code(code_hash, app_id, user_id, redirect_uri, scopes, code_challenge, session_generation, seconds)!
INSERT INTO oauth_codes (code_hash, app_id, user_id, redirect_uri, scopes, code_challenge, session_generation, expires_at)
VALUES (:code_hash, :app_id, :user_id, :redirect_uri, :scopes, :code_challenge, :session_generation,
        now() + make_interval(secs => :seconds));

-- name: spend_code(code_hash)^
-- A code works once: deleted as it is read, so of two concurrent exchanges one gets the row.
-- `live`: unexpired, and its account still in the session generation it was approved in.
-- Index: oauth_codes_pkey; users_pkey.
DELETE FROM oauth_codes c
 USING users u
 WHERE c.code_hash = :code_hash AND u.id = c.user_id
RETURNING c.app_id, c.user_id, c.redirect_uri, c.scopes, c.code_challenge, c.session_generation,
          c.expires_at > now() AND u.session_generation = c.session_generation AS live;

-- name: create_token(token_hash, app_id, user_id, scopes, session_generation)<!
INSERT INTO oauth_tokens (token_hash, app_id, user_id, scopes, session_generation)
VALUES (:token_hash, :app_id, :user_id, :scopes, :session_generation)
RETURNING id, scopes, created_at;

-- name: get_token(token_hash)^
-- A bearer token that works: not revoked, and its account (if it has one: an app token has
-- none) still in the session generation it was made in, and not suspended. Asked once per token and process,
-- then again at most every jwt.recheck_seconds (domain/credentials.py: Tokens.verify_stored).
-- Index: idx_oauth_tokens_token_hash; users_pkey.
SELECT t.id, t.app_id, t.user_id, t.scopes
  FROM oauth_tokens t
  LEFT JOIN users u ON u.id = t.user_id
 WHERE t.token_hash = :token_hash
   AND t.revoked_at IS NULL
   AND (t.user_id IS NULL OR (u.session_generation = t.session_generation AND u.suspended_at IS NULL));

-- name: revoke_token(token_hash, app_id)^
-- Revoke a token of this app (idempotent: revoked already, it stays so). The token's app id
-- comes back whether or not it was this app's (no row: no such token), so the caller can
-- refuse to touch another app's token; its user id, so the caller can end it in every process.
-- Index: idx_oauth_tokens_token_hash.
WITH found AS (
    SELECT id, app_id, user_id FROM oauth_tokens WHERE token_hash = :token_hash
), revoked AS (
    UPDATE oauth_tokens t
       SET revoked_at = coalesce(t.revoked_at, now())
      FROM found
     WHERE t.id = found.id AND found.app_id = :app_id
    RETURNING t.id
)
SELECT found.app_id, found.user_id FROM found LEFT JOIN revoked ON revoked.id = found.id;
