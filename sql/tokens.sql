-- Refresh tokens: rotation with reuse detection. Every token issued for one login
-- shares a family; replaying a token that was already rotated revokes the family.

-- name: create_refresh_token(jti, user_id, family, expires_at)!
INSERT INTO refresh_tokens (jti, user_id, family, expires_at)
VALUES (:jti, :user_id, :family, :expires_at);

-- name: rotate_refresh_token(jti)^
-- Spend a live refresh token, atomically: of two concurrent refreshes only one
-- gets the row back. Index: refresh_tokens_pkey.
-- The account's session_generation goes into the new access token. users_pkey.
UPDATE refresh_tokens t
   SET revoked_at = now()
  FROM users u
 WHERE t.jti = :jti AND t.revoked_at IS NULL AND t.expires_at > now() AND u.id = t.user_id
RETURNING t.user_id, t.family, u.session_generation, u.suspended_at IS NOT NULL AS suspended, u.approved;

-- name: revoke_family(family)!
-- Log out, or answer a replayed token: every token of the family stops working.
-- Index: idx_refresh_tokens_family.
UPDATE refresh_tokens
   SET revoked_at = now()
 WHERE family = :family AND revoked_at IS NULL;

-- name: revoke_user_tokens(user_id)!
-- A password change or reset: every refresh token of the account stops working.
-- Index: idx_refresh_tokens_user_id.
UPDATE refresh_tokens
   SET revoked_at = now()
 WHERE user_id = :user_id AND revoked_at IS NULL;
