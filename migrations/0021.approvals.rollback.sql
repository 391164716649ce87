-- The audit log is append-only: its entries of `approve` and `reject` stay, so the wider
-- check stays too (NOT VALID would hide them; a narrower check would fail on them).
DELETE FROM notifications WHERE type = 'sign_up';
ALTER TABLE notifications DROP CONSTRAINT notifications_post_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_check1 CHECK ((type = 'follow') = (post_id IS NULL));
ALTER TABLE notifications DROP CONSTRAINT notifications_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_type_check
    CHECK (type IN ('follow', 'like', 'mention', 'reply', 'repost', 'moderation'));
DROP INDEX idx_users_staff;
DROP INDEX idx_users_pending;
ALTER TABLE users DROP COLUMN approved;
