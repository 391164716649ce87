-- One lock order for every write that locks several rows, so concurrent writes never
-- deadlock (each waits for the other instead):
--
--     posts (the one post written)  <  users (by id)  <  hashtags (by name)
--
-- - A post's create, edit and delete lock its post row first, then its author's users row
--   (tgr_posts_count), then every tag they touch, old and new, in one statement in name
--   order (hashtags.tag_post): names, because a new tag has no id until that statement
--   creates it, and creating is locking too (a second insert of the same name waits).
-- - A follow or unfollow changes two users rows: tgr_follows_count used to lock the
--   follower, then the followee, so "A follows B" and "B follows A" at once deadlocked.
--   It now locks both in id order first.
-- - A like locks one posts row, a favourite one hashtags row: nothing to order.
-- depends: 0005.follows_covering

CREATE OR REPLACE FUNCTION follows_count_changed() RETURNS TRIGGER AS $$
DECLARE
    edge follows := CASE WHEN TG_OP = 'INSERT' THEN NEW ELSE OLD END;
    delta INTEGER := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END;
BEGIN
    PERFORM 1 FROM users WHERE id IN (edge.follower_id, edge.followee_id) ORDER BY id FOR NO KEY UPDATE;
    UPDATE users SET following_count = following_count + delta WHERE id = edge.follower_id;
    UPDATE users SET followers_count = followers_count + delta WHERE id = edge.followee_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
