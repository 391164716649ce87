-- Notifications (docs/API.md, "Beyond the seed": notifications).
--
-- - notifications: one row per event that tells someone else something: a follow, a like,
--   a mention, a reply or a repost (domain/notifications.py, called where each event
--   happens). `post_id` is the liked or reposted post, the post that mentions, or the
--   reply itself; NULL for a follow. One row per (actor, recipient, type, post): a
--   repeated like or follow (like, unlike, like again) finds its row there and adds none.
--   No row for one's own actions (CHECK) or between accounts that block each other, or
--   from an account the recipient mutes (the insert checks blocks and mutes).
--   post_id has no foreign key on purpose (like posts.in_reply_to): a post's soft delete
--   deletes its notifications (domain/posts.py), and an account's deletion takes every
--   notification it is the actor or the recipient of (domain/accounts.py, in one
--   statement; the users foreign keys cascade as well), which covers all those of its
--   posts; so the purge of a deleted post finds none, and no cascade per post runs when an
--   account with thousands of posts goes.
-- - notification_state: per user, `read_up_to` (every notification of theirs with an id up
--   to it is read: POST /api/notifications/read/ moves it, never back) and `unread` (how
--   many of theirs have an id above it). GET /api/notifications/unread_count/ reads
--   `unread`: one primary key probe, no rows counted. A row per user, made by
--   tgr_users_notification_state. `unread` is kept by tgr_notifications_unread_* one
--   statement at a time (transition tables), whichever way rows come or go: a new event,
--   a post's delete, an account's deletion, a block or a mute (below).
-- - A block (either way) or a mute made later deletes the notifications between the two
--   accounts (tgr_blocks_notifications, tgr_mutes_notifications; nothing for whoever
--   writes blocks and mutes to call). They are deferred to the end of the transaction,
--   so their locks come last whatever the block's write does before.
--
-- Exactness under concurrency: whatever adds, deletes or reads-up-to a user's
-- notifications first locks that user's notification_state row, then works in a later
-- statement (a new snapshot under READ COMMITTED): a new notification's check against
-- blocks and mutes therefore sees a block committed before it, and a block's delete sees
-- a notification committed before it (tests/test_notifications.py races the two); the
-- counter only ever changes under that lock, and counts ids above read_up_to as it is then.
--
-- Lock order (see 0006): notification_state rows come last, by user_id, after posts,
-- users, hashtags and post_totals: an event notifies after its own writes.
-- depends: 0011.safety

CREATE TABLE notifications (
    id           BIGSERIAL PRIMARY KEY,
    recipient_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type         TEXT NOT NULL CHECK (type IN ('follow', 'like', 'mention', 'reply', 'repost')),
    post_id      BIGINT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (actor_id <> recipient_id),
    CHECK ((type = 'follow') = (post_id IS NULL))
);
-- notifications.list_notifications (newest first, keyset by id), mark_read (the newest at
-- or below up_to, and those it marks), and the cascade of a deleted recipient. Covering
-- (INCLUDE) so that a page reads no notification's row: without it the planner walked the
-- primary key backwards for a user holding a fifth of the rows, all of them old (43 ms
-- for page 1 against 0.2 ms; the rows are only inserted and deleted, so the visibility
-- map stays current).
CREATE INDEX idx_notifications_recipient_id_id ON notifications (recipient_id, id)
    INCLUDE (actor_id, type, post_id, created_at);
-- notifications.create: one row per event (ON CONFLICT DO NOTHING); the blocks and mutes
-- triggers' delete between two accounts; the cascade of a deleted actor.
CREATE UNIQUE INDEX idx_notifications_event
    ON notifications (actor_id, recipient_id, type, post_id) NULLS NOT DISTINCT;
-- notifications.delete_post_notifications (a post's delete).
CREATE INDEX idx_notifications_post_id ON notifications (post_id) WHERE post_id IS NOT NULL;

CREATE TABLE notification_state (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    read_up_to BIGINT NOT NULL DEFAULT 0,
    unread     INTEGER NOT NULL DEFAULT 0 CHECK (unread >= 0)
);
INSERT INTO notification_state (user_id) SELECT id FROM users;

CREATE FUNCTION users_notification_state() RETURNS TRIGGER AS $$
BEGIN
    INSERT INTO notification_state (user_id) VALUES (NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tgr_users_notification_state
AFTER INSERT ON users
FOR EACH ROW EXECUTE FUNCTION users_notification_state();

-- `changed`: the statement's new rows (INSERT) or its deleted ones (DELETE).
CREATE FUNCTION notifications_unread_changed() RETURNS TRIGGER AS $$
DECLARE
    delta INTEGER := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    PERFORM 1 FROM notification_state
      WHERE user_id IN (SELECT recipient_id FROM changed)
      ORDER BY user_id
        FOR NO KEY UPDATE;
    -- Under those locks, a new statement: read_up_to is the latest.
    UPDATE notification_state s
       SET unread = s.unread + delta * c.n
      FROM (SELECT ch.recipient_id, count(*) AS n
              FROM changed ch
              JOIN notification_state r ON r.user_id = ch.recipient_id
             WHERE ch.id > r.read_up_to
             GROUP BY 1) c
     WHERE s.user_id = c.recipient_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tgr_notifications_unread_insert
AFTER INSERT ON notifications
REFERENCING NEW TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION notifications_unread_changed();

CREATE TRIGGER tgr_notifications_unread_delete
AFTER DELETE ON notifications
REFERENCING OLD TABLE AS changed
FOR EACH STATEMENT EXECUTE FUNCTION notifications_unread_changed();

-- A block either way, or a mute of the actor by the recipient: the notifications between
-- them go. The two state rows are locked first, in id order (see above).
CREATE FUNCTION forget_notifications_between() RETURNS TRIGGER AS $$
BEGIN
    IF TG_TABLE_NAME = 'blocks' THEN
        PERFORM 1 FROM notification_state
          WHERE user_id IN (NEW.blocker_id, NEW.blocked_id)
          ORDER BY user_id
            FOR NO KEY UPDATE;
        DELETE FROM notifications
         WHERE (actor_id = NEW.blocked_id AND recipient_id = NEW.blocker_id)
            OR (actor_id = NEW.blocker_id AND recipient_id = NEW.blocked_id);
    ELSE
        PERFORM 1 FROM notification_state WHERE user_id = NEW.muter_id FOR NO KEY UPDATE;
        DELETE FROM notifications WHERE actor_id = NEW.muted_id AND recipient_id = NEW.muter_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER tgr_blocks_notifications
AFTER INSERT ON blocks
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION forget_notifications_between();

CREATE CONSTRAINT TRIGGER tgr_mutes_notifications
AFTER INSERT ON mutes
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION forget_notifications_between();
