DROP FUNCTION blocked_between(BIGINT, BIGINT);
DROP TABLE mutes;
DROP TABLE blocks;
