-- The home feed: the live posts of the accounts a user follows and the posts they
-- reposted, newest first. Post ids and repost ids come from one sequence (migrations/0009),
-- so one key orders both: a post at its creation, a repost at the time of the repost.
-- Each post appears once, at its newest occurrence for this reader: a plain post is left
-- out when a followee reposted it, a repost when a followee reposted the same post later.
-- That rule does not depend on the page, so keyset pages never repeat or skip a post.
-- Rows: key (the cursor), post_id, and reposter_id, reposter_username (null on a plain post).
-- :hidden is the reader's hidden set (domain/safety.py: accounts blocked either way or
-- muted; '{}' for most readers): their posts, their reposts and reposts of their posts are
-- left out inside each branch, before the LIMIT, so a page stays full. A later repost by a
-- hidden followee does not push a post out either. With '{}' each clause folds to true
-- (cardinality(...) = 0 is a constant) or tests an empty array: the plans are as before.
-- Two plans for one question, chosen by the reader's following_count (views/feed.py):

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
                 LIMIT :offset + :limit
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
                        OR NOT EXISTS (SELECT 1 FROM posts hp
                                        WHERE hp.id = r.post_id AND hp.author_id = ANY(CAST(:hidden AS BIGINT[]))))
                 ORDER BY r.id DESC
                 LIMIT :offset + :limit
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
          LIMIT :offset + :limit)
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
                 OR NOT EXISTS (SELECT 1 FROM posts hp
                                 WHERE hp.id = r.post_id AND hp.author_id = ANY(CAST(:hidden AS BIGINT[]))))
          ORDER BY r.id DESC
          LIMIT :offset + :limit)
         ORDER BY key DESC
        OFFSET :offset
         LIMIT :limit
       ) i
  LEFT JOIN users u ON u.id = i.reposter_id
 ORDER BY i.key DESC;
