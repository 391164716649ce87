-- Post images. Files live under MEDIA_ROOT; these rows say what they are.

-- name: create_image(owner_id, path, content_type, width, height, bytes, sha256)$
INSERT INTO images (owner_id, path, content_type, width, height, bytes, sha256)
VALUES (:owner_id, :path, :content_type, :width, :height, :bytes, :sha256)
RETURNING id;

-- name: get_image(image_id)^
-- An image and its post. Indexes: images_pkey, posts_image_id_key.
SELECT i.id, i.path, i.thumbnail_path, p.id AS post_id
  FROM images i LEFT JOIN posts p ON p.image_id = i.id
 WHERE i.id = :image_id;

-- name: set_thumbnail(image_id, thumbnail_path)!
-- Index: images_pkey.
UPDATE images SET thumbnail_path = :thumbnail_path WHERE id = :image_id;

-- name: live_image(path)^
-- Media are served only while their post is live, while they are someone's avatar, or while
-- they are an upload no status has taken yet (pending_since, migration 0020).
-- Indexes: images_path_key (path), idx_images_thumbnail_path, posts_image_id_key,
-- users_avatar_image_id_key.
SELECT i.content_type
  FROM images i
  JOIN posts p ON p.image_id = i.id
 WHERE i.path = :path AND p.deleted_at IS NULL
 UNION ALL
SELECT i.content_type
  FROM images i
  JOIN posts p ON p.image_id = i.id
 WHERE i.thumbnail_path = :path AND p.deleted_at IS NULL
 UNION ALL
SELECT i.content_type
  FROM images i
  JOIN users u ON u.avatar_image_id = i.id
 WHERE i.path = :path
 UNION ALL
SELECT i.content_type
  FROM images i
 WHERE i.path = :path AND i.pending_since IS NOT NULL
 UNION ALL
SELECT i.content_type
  FROM images i
 WHERE i.thumbnail_path = :path AND i.pending_since IS NOT NULL
 LIMIT 1;

-- name: delete_image(image_id)^
-- A replaced avatar: its row goes, its files after commit. Index: images_pkey.
DELETE FROM images WHERE id = :image_id RETURNING path, thumbnail_path;

-- Uploads ahead of a status (the Mastodon face's media: domain/media.py upload, attach).

-- name: create_upload(owner_id, path, content_type, width, height, bytes, sha256, description)$
-- An image in no post yet: pending until a status takes it (attach) or a day passes (purge_uploads).
INSERT INTO images (owner_id, path, content_type, width, height, bytes, sha256, description, pending_since)
VALUES (:owner_id, :path, :content_type, :width, :height, :bytes, :sha256, :description, now())
RETURNING id;

-- name: get_upload(image_id, owner_id)^
-- An upload of its owner that no status has taken. Index: images_pkey.
SELECT id, path, thumbnail_path, content_type, width, height, description
  FROM images
 WHERE id = :image_id AND owner_id = :owner_id AND pending_since IS NOT NULL;

-- name: describe_upload(image_id, owner_id, description)^
-- Its description, while no status has taken it (a status's own write would race it: the
-- row's lock orders them, and the loser finds it taken). Index: images_pkey.
UPDATE images SET description = :description
 WHERE id = :image_id AND owner_id = :owner_id AND pending_since IS NOT NULL
RETURNING id, path, thumbnail_path, content_type, width, height, description;

-- name: attach_upload(image_id, owner_id)^
-- A status takes its owner's pending upload: the row stays locked until the status commits,
-- so two statuses cannot both take it and the purge (SKIP LOCKED) passes it by.
-- Index: images_pkey.
UPDATE images SET pending_since = NULL
 WHERE id = :image_id AND owner_id = :owner_id AND pending_since IS NOT NULL
RETURNING id;

-- name: purge_uploads(hours, batch)
-- Uploads no status took within `hours`, oldest first, a batch at a time; those a status is
-- taking right now are locked and skipped (and stay: it clears pending_since). Returns their
-- files. Index: idx_images_pending_since.
DELETE FROM images
 WHERE id IN (SELECT id FROM images
               WHERE pending_since IS NOT NULL AND pending_since < now() - make_interval(hours => :hours)
               ORDER BY pending_since
               LIMIT :batch
                 FOR UPDATE SKIP LOCKED)
RETURNING path, thumbnail_path;
