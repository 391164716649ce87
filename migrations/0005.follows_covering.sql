-- The follows indexes carry the other side of the edge, so "who follows X" (a new
-- post's followers, whose cached feeds it changes; list_followers) and "whom X follows"
-- (feed_by_followee, list_following) are index-only scans instead of a heap visit per
-- edge. On D1, the 5,999 followers of the most followed author: 12.3 ms (bitmap heap
-- scan, 3,024 buffers) before, 0.6 ms (index-only, 37 buffers, 0 heap fetches) after.
-- depends: 0004.search_statistics

DROP INDEX idx_follows_followee_id_id;
CREATE INDEX idx_follows_followee_id_id ON follows (followee_id, id DESC) INCLUDE (follower_id);
DROP INDEX idx_follows_follower_id_id;
CREATE INDEX idx_follows_follower_id_id ON follows (follower_id, id DESC) INCLUDE (followee_id);
