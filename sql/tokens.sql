-- Refresh tokens: rotation with reuse detection. Every token issued for one login
-- shares a family; replaying a token that was already rotated revokes the family.

-- name: create_refresh_token(jti, user_id, family, expires_at)!
INSERT INTO refresh_tokens (jti, user_id, family, expires_at)
VALUES (:jti, :user_id, :family, :expires_at);

-- name: rotate_refresh_token(jti)^
-- Spend a live refresh token, atomically: of two concurrent refreshes only one
-- gets the row back. Index: refresh_tokens_pkey.
UPDATE refresh_tokens
   SET revoked_at = now()
 WHERE jti = :jti AND revoked_at IS NULL AND expires_at > now()
RETURNING user_id, family;

-- name: revoke_family(family)!
-- Log out, or answer a replayed token: every token of the family stops working.
-- Index: idx_refresh_tokens_family.
UPDATE refresh_tokens
   SET revoked_at = now()
 WHERE family = :family AND revoked_at IS NULL;
