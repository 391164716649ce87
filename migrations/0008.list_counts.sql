-- Exact counts for two more lists, each kept by triggers in the writing transaction like
-- the counts of 0001, and neither a row that every writer updates:
--
-- - All live posts (GET /api/posts/ `count`, which older clients page with): one counter
--   would be a row every new post in the network locks. post_totals splits it over 16
--   rows, a post counting in row id % 16, so concurrent posts (consecutive ids) lock
--   different rows; the count is their sum (posts.count_live_posts: 16 rows).
-- - A user's favourite tags (GET /api/favorite_hashtags/ `count`): a users column only
--   that user's own favourites change.
--
-- Lock order (see 0006): a post's write locks its post, then its author (tgr_posts_count),
-- then its post_totals row (tgr_posts_total fires after it: triggers fire in name order),
-- then hashtags; nothing else locks post_totals.
-- depends: 0007.follow_emails

CREATE TABLE post_totals (
    slot SMALLINT PRIMARY KEY CHECK (slot BETWEEN 0 AND 15),
    live BIGINT NOT NULL DEFAULT 0
);
INSERT INTO post_totals (slot, live)
SELECT s.slot, coalesce(c.n, 0)
  FROM generate_series(0, 15) AS s (slot)
  LEFT JOIN (SELECT id % 16 AS slot, count(*) AS n FROM posts WHERE deleted_at IS NULL GROUP BY 1) c
    ON c.slot = s.slot;

CREATE FUNCTION posts_total_changed() RETURNS TRIGGER AS $$
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

CREATE TRIGGER tgr_posts_total
AFTER INSERT OR DELETE OR UPDATE OF deleted_at ON posts
FOR EACH ROW EXECUTE FUNCTION posts_total_changed();

ALTER TABLE users
    ADD COLUMN favorite_hashtags_count INTEGER NOT NULL DEFAULT 0 CHECK (favorite_hashtags_count >= 0);
UPDATE users u
   SET favorite_hashtags_count = c.n
  FROM (SELECT user_id, count(*) AS n FROM favorite_hashtags GROUP BY 1) c
 WHERE u.id = c.user_id;

CREATE FUNCTION favorite_hashtags_count_changed() RETURNS TRIGGER AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE users SET favorite_hashtags_count = favorite_hashtags_count + 1 WHERE id = NEW.user_id;
    ELSE
        UPDATE users SET favorite_hashtags_count = favorite_hashtags_count - 1 WHERE id = OLD.user_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tgr_favorite_hashtags_count
AFTER INSERT OR DELETE ON favorite_hashtags
FOR EACH ROW EXECUTE FUNCTION favorite_hashtags_count_changed();
