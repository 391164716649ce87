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
-- Media are served only while their post is live, or while they are someone's avatar.
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
 LIMIT 1;

-- name: delete_image(image_id)^
-- A replaced avatar: its row goes, its files after commit. Index: images_pkey.
DELETE FROM images WHERE id = :image_id RETURNING path, thumbnail_path;
