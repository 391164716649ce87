-- Undo 0002.search.sql, in reverse order.
DROP INDEX IF EXISTS idx_hashtags_name_pattern;
DROP INDEX IF EXISTS idx_posts_search;
DROP TRIGGER IF EXISTS tgr_posts_search ON posts;
DROP FUNCTION IF EXISTS posts_search_changed();
ALTER TABLE posts DROP COLUMN IF EXISTS search;
DROP TEXT SEARCH CONFIGURATION IF EXISTS minitwitter;
DROP EXTENSION IF EXISTS unaccent;
