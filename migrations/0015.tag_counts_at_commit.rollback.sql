DROP TRIGGER tgr_post_hashtags_count ON post_hashtags;
CREATE TRIGGER tgr_post_hashtags_count
AFTER INSERT OR DELETE ON post_hashtags
FOR EACH ROW EXECUTE FUNCTION post_hashtags_count_changed();
