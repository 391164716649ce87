-- Undo 0001.schema.sql: drop in reverse dependency order.
DROP TABLE IF EXISTS outbox;
DROP TABLE IF EXISTS refresh_tokens;
DROP TABLE IF EXISTS favorite_hashtags;
DROP TABLE IF EXISTS likes;
DROP TABLE IF EXISTS follows;
DROP TABLE IF EXISTS post_hashtags;
DROP TABLE IF EXISTS hashtags;
DROP TABLE IF EXISTS posts;
DROP TABLE IF EXISTS images;
DROP TABLE IF EXISTS users;
DROP FUNCTION IF EXISTS posts_count_changed();
DROP FUNCTION IF EXISTS follows_count_changed();
DROP FUNCTION IF EXISTS likes_count_changed();
DROP FUNCTION IF EXISTS post_hashtags_count_changed();
