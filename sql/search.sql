-- Search: posts by words, "phrases" and #tags; hashtags and users by prefix.
--
-- minitwitter/domain/search.py parses q. Words and phrases arrive as one :query for
-- websearch_to_tsquery in which every term is in double quotes, so no character the user
-- typed acts as an operator (- or ! & | : * ( ) <-> are all plain text inside quotes, and
-- websearch_to_tsquery never raises a syntax error); the 'minitwitter' configuration
-- (migrations/0002) folds case and accents the same way for the query as for the posts.
-- Tags arrive as an array of normalized names (:tags). Every value is a parameter.
-- psycopg2 sends parameters as literals, so each query is planned with its own
-- websearch_to_tsquery(...) folded to a constant, and the planner reads the statistics of
-- posts.search: for a word in a large share of posts it walks posts newest first by id
-- and filters (the first page is found within a few dozen rows, where a bitmap of every
-- match then a sort would cost ~1000x more); for a rarer word it reads the matches from
-- idx_posts_search and sorts them by id. Measured on 200k posts: 0.03 ms for a word in 28%
-- of them, 0.07 ms for a word in 33 (against 36 ms for the bitmap-and-sort of the common
-- word). The weak spot is words that are each common but rarely together: the planner
-- assumes independence, walks by id and may read every post before it finds none (50 ms
-- on those 200k posts for two words that never meet, where the GIN index takes 0.6 ms).
--
-- The post lists return one page of ids (`key`) like sql/posts.sql (:before, :offset,
-- :limit = page_size + 1); posts.get_posts hydrates them. Each takes :hidden, the viewer's
-- hidden set (domain/safety.py; '{}' for most viewers): posts by those authors are left out.

-- name: search_posts(query, hidden, before, offset, limit)
-- Live posts holding every word and phrase, newest first, keyset by id.
-- Index: idx_posts_search (GIN, live posts only); for very common words posts_pkey or
-- idx_posts_id_live, walked newest first (see above).
SELECT id AS key
  FROM posts
 WHERE search @@ websearch_to_tsquery('minitwitter', :query)
   AND deleted_at IS NULL
   AND id < :before
   AND author_id <> ALL(CAST(:hidden AS BIGINT[]))
 ORDER BY id DESC
OFFSET :offset
 LIMIT :limit;

-- name: search_tagged_posts(tags, query, hidden, before, offset, limit)
-- Live posts with every tag of :tags (exact names, so #cat is not #cats) and, when :query
-- is not empty, every word and phrase; newest first, keyset by post_id. Driven by the
-- least used tag: its links newest first from post_hashtags_pkey (hashtag_id, post_id),
-- which holds live posts only (a soft delete removes the links); the other tags are
-- checked through the same key, the words on the post's row (posts_pkey). A tag nobody
-- uses: no rows. Indexes: hashtags_name_key (or idx_hashtags_name_pattern, equally good for =),
-- post_hashtags_pkey, posts_pkey (or idx_posts_id_live).
WITH wanted AS (
    SELECT id, posts_count FROM hashtags WHERE name = ANY(CAST(:tags AS TEXT[]))
)
SELECT ph.post_id AS key
  FROM post_hashtags ph
 WHERE ph.hashtag_id = (SELECT id FROM wanted ORDER BY posts_count, id LIMIT 1)
   AND ph.post_id < :before
   AND (SELECT count(*) FROM wanted) = cardinality(CAST(:tags AS TEXT[]))
   AND NOT EXISTS (SELECT 1
                     FROM wanted w
                    WHERE NOT EXISTS (SELECT 1 FROM post_hashtags x
                                       WHERE x.hashtag_id = w.id AND x.post_id = ph.post_id))
   AND (cardinality(CAST(:hidden AS BIGINT[])) = 0
        OR (SELECT hp.author_id FROM posts hp WHERE hp.id = ph.post_id) <> ALL(CAST(:hidden AS BIGINT[])))
   AND (:query = ''
        OR EXISTS (SELECT 1 FROM posts p
                    WHERE p.id = ph.post_id AND p.deleted_at IS NULL
                      AND p.search @@ websearch_to_tsquery('minitwitter', :query)))
 ORDER BY ph.post_id DESC
OFFSET :offset
 LIMIT :limit;

-- name: search_posts_by_relevance(query, tags, hidden, offset, limit)
-- Live posts holding every word and phrase (and every tag of :tags, which may be empty),
-- best first by ts_rank (how often the words occur), then newest. A rank is not a keyset,
-- so this list pages by number (OFFSET): every match is ranked for every page, which
-- stays cheap while a query matches thousands of posts, not millions (on 200k posts:
-- 4 ms for a word in 4k of them, 36 ms for one in 55k).
-- Index: idx_posts_search; tags through idx_post_hashtags_post_id.
SELECT p.id AS key
  FROM posts p
 WHERE p.search @@ websearch_to_tsquery('minitwitter', :query)
   AND p.deleted_at IS NULL
   AND p.author_id <> ALL(CAST(:hidden AS BIGINT[]))
   AND (cardinality(CAST(:tags AS TEXT[])) = 0
        OR CAST(:tags AS TEXT[]) <@ ARRAY(SELECT h.name
                                            FROM post_hashtags ph JOIN hashtags h ON h.id = ph.hashtag_id
                                           WHERE ph.post_id = p.id))
 ORDER BY ts_rank(p.search, websearch_to_tsquery('minitwitter', :query)) DESC, p.id DESC
OFFSET :offset
 LIMIT :limit;

-- name: search_hashtags(pattern, offset, limit)
-- Tags in use whose name starts with a prefix (:pattern is 'prefix%' with % _ \ escaped),
-- most used first. Index: idx_hashtags_name_pattern (text_pattern_ops serves LIKE 'pre%'
-- whatever the collation); the matches are then sorted by count.
SELECT name, posts_count AS count
  FROM hashtags
 WHERE name LIKE :pattern
   AND posts_count > 0
 ORDER BY posts_count DESC, name
OFFSET :offset
 LIMIT :limit;

-- name: search_users(pattern, viewer_id, offset, limit)
-- Profiles whose username starts with a prefix, any case (:pattern is lower-case
-- 'prefix%' with % _ \ escaped), in username order, with whether the viewer follows each;
-- not the accounts waiting for approval (found by moderators only: GET /api/admin/accounts/).
-- Index: idx_users_username_pattern (lower(username) text_pattern_ops) serves the LIKE and,
-- through USING ~<~ (its operator family's order), the ORDER BY, so the scan stops at
-- :limit; follows_pkey (follower_id, followee_id) for followed_by_me.
SELECT u.id, u.username, u.created_at, u.followers_count, u.following_count, u.posts_count,
       u.display_name, u.bio,
       av.path AS avatar_path, av.width AS avatar_width, av.height AS avatar_height,
       EXISTS (SELECT 1 FROM follows f
                WHERE f.follower_id = :viewer_id AND f.followee_id = u.id) AS followed_by_me
  FROM users u
  LEFT JOIN images av ON av.id = u.avatar_image_id
 WHERE lower(u.username) LIKE :pattern AND u.approved
 ORDER BY lower(u.username) USING ~<~
OFFSET :offset
 LIMIT :limit;
