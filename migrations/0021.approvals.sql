-- Sign-ups by approval (issue 28; setting `registrations`; domain/accounts.py: sign_up,
-- domain/moderation.py: approve, reject).
--
-- - users.approved: FALSE while a sign-up made under `registrations = approval` waits for a
--   moderator. Such an account cannot log in (403 "This account is awaiting approval"), and
--   answers 404 to everyone but moderators; its username and email are taken all the same
--   (their unique indexes hold every row). A moderator approves it (TRUE) or rejects it (the
--   row is deleted, and both are free again).
-- - notifications of type `sign_up`: to each moderator and admin, its actor the new account.
-- - the audit log records `approve` and `reject`.
-- depends: 0020.mastodon_api

ALTER TABLE users ADD COLUMN approved BOOLEAN NOT NULL DEFAULT TRUE;
-- GET /api/admin/accounts/?status=pending (moderation.list_pending): a partial index, as
-- small as the set of accounts waiting.
CREATE INDEX idx_users_pending ON users (id) WHERE NOT approved;
-- The moderators and admins a sign-up notifies (moderation.staff_ids): partial, a few rows.
CREATE INDEX idx_users_staff ON users (id) WHERE role <> 'user';

ALTER TABLE notifications DROP CONSTRAINT notifications_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_type_check
    CHECK (type IN ('follow', 'like', 'mention', 'reply', 'repost', 'moderation', 'sign_up'));
-- A sign-up, like a follow, is about no post (0012 named the check notifications_check1).
ALTER TABLE notifications DROP CONSTRAINT notifications_check1;
ALTER TABLE notifications ADD CONSTRAINT notifications_post_check
    CHECK ((type IN ('follow', 'sign_up')) = (post_id IS NULL));

ALTER TABLE moderation_audit DROP CONSTRAINT moderation_audit_action_check;
ALTER TABLE moderation_audit ADD CONSTRAINT moderation_audit_action_check
    CHECK (action IN ('suspend', 'unsuspend', 'remove_post', 'resolve_report', 'grant_role', 'approve', 'reject'));
