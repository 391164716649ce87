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
-- - notifications of type `moderation`: a moderator removed one of my posts
--   (domain/moderation.remove_post), with the moderator's reason; post_id names the post
--   removed (so that two removals are two notifications under idx_notifications_event).
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

ALTER TABLE notifications DROP CONSTRAINT notifications_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_type_check
    CHECK (type IN ('follow', 'like', 'mention', 'reply', 'repost', 'moderation'));
ALTER TABLE notifications ADD COLUMN reason TEXT;

-- Reports (domain/reports.py): a user reports an account, and some of its posts, to the
-- moderators. One open report per reporter and account (idx_reports_one_open): a repeat
-- adds its posts to it. The reported account never learns who reported it: only the
-- reporter and the moderators read a report. A report goes with either account.
CREATE TABLE reports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reporter_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    category TEXT NOT NULL CONSTRAINT reports_category_check CHECK (category IN ('spam', 'abuse', 'illegal', 'other')),
    comment TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open' CONSTRAINT reports_status_check CHECK (status IN ('open', 'resolved')),
    action_taken TEXT CONSTRAINT reports_action_check CHECK (action_taken IN ('none', 'remove_posts', 'suspend')),
    note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    resolved_at TIMESTAMPTZ,
    CONSTRAINT reports_resolved_check CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND action_taken IS NOT NULL)),
    CONSTRAINT reports_not_self CHECK (reporter_id <> account_id)
);
-- reports.file: one open report per reporter and account (a repeat finds it, ON CONFLICT).
CREATE UNIQUE INDEX idx_reports_one_open ON reports (reporter_id, account_id) WHERE status = 'open';
-- reports.list_mine: my reports, newest first (keyset on id).
CREATE INDEX idx_reports_reporter_id_id ON reports (reporter_id, id);
-- reports.list_open: the open reports, oldest first; list_resolved: the resolved, newest
-- first (keyset on id both). Partial: each holds one status's rows only.
CREATE INDEX idx_reports_open_id ON reports (id) WHERE status = 'open';
CREATE INDEX idx_reports_resolved_id ON reports (id) WHERE status = 'resolved';
-- The account's side of the cascade when it is deleted.
CREATE INDEX idx_reports_account_id ON reports (account_id);

CREATE TABLE report_posts (
    report_id BIGINT NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (report_id, post_id)
);
