DROP INDEX idx_follows_followee_id_id;
CREATE INDEX idx_follows_followee_id_id ON follows (followee_id, id DESC);
DROP INDEX idx_follows_follower_id_id;
CREATE INDEX idx_follows_follower_id_id ON follows (follower_id, id DESC);
