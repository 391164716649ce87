-- Media files stored in PostgreSQL (media.store = postgres; store/media.py, PostgresFiles).
-- Paths are the images rows' path and thumbnail_path.

-- name: put_file(path, data)!
-- A path is random and written once; a retried thumbnail task writes the same bytes again.
-- Index: media_files_pkey.
INSERT INTO media_files (path, data) VALUES (:path, :data)
ON CONFLICT (path) DO NOTHING;

-- name: get_file(path)$
-- Index: media_files_pkey.
SELECT data FROM media_files WHERE path = :path;

-- name: has_file(path)$
-- Index: media_files_pkey.
SELECT EXISTS (SELECT 1 FROM media_files WHERE path = :path);

-- name: delete_files(paths)!
-- Index: media_files_pkey.
DELETE FROM media_files WHERE path = ANY(:paths);
