DROP TRIGGER tgr_favorite_hashtags_count ON favorite_hashtags;
DROP FUNCTION favorite_hashtags_count_changed();
ALTER TABLE users DROP COLUMN favorite_hashtags_count;
DROP TRIGGER tgr_posts_total ON posts;
DROP FUNCTION posts_total_changed();
DROP TABLE post_totals;
