-- "X followed you" at most once per pair per interval (mail.follow_email_hours): unfollow
-- and follow again sends no second email. Written by the email task when it sends, in the
-- transaction that claims the outbox row (tasks.follow_email, outbox.note_follow_email).
-- depends: 0006.lock_order

CREATE TABLE follow_emails (
    follower_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sent_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- outbox.note_follow_email: one row per pair.
    PRIMARY KEY (follower_id, followee_id)
);
-- Foreign key lookups when a followee is deleted.
CREATE INDEX idx_follow_emails_followee_id ON follow_emails (followee_id);
