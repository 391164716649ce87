-- A tag's posts_count is added to when the post's transaction commits (a deferred
-- constraint trigger), not when its link is written: a popular tag's row is updated by
-- every post naming it, and it stayed locked from the link to the commit, across every
-- statement and round trip in between, so the posts of a trending tag ran one at a time.
-- Measured (bench W1: 16 tags shared by every post, 4 server threads): hashtags.tag_post
-- took 2.43 ms on average, most of it waiting on Lock:transactionid; 0.16-0.20 ms after.
--
-- Lock order (0006, 0008: posts < users < post_totals < hashtags by name): a new post still
-- takes its author's row and its post_totals slot when it is inserted, and now its tags at
-- commit, in name order (its links are inserted in name order: sql/hashtags.sql, tag_post).
-- An edit, a delete and a post creating a tag still lock every tag they touch in name order
-- first. The author's row is not deferred too: a post creating a tag holds its tags from
-- then on, and would take the author's row after them. accounts.delete_* set bulk_delete for
-- the whole transaction, so the deferred trigger steps aside for them too.
-- depends: 0014.idle_timelines

DROP TRIGGER tgr_post_hashtags_count ON post_hashtags;
CREATE CONSTRAINT TRIGGER tgr_post_hashtags_count
AFTER INSERT OR DELETE ON post_hashtags
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION post_hashtags_count_changed();
