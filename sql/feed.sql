-- The home feed: the live posts of the accounts a user follows and the posts they
-- reposted, newest first. Post ids and repost ids come from one sequence (migrations/0009),
-- so one key orders both: a post at its creation, a repost at the time of the repost.
-- Each post appears once, at its newest occurrence for this reader: a plain post is left
-- out when a followee reposted it, a repost when a followee reposted the same post later.
-- That rule does not depend on the page, so keyset pages never repeat or skip a post.
-- Rows: key (the cursor), post_id, and reposter_id, reposter_username (null on a plain post).
--
-- Three ways to answer it (domain/timelines.feed_rows):
-- - feed_from_timeline: the reader's home timeline (migrations/0013), entries written when
--   a followee posts or reposts (domain/timelines.py), merged with the posts and reposts of
--   the followees too popular to fan out (pulled_authors). Used for a reader whose timeline
--   is filled, as long as it holds the whole page (the newest feed.timeline_size entries).
-- - else one of two pull plans, chosen by the reader's following_count: feed_by_followee,
--   feed_by_timeline. They also fill a timeline (timelines.fill).
--
-- :hidden (the pull plans) is the reader's hidden set (domain/safety.py: accounts blocked
-- either way or muted; '{}' for most readers; a reader with one reads the pull plans only,
-- domain/timelines.feed_rows): their posts, their reposts and reposts of their posts are
-- left out inside each branch, before the LIMIT, so a page stays full. A later repost by a
-- hidden followee does not push a post out either. With '{}' each clause folds to true
-- (cardinality(...) = 0 is a constant) or tests an empty array: the plans are as before.

-- name: timeline_state(user_id, settle)^
-- The reader's home timeline, if there is one: ready (filled, in use), due (stale for
-- longer than :settle seconds: to be filled now), whether it was read today (timelines.touch,
-- migrations/0014), and the followees whose posts and reposts
-- are pulled at read time. Indexes: home_timelines_pkey; pulled_authors_pkey (read whole:
-- the accounts over feed.pull_followers, a few dozen in D3) with follows_pkey.
SELECT m.stale_since IS NULL AS ready,
       m.stale_since < now() - make_interval(secs => :settle) AS due,
       m.floor,
       m.read_on < current_date AS first_read_today,
       ARRAY(SELECT a.user_id
               FROM pulled_authors a
              WHERE EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = :user_id AND f.followee_id = a.user_id)
              ORDER BY 1) AS pulled
  FROM home_timelines m
 WHERE m.user_id = :user_id;

-- name: feed_from_timeline(user_id, pulled, suspended, before, offset, limit)
-- The top (offset + limit) entries of the reader's timeline below :before and above its
-- floor (below it, the timeline holds only what a racing write may have left), each checked
-- at read time, so that no write racing a fan-out can show what is gone: the post is live,
-- the reader still follows whom it came through (the reposter, else the author),
-- a repost still exists, and no followee reposted the post later (each post once, at its
-- newest occurrence, as in the pull plans). Entries through a pulled followee are left out:
-- the per-followee part reads those followees' posts and reposts above the lowest key of
-- the timeline's rows, or above the timeline's floor when they are fewer than
-- offset + limit (a page of the merge never reaches below what the timeline holds).
-- timeline_rows says how many timeline rows there were: fewer than offset + limit, and a
-- floor above 0, means the timeline does not hold the page (it was trimmed, or filled with
-- the newest items only): domain/timelines.feed_rows then reads a pull plan.
-- The one place that sees each entry's author and reposter: the timeline's WHERE below
-- (h.author_id, h.reposter_id). :suspended (domain/safety.suspended: '{}' but while an
-- account is suspended) is left out as :hidden is in the pull plans: their posts, reposts
-- and reposts of their posts, and a later repost of theirs pushes no post out.
-- Indexes: home_timelines_pkey, home_timeline_pkey (user_id, key) backwards, posts_pkey, follows_pkey,
-- reposts_pkey, idx_reposts_post_id_id; for the pulled followees idx_posts_author_id_id_live
-- and idx_reposts_user_id_id; users_pkey.
WITH timeline AS (
    -- The checks sit in a LATERAL with a LIMIT, which the planner cannot flatten into joins:
    -- the entries are walked newest first on the index and the walk stops at the page.
    SELECT h.key, h.post_id, h.reposter_id
      FROM home_timeline h
     CROSS JOIN LATERAL (
            SELECT 1
              FROM posts p
             WHERE p.id = h.post_id AND p.deleted_at IS NULL
               AND EXISTS (SELECT 1 FROM follows f
                            WHERE f.follower_id = :user_id AND f.followee_id = coalesce(h.reposter_id, h.author_id))
               AND (h.reposter_id IS NULL
                    OR EXISTS (SELECT 1 FROM reposts r
                                WHERE r.post_id = h.post_id AND r.user_id = h.reposter_id AND r.id = h.key))
               AND NOT EXISTS (SELECT 1
                                 FROM reposts r
                                 JOIN follows rf ON rf.follower_id = :user_id AND rf.followee_id = r.user_id
                                WHERE r.post_id = h.post_id AND r.id > h.key
                                  AND r.user_id <> ALL(CAST(:suspended AS BIGINT[])))
             LIMIT 1
           ) live
     WHERE h.user_id = :user_id AND h.key < :before
       AND h.key > (SELECT m.floor FROM home_timelines m WHERE m.user_id = :user_id)
       AND coalesce(h.reposter_id, h.author_id) <> ALL (CAST(:pulled AS BIGINT[]))
       AND h.author_id <> ALL (CAST(:suspended AS BIGINT[]))
       AND coalesce(h.reposter_id, 0) <> ALL (CAST(:suspended AS BIGINT[]))
     ORDER BY h.key DESC
     LIMIT CAST(:offset AS BIGINT) + CAST(:limit AS BIGINT)
), floor AS (
    SELECT CASE WHEN count(*) = CAST(:offset AS BIGINT) + CAST(:limit AS BIGINT) THEN min(key)
                ELSE (SELECT m.floor FROM home_timelines m WHERE m.user_id = :user_id) END AS key,
           count(*) AS rows
      FROM timeline
)
SELECT i.key, i.post_id, i.reposter_id, u.username AS reposter_username, floor.rows AS timeline_rows
  FROM (
        SELECT key, post_id, reposter_id FROM timeline
         UNION ALL
        SELECT t.key, t.post_id, t.reposter_id
          FROM unnest(CAST(:pulled AS BIGINT[])) AS f (followee_id)
         CROSS JOIN LATERAL (
                SELECT p.id AS key, p.id AS post_id, NULL::BIGINT AS reposter_id
                  FROM posts p
                 WHERE p.author_id = f.followee_id AND p.deleted_at IS NULL
                   AND p.id < :before AND p.id > (SELECT key FROM floor)
                   AND NOT EXISTS (SELECT 1
                                     FROM reposts r
                                     JOIN follows rf ON rf.follower_id = :user_id AND rf.followee_id = r.user_id
                                    WHERE r.post_id = p.id AND r.user_id <> ALL(CAST(:suspended AS BIGINT[])))
                 ORDER BY p.id DESC
                 LIMIT CAST(:offset AS BIGINT) + CAST(:limit AS BIGINT)
               ) t
         WHERE f.followee_id <> ALL(CAST(:suspended AS BIGINT[]))
         UNION ALL
        SELECT t.key, t.post_id, t.reposter_id
          FROM unnest(CAST(:pulled AS BIGINT[])) AS f (followee_id)
         CROSS JOIN LATERAL (
                SELECT r.id AS key, r.post_id, r.user_id AS reposter_id
                  FROM reposts r
                 WHERE r.user_id = f.followee_id AND r.id < :before AND r.id > (SELECT key FROM floor)
                   AND NOT EXISTS (SELECT 1
                                     FROM reposts r2
                                     JOIN follows rf ON rf.follower_id = :user_id AND rf.followee_id = r2.user_id
                                    WHERE r2.post_id = r.post_id AND r2.id > r.id
                                      AND r2.user_id <> ALL(CAST(:suspended AS BIGINT[])))
                   AND (cardinality(CAST(:suspended AS BIGINT[])) = 0
                        OR (SELECT hp.author_id FROM posts hp WHERE hp.id = r.post_id)
                           <> ALL(CAST(:suspended AS BIGINT[])))
                 ORDER BY r.id DESC
                 LIMIT CAST(:offset AS BIGINT) + CAST(:limit AS BIGINT)
               ) t
         WHERE f.followee_id <> ALL(CAST(:suspended AS BIGINT[]))
         ORDER BY key DESC
        OFFSET :offset
         LIMIT :limit
       ) i
 CROSS JOIN floor
  LEFT JOIN users u ON u.id = i.reposter_id
 ORDER BY i.key DESC;

-- name: feed_by_followee(user_id, hidden, before, offset, limit)
-- Few followees: the top (offset + limit) posts and reposts of each followee, merged.
-- Reads at most 2 x (offset + limit) rows per followee, whatever their history holds
-- (plus one probe per candidate for a later repost, which finds nothing for most posts).
-- Indexes: follows_pkey (follower_id, followee_id), idx_posts_author_id_id_live,
-- idx_reposts_user_id_id, reposts_pkey (post_id, user_id) and idx_reposts_post_id_id
-- (post_id, id) for the later-repost checks, users_pkey; posts_pkey for a reposted post's
-- author when :hidden is not empty.
SELECT i.key, i.post_id, i.reposter_id, u.username AS reposter_username
  FROM (
        SELECT t.key, t.post_id, t.reposter_id
          FROM follows f
         CROSS JOIN LATERAL (
                SELECT p.id AS key, p.id AS post_id, NULL::BIGINT AS reposter_id
                  FROM posts p
                 WHERE p.author_id = f.followee_id AND p.deleted_at IS NULL AND p.id < :before
                   AND NOT EXISTS (SELECT 1
                                     FROM reposts r
                                     JOIN follows rf ON rf.follower_id = :user_id AND rf.followee_id = r.user_id
                                    WHERE r.post_id = p.id AND r.user_id <> ALL(CAST(:hidden AS BIGINT[])))
                 ORDER BY p.id DESC
                 LIMIT CAST(:offset AS BIGINT) + CAST(:limit AS BIGINT)
               ) t
         WHERE f.follower_id = :user_id AND f.followee_id <> ALL(CAST(:hidden AS BIGINT[]))
         UNION ALL
        SELECT t.key, t.post_id, t.reposter_id
          FROM follows f
         CROSS JOIN LATERAL (
                SELECT r.id AS key, r.post_id, r.user_id AS reposter_id
                  FROM reposts r
                 WHERE r.user_id = f.followee_id AND r.id < :before
                   AND NOT EXISTS (SELECT 1
                                     FROM reposts r2
                                     JOIN follows rf ON rf.follower_id = :user_id AND rf.followee_id = r2.user_id
                                    WHERE r2.post_id = r.post_id AND r2.id > r.id
                                      AND r2.user_id <> ALL(CAST(:hidden AS BIGINT[])))
                   AND (cardinality(CAST(:hidden AS BIGINT[])) = 0
                        OR (SELECT hp.author_id FROM posts hp WHERE hp.id = r.post_id) <> ALL(CAST(:hidden AS BIGINT[])))
                 ORDER BY r.id DESC
                 LIMIT CAST(:offset AS BIGINT) + CAST(:limit AS BIGINT)
               ) t
         WHERE f.follower_id = :user_id AND f.followee_id <> ALL(CAST(:hidden AS BIGINT[]))
         ORDER BY key DESC
        OFFSET :offset
         LIMIT :limit
       ) i
  LEFT JOIN users u ON u.id = i.reposter_id
 ORDER BY i.key DESC;

-- name: feed_by_timeline(user_id, hidden, before, offset, limit)
-- Many followees: walk all live posts and all reposts newest first and keep those by a
-- followee; with thousands of followees a page fills within a few hundred rows.
-- Indexes: idx_posts_id_live, reposts_id_key (the UNIQUE index on reposts.id),
-- follows_pkey, reposts_pkey, idx_reposts_post_id_id, users_pkey; posts_pkey for a
-- reposted post's author when :hidden is not empty.
SELECT i.key, i.post_id, i.reposter_id, u.username AS reposter_username
  FROM (
        (SELECT p.id AS key, p.id AS post_id, NULL::BIGINT AS reposter_id
           FROM posts p
          WHERE p.deleted_at IS NULL AND p.id < :before
            AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = :user_id AND f.followee_id = p.author_id)
            AND p.author_id <> ALL(CAST(:hidden AS BIGINT[]))
            AND NOT EXISTS (SELECT 1
                              FROM reposts r
                              JOIN follows rf ON rf.follower_id = :user_id AND rf.followee_id = r.user_id
                             WHERE r.post_id = p.id AND r.user_id <> ALL(CAST(:hidden AS BIGINT[])))
          ORDER BY p.id DESC
          LIMIT CAST(:offset AS BIGINT) + CAST(:limit AS BIGINT))
         UNION ALL
        (SELECT r.id AS key, r.post_id, r.user_id AS reposter_id
           FROM reposts r
          WHERE r.id < :before
            AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = :user_id AND f.followee_id = r.user_id)
            AND r.user_id <> ALL(CAST(:hidden AS BIGINT[]))
            AND NOT EXISTS (SELECT 1
                              FROM reposts r2
                              JOIN follows rf ON rf.follower_id = :user_id AND rf.followee_id = r2.user_id
                             WHERE r2.post_id = r.post_id AND r2.id > r.id
                               AND r2.user_id <> ALL(CAST(:hidden AS BIGINT[])))
            AND (cardinality(CAST(:hidden AS BIGINT[])) = 0
                 OR (SELECT hp.author_id FROM posts hp WHERE hp.id = r.post_id) <> ALL(CAST(:hidden AS BIGINT[])))
          ORDER BY r.id DESC
          LIMIT CAST(:offset AS BIGINT) + CAST(:limit AS BIGINT))
         ORDER BY key DESC
        OFFSET :offset
         LIMIT :limit
       ) i
  LEFT JOIN users u ON u.id = i.reposter_id
 ORDER BY i.key DESC;
