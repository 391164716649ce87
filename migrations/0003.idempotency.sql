-- Idempotency-Key on POST /api/posts/: a retried create answers what the first did.
-- depends: 0002.search

CREATE TABLE idempotency_keys (
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key         TEXT NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    -- sha256 of what was asked (the text and image bytes): same key, other body -> 422.
    request_sha TEXT NOT NULL,
    status      INTEGER NOT NULL,
    response    JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- idempotency.get_response: one key per user.
    PRIMARY KEY (user_id, key)
);
-- idempotency.purge: the beat job drops keys older than 24 hours.
CREATE INDEX idx_idempotency_keys_created_at ON idempotency_keys (created_at);
