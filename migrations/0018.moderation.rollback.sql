DROP TABLE moderation_audit;
DROP FUNCTION moderation_audit_append_only();
ALTER TABLE users DROP COLUMN suspended_at;
ALTER TABLE users DROP COLUMN role;
