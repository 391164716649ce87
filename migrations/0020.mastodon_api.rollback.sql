DROP TABLE markers;
CREATE INDEX idx_likes_user_id ON likes (user_id);
DROP INDEX idx_likes_user_id_id;
-- Uploads in no status go, with their files kept in PostgreSQL (a local disk's stay behind).
DELETE FROM media_files
 WHERE path IN (SELECT path FROM images WHERE pending_since IS NOT NULL
                UNION ALL
                SELECT thumbnail_path FROM images WHERE pending_since IS NOT NULL AND thumbnail_path IS NOT NULL);
DELETE FROM images WHERE pending_since IS NOT NULL;
DROP INDEX idx_images_pending_since;
ALTER TABLE images DROP COLUMN pending_since;
ALTER TABLE images DROP COLUMN description;
