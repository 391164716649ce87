-- Reads of the Mastodon face (minitwitter/mastodon/) that the native API has no query for.

-- name: user_id_by_username(username)$
-- GET /api/v1/accounts/lookup?acct=. Index: idx_users_username_lower.
SELECT id FROM users WHERE lower(username) = lower(:username);

-- name: count_users()$
-- The instance's user_count: the accounts users can see, neither suspended nor waiting for
-- approval (as Mastodon counts). Every account (an index-only scan of users_pkey) less the
-- hidden ones (idx_users_suspended and idx_users_pending, a BitmapOr: a few rows), so asked
-- at most once a minute per process (mastodon/instance.py keeps it).
SELECT (SELECT count(*) FROM users) - (SELECT count(*) FROM users WHERE suspended_at IS NOT NULL OR NOT approved);

-- name: repost_of(post_id, user_id)^
-- The caller's repost of a post (POST /api/v1/statuses/:id/reblog answers it as the reblog
-- Status). Index: reposts_pkey (post_id, user_id).
SELECT id, post_id, user_id, created_at FROM reposts WHERE post_id = :post_id AND user_id = :user_id;

-- name: get_repost(id)^
-- A repost by its id (GET /api/v1/statuses/:id of a reblog). Index: reposts_id_key (UNIQUE id).
SELECT id, post_id, user_id, created_at FROM reposts WHERE id = :id;

-- name: list_reposters(post_id, before, limit)
-- Who reposted a post, newest repost first (GET /api/v1/statuses/:id/reblogged_by): keyset
-- on the repost's id. Indexes: idx_reposts_post_id_id (post_id, id) backwards, users_pkey,
-- images_pkey (avatar).
SELECT r.id AS key, u.id, u.username, u.created_at, u.followers_count, u.following_count,
       u.posts_count, u.display_name, u.bio, av.path AS avatar_path
  FROM reposts r
  JOIN users u ON u.id = r.user_id
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE r.post_id = :post_id AND r.id < :before
 ORDER BY r.id DESC
 LIMIT :limit;

-- Timelines and account statuses (mastodon/timelines.py). Each list has two queries: newest
-- first between :after and :before (exclusive: max_id, since_id), and oldest first above
-- :after (min_id: the page just newer than an id, a client refreshing). Rows: key (the
-- status's id: a post's, or a repost's, from one sequence: migrations/0009), post_id,
-- reposter_id (null on a post). :hidden is the viewer's hidden set (domain/safety.py; '{}'
-- for most viewers, whose pages are shared).

-- name: public_statuses(hidden, media, before, after, limit)
-- All live posts, newest first (with an image only, when :media). Index: idx_posts_id_live
-- (backwards from :before, stopping at :after).
SELECT id AS key, id AS post_id, NULL::BIGINT AS reposter_id
  FROM posts
 WHERE deleted_at IS NULL AND id < :before AND id > :after AND author_id <> ALL(CAST(:hidden AS BIGINT[]))
   AND (NOT :media OR image_id IS NOT NULL)
 ORDER BY id DESC
 LIMIT :limit;

-- name: public_statuses_newer(hidden, media, after, limit)
-- The oldest live posts above :after. Index: idx_posts_id_live (forwards from :after).
SELECT id AS key, id AS post_id, NULL::BIGINT AS reposter_id
  FROM posts
 WHERE deleted_at IS NULL AND id > :after AND author_id <> ALL(CAST(:hidden AS BIGINT[]))
   AND (NOT :media OR image_id IS NOT NULL)
 ORDER BY id
 LIMIT :limit;

-- name: tag_statuses(hashtag_id, hidden, before, after, limit)
-- One tag's posts, newest first (post_hashtags links live posts only). Indexes:
-- post_hashtags_pkey (hashtag_id, post_id) backwards; posts_pkey for the author when
-- :hidden is not empty.
SELECT post_id AS key, post_id, NULL::BIGINT AS reposter_id
  FROM post_hashtags
 WHERE hashtag_id = :hashtag_id AND post_id < :before AND post_id > :after
   AND (cardinality(CAST(:hidden AS BIGINT[])) = 0
        OR (SELECT hp.author_id FROM posts hp WHERE hp.id = post_id) <> ALL(CAST(:hidden AS BIGINT[])))
 ORDER BY post_id DESC
 LIMIT :limit;

-- name: tag_statuses_newer(hashtag_id, hidden, after, limit)
-- One tag's oldest posts above :after. Indexes: post_hashtags_pkey forwards; posts_pkey.
SELECT post_id AS key, post_id, NULL::BIGINT AS reposter_id
  FROM post_hashtags
 WHERE hashtag_id = :hashtag_id AND post_id > :after
   AND (cardinality(CAST(:hidden AS BIGINT[])) = 0
        OR (SELECT hp.author_id FROM posts hp WHERE hp.id = post_id) <> ALL(CAST(:hidden AS BIGINT[])))
 ORDER BY post_id
 LIMIT :limit;

-- name: home_reposted_later(user_id, keys, post_ids, hidden)
-- The home timeline's rule for a post met twice (the native feed's, sql/feed.sql: each post
-- once, at its newest occurrence): of the rows (:keys, :post_ids, in pairs), the keys of
-- those whose post the reader or an account the reader follows (not hidden) reposted later.
-- The home timeline merges the native feed with the reader's own statuses, so a post of one
-- list reposted in the other (my reblog of a followee's post, a followee's reblog of mine)
-- leaves out the older row. Each check starts at the row's key and stops at the first
-- repost that counts, as the feed's does. Indexes: idx_reposts_post_id_id; follows_pkey.
SELECT t.key
  FROM unnest(CAST(:keys AS BIGINT[]), CAST(:post_ids AS BIGINT[])) AS t(key, post_id)
 WHERE EXISTS (SELECT 1
                 FROM reposts r
                WHERE r.post_id = t.post_id AND r.id > t.key
                  AND r.user_id <> ALL(CAST(:hidden AS BIGINT[]))
                  AND (r.user_id = :user_id
                       OR EXISTS (SELECT 1 FROM follows f
                                   WHERE f.follower_id = :user_id AND f.followee_id = r.user_id)));

-- name: account_statuses(author_id, hidden, reblogs, replies, media, before, after, limit)
-- An account's statuses, newest first: its live posts (without its replies to other
-- accounts unless :replies: a reply to itself stays; with an image only when :media) and,
-- when :reblogs (and not :media), its reposts of live posts not by a hidden author.
-- Indexes: idx_posts_author_id_id_live, idx_reposts_user_id_id; posts_pkey for a reply's
-- parent and a repost's post.
SELECT key, post_id, reposter_id
  FROM (
        (SELECT p.id AS key, p.id AS post_id, NULL::BIGINT AS reposter_id
           FROM posts p
          WHERE p.author_id = :author_id AND p.deleted_at IS NULL AND p.id < :before AND p.id > :after
            AND (:replies OR p.in_reply_to IS NULL
                 OR (SELECT q.author_id FROM posts q WHERE q.id = p.in_reply_to) = p.author_id)
            AND (NOT :media OR p.image_id IS NOT NULL)
          ORDER BY p.id DESC
          LIMIT :limit)
         UNION ALL
        (SELECT r.id AS key, r.post_id, r.user_id AS reposter_id
           FROM reposts r
           JOIN posts p ON p.id = r.post_id
          WHERE :reblogs AND NOT :media AND r.user_id = :author_id AND r.id < :before AND r.id > :after
            AND p.deleted_at IS NULL AND p.author_id <> ALL(CAST(:hidden AS BIGINT[]))
          ORDER BY r.id DESC
          LIMIT :limit)
       ) s
 ORDER BY key DESC
 LIMIT :limit;

-- name: account_statuses_newer(author_id, hidden, reblogs, replies, media, after, limit)
-- The same, oldest first above :after. Indexes: idx_posts_author_id_id_live and
-- idx_reposts_user_id_id forwards; posts_pkey.
SELECT key, post_id, reposter_id
  FROM (
        (SELECT p.id AS key, p.id AS post_id, NULL::BIGINT AS reposter_id
           FROM posts p
          WHERE p.author_id = :author_id AND p.deleted_at IS NULL AND p.id > :after
            AND (:replies OR p.in_reply_to IS NULL
                 OR (SELECT q.author_id FROM posts q WHERE q.id = p.in_reply_to) = p.author_id)
            AND (NOT :media OR p.image_id IS NOT NULL)
          ORDER BY p.id
          LIMIT :limit)
         UNION ALL
        (SELECT r.id AS key, r.post_id, r.user_id AS reposter_id
           FROM reposts r
           JOIN posts p ON p.id = r.post_id
          WHERE :reblogs AND NOT :media AND r.user_id = :author_id AND r.id > :after
            AND p.deleted_at IS NULL AND p.author_id <> ALL(CAST(:hidden AS BIGINT[]))
          ORDER BY r.id
          LIMIT :limit)
       ) s
 ORDER BY key
 LIMIT :limit;

-- name: relationships(viewer_id, ids)
-- The Relationship of the viewer with each existing account among :ids, in their order
-- (GET /api/v1/accounts/relationships, and what a follow, block or mute answers).
-- Indexes: users_pkey, follows_pkey both ways, blocks_pkey both ways, mutes_pkey.
SELECT u.id,
       EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = :viewer_id AND f.followee_id = u.id) AS following,
       EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = u.id AND f.followee_id = :viewer_id) AS followed_by,
       EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = :viewer_id AND b.blocked_id = u.id) AS blocking,
       EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = :viewer_id) AS blocked_by,
       EXISTS (SELECT 1 FROM mutes m WHERE m.muter_id = :viewer_id AND m.muted_id = u.id) AS muting
  FROM unnest(CAST(:ids AS BIGINT[])) WITH ORDINALITY AS i (id, position)
  JOIN users u ON u.id = i.id
 ORDER BY i.position;

-- name: notifications_page(user_id, types, before, after, limit)
-- GET /api/v1/notifications: mine of these native types, newest first, between :after and
-- :before (exclusive). Index: idx_notifications_recipient_id_id (recipient_id, id) INCLUDE
-- (actor_id, type, post_id, created_at), backwards: an index-only scan.
SELECT id AS key, type, actor_id, post_id, created_at
  FROM notifications
 WHERE recipient_id = :user_id AND id < :before AND id > :after AND type = ANY(CAST(:types AS TEXT[]))
 ORDER BY id DESC
 LIMIT :limit;

-- name: notifications_newer(user_id, types, after, limit)
-- The same, oldest first above :after (min_id). Index: idx_notifications_recipient_id_id forwards.
SELECT id AS key, type, actor_id, post_id, created_at
  FROM notifications
 WHERE recipient_id = :user_id AND id > :after AND type = ANY(CAST(:types AS TEXT[]))
 ORDER BY id
 LIMIT :limit;

-- name: get_notification(user_id, id)^
-- One of mine. Index: notifications_pkey.
SELECT id AS key, type, actor_id, post_id, created_at
  FROM notifications
 WHERE id = :id AND recipient_id = :user_id;
