-- Moderation (issue 28): roles, suspensions and an audit log of every moderation action.
--
-- - users.role: `user` at sign-up; `moderator` and `admin` are granted on the server
--   (minitwitter-admin <ini> grant) or by an admin (POST /api/admin/accounts/{id}/role/).
--   Read by each /api/admin/ request (moderation.role: users_pkey), and by /api/users/me/.
-- - moderation_audit: append-only. Nothing changes or deletes an entry: the triggers below
--   refuse UPDATE, DELETE and TRUNCATE of it, whoever asks. Its ids are plain numbers,
--   not foreign keys: an entry outlives the post it removed and the accounts it names (a
--   foreign key would delete or block them). actor_id is NULL for an action of the server
--   itself (minitwitter-admin).
-- - users.suspended_at: set while the account is suspended (domain/moderation.py). Nothing
--   else changes: its posts, follows, likes and the counts that include them stay, and show
--   again when it is lifted. Who is suspended is one small set every list leaves out
--   (domain/safety.py: suspended), read through idx_users_suspended.
-- depends: 0017.mastodon_oauth

ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user'
    CONSTRAINT users_role_check CHECK (role IN ('user', 'moderator', 'admin'));

ALTER TABLE users ADD COLUMN suspended_at TIMESTAMPTZ;
-- moderation.suspended_ids: the set every list leaves out; a partial index, as small as the set.
CREATE INDEX idx_users_suspended ON users (id) WHERE suspended_at IS NOT NULL;

CREATE TABLE moderation_audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id BIGINT,
    action TEXT NOT NULL CONSTRAINT moderation_audit_action_check
        CHECK (action IN ('suspend', 'unsuspend', 'remove_post', 'resolve_report', 'grant_role')),
    account_id BIGINT,
    post_id BIGINT,
    reason TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- GET /api/admin/audit/ pages newest first by id (moderation.list_audit): moderation_audit_pkey,
-- walked backwards from the cursor. No other index: the log is written once per action
-- and read a page at a time.

CREATE FUNCTION moderation_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'moderation_audit is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER moderation_audit_no_update BEFORE UPDATE OR DELETE ON moderation_audit
    FOR EACH ROW EXECUTE FUNCTION moderation_audit_append_only();
CREATE TRIGGER moderation_audit_no_truncate BEFORE TRUNCATE ON moderation_audit
    FOR EACH STATEMENT EXECUTE FUNCTION moderation_audit_append_only();
