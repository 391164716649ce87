-- Home timelines (migrations/0013): the writes. domain/timelines.py says when each runs;
-- sql/feed.sql reads them (feed_from_timeline).

-- name: mark(user_id)!
-- A reader's first feed read: their timeline exists from now on (fan-outs write to it) and
-- is filled once it has settled (timeline_state's due). Index: home_timelines_pkey.
INSERT INTO home_timelines (user_id) VALUES (:user_id) ON CONFLICT DO NOTHING;

-- name: touch(user_id)$
-- The first feed read of the day: the timeline is in use (migrations/0014). Returns the
-- reader's id, or nothing when the timeline was dropped as idle meanwhile (the row lock
-- makes this wait for a drop that took it; a drop skips a row this has locked).
-- Index: home_timelines_pkey.
UPDATE home_timelines SET read_on = current_date WHERE user_id = :user_id RETURNING user_id;

-- name: drop_idle(days, batch)$
-- Up to :batch timelines not read for :days days, rows and entries (the beat job loops
-- until fewer go); a timeline locked by a fill or a read's touch is left for the next run.
-- A fan-out racing the drop may still write an entry for a reader whose row it read just
-- before: without a row no read looks at it, and a new timeline's fill clears it.
-- Indexes: idx_home_timelines_read_on, home_timeline_pkey (user_id prefix).
WITH idle AS (
    SELECT user_id FROM home_timelines
     WHERE read_on < current_date - CAST(:days AS INTEGER)
     ORDER BY read_on
     LIMIT :batch
       FOR UPDATE SKIP LOCKED
), dropped AS (
    DELETE FROM home_timelines m USING idle WHERE m.user_id = idle.user_id RETURNING m.user_id
), entries AS (
    DELETE FROM home_timeline h USING dropped WHERE h.user_id = dropped.user_id
)
SELECT count(*) FROM dropped;

-- name: claim_fill(user_id, settle)$
-- The timeline is due: take it (the row lock makes a concurrent read wait, then find it
-- taken) and mark it in use. Index: home_timelines_pkey.
UPDATE home_timelines
   SET stale_since = NULL
 WHERE user_id = :user_id AND stale_since < now() - make_interval(secs => :settle)
RETURNING user_id;

-- name: clear(user_id)!
-- Before a fill, and an account's deletion. Index: home_timeline_pkey (user_id prefix).
DELETE FROM home_timeline WHERE user_id = :user_id;

-- name: newest_by_followee(user_id, limit)
-- What a fill writes (timelines.fill_plan): the reader's newest :limit feed items, every
-- occurrence of each post (the post itself and each followee's repost of it), where a pull
-- plan keeps only the newest. The read keeps the newest of those still there (live,
-- followed, repost not undone), so when one goes the next one shows, as the pull plans
-- show it. For few followees: the newest :limit posts and reposts of each, merged.
-- Indexes: follows_pkey (follower_id, followee_id), idx_posts_author_id_id_live,
-- idx_reposts_user_id_id.
SELECT i.key, i.post_id, i.reposter_id
  FROM (
        SELECT t.key, t.post_id, t.reposter_id
          FROM follows f
         CROSS JOIN LATERAL (
                SELECT p.id AS key, p.id AS post_id, NULL::BIGINT AS reposter_id
                  FROM posts p
                 WHERE p.author_id = f.followee_id AND p.deleted_at IS NULL
                 ORDER BY p.id DESC
                 LIMIT :limit
               ) t
         WHERE f.follower_id = :user_id
         UNION ALL
        SELECT t.key, t.post_id, t.reposter_id
          FROM follows f
         CROSS JOIN LATERAL (
                SELECT r.id AS key, r.post_id, r.user_id AS reposter_id
                  FROM reposts r
                 WHERE r.user_id = f.followee_id
                 ORDER BY r.id DESC
                 LIMIT :limit
               ) t
         WHERE f.follower_id = :user_id
       ) i
 ORDER BY i.key DESC
 LIMIT :limit;

-- name: newest_by_timeline(user_id, limit)
-- As newest_by_followee, for many followees: walk all live posts and all reposts newest
-- first and keep those by a followee. Indexes: idx_posts_id_live, reposts_id_key,
-- follows_pkey.
SELECT i.key, i.post_id, i.reposter_id
  FROM (
        (SELECT p.id AS key, p.id AS post_id, NULL::BIGINT AS reposter_id
           FROM posts p
          WHERE p.deleted_at IS NULL
            AND EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = :user_id AND f.followee_id = p.author_id)
          ORDER BY p.id DESC
          LIMIT :limit)
         UNION ALL
        (SELECT r.id AS key, r.post_id, r.user_id AS reposter_id
           FROM reposts r
          WHERE EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = :user_id AND f.followee_id = r.user_id)
          ORDER BY r.id DESC
          LIMIT :limit)
       ) i
 ORDER BY i.key DESC
 LIMIT :limit;

-- name: fill(user_id, keys, post_ids, reposter_ids, floor)!
-- A reader's newest feed.timeline_size items, as newest_by_* read them (one INSERT), and
-- the floor they reach down to. Indexes: home_timelines_pkey, posts_pkey (the author),
-- home_timeline_pkey.
WITH marker AS (
    UPDATE home_timelines SET floor = :floor WHERE user_id = :user_id
)
INSERT INTO home_timeline (user_id, key, post_id, author_id, reposter_id)
SELECT :user_id, i.key, i.post_id, p.author_id, i.reposter_id
  FROM unnest(CAST(:keys AS BIGINT[]), CAST(:post_ids AS BIGINT[]), CAST(:reposter_ids AS BIGINT[]))
       AS i (key, post_id, reposter_id)
  JOIN posts p ON p.id = i.post_id
ON CONFLICT DO NOTHING;

-- name: fan_out(follower_ids, key, post_id, author_id, reposter_id, threshold)
-- A post or repost into the timelines of these followers (a batch of follows.follower_batch)
-- that have one; returns those readers. Not if whom it comes through (the reposter, else
-- the author) is pulled: over :threshold followers now (recorded here, once: their later
-- posts are in no timeline, so they stay pulled) or before.
-- Indexes: users_pkey, pulled_authors_pkey, home_timelines_pkey, home_timeline_pkey.
WITH marked AS (
    INSERT INTO pulled_authors (user_id)
    SELECT id FROM users
     WHERE id = coalesce(CAST(:reposter_id AS BIGINT), CAST(:author_id AS BIGINT)) AND followers_count > :threshold
    ON CONFLICT DO NOTHING
    RETURNING user_id
)
INSERT INTO home_timeline (user_id, key, post_id, author_id, reposter_id)
SELECT m.user_id, CAST(:key AS BIGINT), CAST(:post_id AS BIGINT), CAST(:author_id AS BIGINT), CAST(:reposter_id AS BIGINT)
  FROM home_timelines m
 WHERE m.user_id = ANY (CAST(:follower_ids AS BIGINT[]))
   AND NOT EXISTS (SELECT 1 FROM marked)
   AND NOT EXISTS (SELECT 1 FROM pulled_authors a
                    WHERE a.user_id = coalesce(CAST(:reposter_id AS BIGINT), CAST(:author_id AS BIGINT)))
ON CONFLICT DO NOTHING
RETURNING user_id;

-- name: pulled(user_id, threshold)$
-- Whether the posts and reposts of :user_id are pulled at read time: known to be, or over
-- :threshold followers now, recorded here in the post's own transaction, so every read
-- after its commit merges the post in (recorded later, by the `timeline` task, a page read
-- between the `fanout` task's bump and that mark was cached without the post). A post's
-- request then asks for no `timeline` task (it would write nothing).
-- Indexes: users_pkey, pulled_authors_pkey.
WITH marked AS (
    INSERT INTO pulled_authors (user_id)
    SELECT id FROM users WHERE id = :user_id AND followers_count > :threshold
    ON CONFLICT DO NOTHING
    RETURNING user_id
)
SELECT EXISTS (SELECT 1 FROM marked) OR EXISTS (SELECT 1 FROM pulled_authors WHERE user_id = :user_id);

-- name: trim(user_ids, size)!
-- Keep the newest :size entries of these timelines, and raise their floors to match. Reads
-- :size index entries a reader, so a fan-out trims only on one key in TRIM_EVERY
-- (domain/timelines.py). Indexes: home_timeline_pkey, home_timelines_pkey.
WITH cut AS (
    SELECT u.id,
           (SELECT t.key FROM home_timeline t
             WHERE t.user_id = u.id
             ORDER BY t.key DESC
            OFFSET :size LIMIT 1) AS key
      FROM unnest(CAST(:user_ids AS BIGINT[])) AS u (id)
), gone AS (
    DELETE FROM home_timeline h USING cut WHERE h.user_id = cut.id AND h.key <= cut.key
)
UPDATE home_timelines m
   SET floor = cut.key
  FROM cut
 WHERE m.user_id = cut.id AND cut.key > m.floor;

-- name: remove(post_id, key)!
-- A deleted post's entries (key NULL: its own and its reposts'), or one repost's.
-- Index: idx_home_timeline_post_id_key.
DELETE FROM home_timeline
 WHERE post_id = :post_id AND (CAST(:key AS BIGINT) IS NULL OR key = :key);

-- name: remove_reposts(post_ids, keys)!
-- The entries of these reposts (an account's, deleted with it).
-- Index: idx_home_timeline_post_id_key.
DELETE FROM home_timeline h
 USING unnest(CAST(:post_ids AS BIGINT[]), CAST(:keys AS BIGINT[])) AS r (post_id, key)
 WHERE h.post_id = r.post_id AND h.key = r.key;

-- name: followed(user_id, followee_id, size)!
-- A new followee's newest posts and reposts (up to :size of each) into the follower's
-- timeline, those above its floor only (below it the timeline holds nobody's items); when
-- :size of them left older ones out, the floor rises to the oldest brought in. The
-- follow's count trigger locked the followee's row, which a post of theirs locks too
-- (posts_count): a post committed before the follow is read here, one committed after sees
-- the follow in its fan-out. Indexes: home_timelines_pkey, pulled_authors_pkey,
-- idx_posts_author_id_id_live, idx_reposts_user_id_id, posts_pkey, home_timeline_pkey.
WITH timeline AS (
    SELECT m.floor FROM home_timelines m
     WHERE m.user_id = :user_id
       AND NOT EXISTS (SELECT 1 FROM pulled_authors a WHERE a.user_id = :followee_id)
), newest_posts AS (
    SELECT p.id AS key, p.id AS post_id, p.author_id, NULL::BIGINT AS reposter_id
      FROM posts p
     WHERE p.author_id = :followee_id AND p.deleted_at IS NULL AND p.id > (SELECT floor FROM timeline)
     ORDER BY p.id DESC
     LIMIT :size
), newest_reposts AS (
    SELECT r.id AS key, r.post_id, p.author_id, r.user_id AS reposter_id
      FROM reposts r
      JOIN posts p ON p.id = r.post_id
     WHERE r.user_id = :followee_id AND r.id > (SELECT floor FROM timeline)
     ORDER BY r.id DESC
     LIMIT :size
), added AS (
    INSERT INTO home_timeline (user_id, key, post_id, author_id, reposter_id)
    SELECT :user_id, key, post_id, author_id, reposter_id FROM newest_posts
     UNION ALL
    SELECT :user_id, key, post_id, author_id, reposter_id FROM newest_reposts
    ON CONFLICT DO NOTHING
)
UPDATE home_timelines
   SET floor = greatest(floor,
                        (SELECT min(key) FROM newest_posts HAVING count(*) = :size),
                        (SELECT min(key) FROM newest_reposts HAVING count(*) = :size))
 WHERE user_id = :user_id AND :size IN ((SELECT count(*) FROM newest_posts), (SELECT count(*) FROM newest_reposts));

-- name: unfollowed(user_id, followee_id)!
-- What came through an unfollowed account leaves the follower's timeline (the read checks
-- the follow too: a fan-out racing the unfollow cannot show it).
-- Index: home_timeline_pkey (user_id prefix: at most about feed.timeline_size rows).
DELETE FROM home_timeline
 WHERE user_id = :user_id AND coalesce(reposter_id, author_id) = :followee_id;
