DROP TABLE report_posts;
DROP TABLE reports;
DELETE FROM notifications WHERE type = 'moderation';
ALTER TABLE notifications DROP COLUMN reason;
ALTER TABLE notifications DROP CONSTRAINT notifications_type_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_type_check
    CHECK (type IN ('follow', 'like', 'mention', 'reply', 'repost'));
DROP TABLE moderation_audit;
DROP FUNCTION moderation_audit_append_only();
ALTER TABLE users DROP COLUMN suspended_at;
ALTER TABLE users DROP COLUMN role;
