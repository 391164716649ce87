-- The rest of the Mastodon face (issue 29): media uploaded ahead of a status, the favourites
-- list, markers.
--
-- - images.description: the alternative text a client sends with an upload (or a later PUT
--   /api/v1/media/:id, while it is in no status), up to 1,500 characters as on Mastodon.
-- - images.pending_since: set when the upload is made and not yet in a status; a status that
--   takes it (domain/media.attach) clears it in its own transaction, so a pending image is
--   exactly one that no post names. Such an image is served (a client shows its preview
--   while the status is written), and one still pending a day later is removed, its files
--   with it, by a beat job (worker/tasks.py: purge_unattached_media) through
--   idx_images_pending_since: it reads only the pending ones, never the posts' images.
-- - idx_likes_user_id_id: a user's likes, newest first (the favourites list,
--   likes.liked_window), keyset on the like's id; it serves what idx_likes_user_id did (an
--   account's deletion finding its likes), which it replaces.
-- - markers: where a person stopped reading (GET/POST /api/v1/markers), a row per user and
--   timeline. `home` keeps its last_read_id here; `notifications` keeps only its version and
--   time: its last read id is the native read mark (notification_state.read_up_to), which
--   the marker moves (domain/notifications.mark_read), so both faces agree on what is read.
-- depends: 0019.moderation

ALTER TABLE images ADD COLUMN description TEXT CHECK (char_length(description) <= 1500);
ALTER TABLE images ADD COLUMN pending_since TIMESTAMPTZ;
CREATE INDEX idx_images_pending_since ON images (pending_since) WHERE pending_since IS NOT NULL;

CREATE INDEX idx_likes_user_id_id ON likes (user_id, id DESC);
DROP INDEX idx_likes_user_id;

CREATE TABLE markers (
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    timeline     TEXT NOT NULL CHECK (timeline IN ('home', 'notifications')),
    last_read_id BIGINT CHECK (last_read_id > 0),
    version      INTEGER NOT NULL DEFAULT 1,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, timeline),
    CHECK ((timeline = 'home') = (last_read_id IS NOT NULL))
);
