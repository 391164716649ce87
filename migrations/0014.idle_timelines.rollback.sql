DROP INDEX idx_home_timelines_read_on;
ALTER TABLE home_timelines DROP COLUMN read_on;
