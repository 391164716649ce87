-- Blocks and mutes (docs/API.md, "Beyond the seed": blocks, mutes).
--
-- - blocks: A (blocker) blocks B (blocked). Follows between them end in both directions
--   in the same transaction (domain); B cannot follow A or act on A's posts; each one's
--   posts, reposts and notifications disappear from what the other sees.
-- - mutes: A (muter) mutes B (muted): B's posts, reposts and notifications disappear from
--   what A sees; nothing else changes and B is not told.
-- Each row's id orders the lists `GET /api/blocks/` and `GET /api/mutes/` (newest first,
-- keyset by id) and keeps a repeated block or mute a no-op (one row per pair).
-- depends: 0010.accounts

CREATE TABLE blocks (
    id         BIGSERIAL UNIQUE,
    blocker_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (blocker_id <> blocked_id),
    -- "does A block B": one probe; and the set a viewer blocks.
    PRIMARY KEY (blocker_id, blocked_id)
);
-- "who blocks B" (B must not see their posts either) and the cascade of a deleted account.
CREATE INDEX idx_blocks_blocked_id ON blocks (blocked_id, blocker_id);
-- GET /api/blocks/: newest first.
CREATE INDEX idx_blocks_blocker_id_id ON blocks (blocker_id, id DESC);

CREATE TABLE mutes (
    id         BIGSERIAL UNIQUE,
    muter_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    muted_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (muter_id <> muted_id),
    PRIMARY KEY (muter_id, muted_id)
);
-- The cascade of a deleted account.
CREATE INDEX idx_mutes_muted_id ON mutes (muted_id);
-- GET /api/mutes/: newest first.
CREATE INDEX idx_mutes_muter_id_id ON mutes (muter_id, id DESC);

-- Whether a block stands between two accounts, either way: two probes of blocks_pkey.
-- The writes a block refuses (follows.follow, likes.like, reposts.repost,
-- bookmarks.bookmark) test it in their INSERT, and domain/safety.py when one wrote nothing.
-- Each of them calls it once, for one row (it is not inlined: it holds subqueries).
CREATE FUNCTION blocked_between(a BIGINT, b BIGINT) RETURNS BOOLEAN
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = a AND blocked_id = b)
        OR EXISTS (SELECT 1 FROM blocks WHERE blocker_id = b AND blocked_id = a)
$$;
