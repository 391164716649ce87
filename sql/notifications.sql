-- Notifications (domain/notifications.py; migrations/0012 says how the unread count stays
-- exact). Every write first locks the notification_state rows it is about (lock_states),
-- then runs in a statement of its own.

-- name: lock_states(user_ids)
-- The users' notification_state rows, locked in id order (last in the lock order of
-- migration 0006). Index: notification_state_pkey.
SELECT user_id
  FROM notification_state
 WHERE user_id = ANY(CAST(:user_ids AS BIGINT[]))
 ORDER BY user_id
   FOR NO KEY UPDATE;

-- name: create(type, actor_id, recipient_ids, post_id)!
-- One notification of an event to each recipient but the actor, none where a block
-- stands either way or the recipient mutes the actor, none about a post no longer live,
-- and none twice (a repeated like or follow); tgr_notifications_unread_insert counts
-- them. Indexes: blocks_pkey (blocker_id, blocked_id),
-- mutes_pkey (muter_id, muted_id), posts_pkey, idx_notifications_event.
INSERT INTO notifications (recipient_id, actor_id, type, post_id)
SELECT r.id, :actor_id, :type, :post_id
  FROM unnest(CAST(:recipient_ids AS BIGINT[])) AS r (id)
 WHERE r.id <> :actor_id
   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = r.id AND b.blocked_id = :actor_id)
   AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = :actor_id AND b.blocked_id = r.id)
   AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.muter_id = r.id AND m.muted_id = :actor_id)
   AND (CAST(:post_id AS BIGINT) IS NULL
        OR EXISTS (SELECT 1 FROM posts p WHERE p.id = :post_id AND p.deleted_at IS NULL))
ON CONFLICT DO NOTHING;

-- name: moderated(actor_id, recipient_id, post_id, reason)!
-- A moderator removed the recipient's post (domain/moderation.remove_post): told whatever
-- blocks or mutes stand between them; post_id names the post removed (no longer live).
-- tgr_notifications_unread_insert counts it. Index: idx_notifications_event.
INSERT INTO notifications (recipient_id, actor_id, type, post_id, reason)
VALUES (:recipient_id, :actor_id, 'moderation', :post_id, :reason)
ON CONFLICT DO NOTHING;

-- name: delete_post_notifications(post_id)!
-- A post deleted: the notifications about it go (tgr_notifications_unread_delete uncounts
-- them). Index: idx_notifications_post_id.
DELETE FROM notifications WHERE post_id = :post_id;

-- name: delete_account_notifications(user_id)!
-- An account's deletion: the notifications it received and those it caused, in one
-- statement, so that tgr_notifications_unread_delete locks every recipient's row in one
-- id order (the users foreign keys' cascades would be two statements, two lock rounds).
-- Indexes: idx_notifications_recipient_id_id, idx_notifications_event (actor_id first).
DELETE FROM notifications WHERE recipient_id = :user_id OR actor_id = :user_id;

-- name: mark_read(user_id, up_to)!
-- Read up to :up_to: read_up_to moves to the caller's newest notification at or below it
-- (an id that is not theirs is a bound; never past their newest, so what comes later is
-- unread: all but a notification whose transaction drew its id before that newest one's and
-- commits after this, which is read from the start), never back; unread drops by the
-- notifications it passes. The caller has locked the row (lock_states). Indexes: idx_notifications_recipient_id_id, notification_state_pkey.
WITH mark AS (
    SELECT coalesce(max(id), 0) AS up_to
      FROM notifications
     WHERE recipient_id = :user_id AND id <= :up_to
)
UPDATE notification_state s
   SET read_up_to = mark.up_to,
       unread = s.unread - (SELECT count(*)
                              FROM notifications n
                             WHERE n.recipient_id = :user_id
                               AND n.id > s.read_up_to AND n.id <= mark.up_to)
  FROM mark
 WHERE s.user_id = :user_id AND mark.up_to > s.read_up_to;

-- name: unread_count(user_id)$
-- The materialized count: no rows counted. Index: notification_state_pkey.
SELECT coalesce((SELECT unread FROM notification_state WHERE user_id = :user_id), 0);

-- name: list_notifications(user_id, before, offset, limit)
-- My notifications, newest first (keyset on id), each with its actor's profile and
-- whether it is read. Indexes: idx_notifications_recipient_id_id, notification_state_pkey,
-- users_pkey, images_pkey (avatar), follows_pkey (followed_by_me).
SELECT n.id AS key, n.type, n.post_id, n.reason, n.created_at AS notified_at, n.id <= s.read_up_to AS read,
       u.id, u.username, u.created_at, u.followers_count, u.following_count,
       u.posts_count, u.display_name, u.bio,
       av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       EXISTS (SELECT 1 FROM follows f
                WHERE f.follower_id = :user_id AND f.followee_id = u.id) AS followed_by_me
  FROM notifications n
  JOIN notification_state s ON s.user_id = n.recipient_id
  JOIN users u ON u.id = n.actor_id
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE n.recipient_id = :user_id AND n.id < :before
 ORDER BY n.id DESC
OFFSET :offset
 LIMIT :limit;

-- name: dismiss(user_id, id)!
-- One of the caller's notifications goes (the Mastodon face's dismiss); the caller has
-- locked their row (lock_states): tgr_notifications_unread_delete uncounts it if unread.
-- Index: notifications_pkey.
DELETE FROM notifications WHERE id = :id AND recipient_id = :user_id;

-- name: clear(user_id)!
-- All of the caller's notifications go (the Mastodon face's clear); locked first, as
-- dismiss. Index: idx_notifications_recipient_id_id.
DELETE FROM notifications WHERE recipient_id = :user_id;
