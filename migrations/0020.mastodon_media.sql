-- Media uploaded ahead of a status (issue 29: the Mastodon face's POST /api/v2/media).
--
-- - images.description: the alternative text a client sends with an upload (or a later PUT
--   /api/v1/media/:id, while it is in no status), up to 1,500 characters as on Mastodon.
-- - images.pending_since: set when the upload is made and not yet in a status; a status that
--   takes it (domain/media.attach) clears it in its own transaction, so a pending image is
--   exactly one that no post names. Such an image is served (a client shows its preview
--   while the status is written), and one still pending a day later is removed, its files
--   with it, by a beat job (worker/tasks.py: purge_unattached_media) through
--   idx_images_pending_since: it reads only the pending ones, never the posts' images.
-- depends: 0019.moderation

ALTER TABLE images ADD COLUMN description TEXT CHECK (char_length(description) <= 1500);
ALTER TABLE images ADD COLUMN pending_since TIMESTAMPTZ;
CREATE INDEX idx_images_pending_since ON images (pending_since) WHERE pending_since IS NOT NULL;
