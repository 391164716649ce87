-- Home timelines (issue 16): each active reader's feed, materialized (Mastodon's design, in
-- PostgreSQL). sql/feed.sql reads them, domain/timelines.py writes them.
--
-- - home_timelines: one row per reader whose timeline exists. stale_since is set when the
--   row is made (a reader's first feed read) and the timeline is filled only once no
--   transaction that began before then can still be running (feed.settle_seconds): a post
--   committed concurrently with the row's creation, whose fan-out did not see the row, is
--   then in what the fill reads. Until then, and without a row, the feed is read by the pull
--   plans. NULL: filled, in use (floor says down to where). Most of D3's million users never read: they have no row
--   and cost nothing.
-- - home_timeline: the entries, one per (reader, key): key is the post's id for a post and
--   the repost's id for a repost (one sequence, migrations/0009), author_id is the post's
--   author, reposter_id the reposter (NULL for a post). A post can have several entries
--   (its own and reposts); the read keeps the newest, as the pull plans do. Trimmed to
--   feed.timeline_size entries newest first. No foreign key on user_id: a fan-out's insert
--   would lock each reader's row; the reader's entries go with the account (domain).
-- - pulled_authors: authors whose followers exceed feed.pull_followers when they post:
--   never fanned out, merged in at read time. Once pulled, always (their later posts are in
--   no timeline).
-- depends: 0011.safety

CREATE TABLE home_timelines (
    user_id     BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    stale_since TIMESTAMPTZ DEFAULT now(),
    -- The timeline holds every item of the reader's feed whose key is above this (the
    -- read's checks aside): 0 when it holds the whole feed; raised by the fill (when the
    -- feed has more items than it takes) and by trims. Until filled: everything is above.
    floor       BIGINT NOT NULL DEFAULT 9223372036854775807
);

CREATE TABLE home_timeline (
    user_id     BIGINT NOT NULL,
    key         BIGINT NOT NULL,
    post_id     BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id   BIGINT NOT NULL,
    reposter_id BIGINT,
    -- feed.feed_from_timeline (a reader's entries newest first), timelines.trim,
    -- timelines.unfollowed, timelines.clear.
    PRIMARY KEY (user_id, key)
);
-- timelines.remove (a deleted post's entries, an undone repost's) and the cascade of a
-- purged post.
CREATE INDEX idx_home_timeline_post_id_key ON home_timeline (post_id, key);

CREATE TABLE pulled_authors (
    user_id    BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
