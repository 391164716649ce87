DROP TABLE bookmarks;
DROP TRIGGER tgr_reposts_count ON reposts;
DROP FUNCTION reposts_count_changed();
DROP TABLE reposts;
DROP TABLE post_mentions;
DROP TRIGGER tgr_post_replies_count ON posts;
DROP FUNCTION post_replies_count_changed();
DROP INDEX idx_posts_in_reply_to_id_live;
ALTER TABLE posts DROP COLUMN in_reply_to, DROP COLUMN replies_count, DROP COLUMN reposts_count;
