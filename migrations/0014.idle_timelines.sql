-- Idle home timelines are dropped (Mastodon stops filling the home feeds of users who have
-- not been seen for two weeks): a fan-out writes into every timeline that exists, so
-- without this each reader who once read would cost every post of the accounts they follow,
-- forever.
--
-- - home_timelines.read_on: the last day the reader's feed was read from PostgreSQL (a read
--   answered by the response cache does not count: such a reader is at most dropped and
--   rebuilt, never shown a wrong feed). Set by the first read of a day (timelines.touch), so a
--   reader costs one write a day.
-- - the beat job drop_idle_timelines deletes the timelines (rows and entries) not read for
--   feed.idle_days: the reader's next read makes a new one, as a first read does.
-- depends: 0013.home_timelines

-- current_date is stable, so the existing rows take today's date without a table rewrite.
ALTER TABLE home_timelines ADD COLUMN read_on DATE NOT NULL DEFAULT current_date;
-- timelines.drop_idle.
CREATE INDEX idx_home_timelines_read_on ON home_timelines (read_on);
