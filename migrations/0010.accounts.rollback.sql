CREATE OR REPLACE FUNCTION posts_count_changed() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.deleted_at IS NULL THEN
        UPDATE users SET posts_count = posts_count + 1 WHERE id = NEW.author_id;
    ELSIF TG_OP = 'UPDATE' AND OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        UPDATE users SET posts_count = posts_count - 1 WHERE id = NEW.author_id;
    ELSIF TG_OP = 'DELETE' AND OLD.deleted_at IS NULL THEN
        UPDATE users SET posts_count = posts_count - 1 WHERE id = OLD.author_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION posts_total_changed() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.deleted_at IS NULL THEN
        UPDATE post_totals SET live = live + 1 WHERE slot = NEW.id % 16;
    ELSIF TG_OP = 'UPDATE' AND OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        UPDATE post_totals SET live = live - 1 WHERE slot = NEW.id % 16;
    ELSIF TG_OP = 'DELETE' AND OLD.deleted_at IS NULL THEN
        UPDATE post_totals SET live = live - 1 WHERE slot = OLD.id % 16;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION post_hashtags_count_changed() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE hashtags SET posts_count = posts_count + 1 WHERE id = NEW.hashtag_id;
    ELSE
        UPDATE hashtags SET posts_count = posts_count - 1 WHERE id = OLD.hashtag_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION likes_count_changed() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE posts SET likes_count = likes_count + 1 WHERE id = NEW.post_id;
    ELSE
        UPDATE posts SET likes_count = likes_count - 1 WHERE id = OLD.post_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

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

CREATE OR REPLACE FUNCTION favorite_hashtags_count_changed() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE users SET favorite_hashtags_count = favorite_hashtags_count + 1 WHERE id = NEW.user_id;
    ELSE
        UPDATE users SET favorite_hashtags_count = favorite_hashtags_count - 1 WHERE id = OLD.user_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TABLE account_tokens;
ALTER TABLE users
    DROP COLUMN session_generation,
    DROP COLUMN email_verified_at,
    DROP COLUMN avatar_image_id,
    DROP COLUMN bio,
    DROP COLUMN display_name;
