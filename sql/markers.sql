-- Markers (the Mastodon face's GET/POST /api/v1/markers; domain/markers.py): where a person
-- stopped reading each timeline. The notifications marker's last read id is the native read
-- mark (notification_state.read_up_to); its row here keeps its version and time.

-- name: get_markers(user_id, timelines)
-- Index: markers_pkey.
SELECT m.timeline,
       CASE WHEN m.timeline = 'home' THEN m.last_read_id
            ELSE (SELECT s.read_up_to FROM notification_state s WHERE s.user_id = m.user_id) END AS last_read_id,
       m.version, m.updated_at
  FROM markers m
 WHERE m.user_id = :user_id AND m.timeline = ANY(:timelines);

-- name: read_mark(user_id)$
-- The native read mark, for a notifications marker never set here. Index: notification_state_pkey.
SELECT coalesce((SELECT read_up_to FROM notification_state WHERE user_id = :user_id), 0);

-- name: set_marker(user_id, timeline, last_read_id)!
-- A new marker, or the next version of it. Index: markers_pkey.
INSERT INTO markers (user_id, timeline, last_read_id)
VALUES (:user_id, :timeline, :last_read_id)
ON CONFLICT (user_id, timeline) DO UPDATE
   SET last_read_id = EXCLUDED.last_read_id, version = markers.version + 1, updated_at = now();
