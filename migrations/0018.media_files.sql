-- Media files in PostgreSQL (settings media.store = postgres; minitwitter/store/media.py,
-- PostgresFiles): every host reaches them over the network, the replicas serve them, and
-- pg_dump backs them up with the rows that name them.
--
-- - One row per stored file: a post image, its thumbnail, an avatar, named by the path the
--   images row holds (path or thumbnail_path). The bytes are written in the transaction that
--   writes the images row, and deleted in the one that deletes it: a rolled-back upload
--   leaves nothing, and no committed row names a missing file.
-- - STORAGE EXTERNAL: images are already compressed, so TOAST stores them out of line
--   without trying pglz on them first.
CREATE TABLE media_files (
    path       TEXT PRIMARY KEY,
    data       BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE media_files ALTER COLUMN data SET STORAGE EXTERNAL;
