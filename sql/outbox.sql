-- The transactional outbox: a request writes the task it asks for in its own
-- transaction; after commit it is published to Celery, and the beat job
-- re-publishes what the broker missed. The tasks are idempotent on the id.

-- name: enqueue(kind, payload)$
-- In the request's transaction; returns the new id (`$`: aiosql's `<!` cannot
-- return a lone column from dict rows). payload is JSONB. Index: outbox_pkey (the
-- identity id); the row is in idx_outbox_pending until it is sent.
INSERT INTO outbox (kind, payload)
VALUES (:kind, :payload)
RETURNING id;

-- name: claim(outbox_id)^
-- The worker takes an unsent row and holds it until its transaction ends; a row
-- sent already, or being sent by another worker, comes back as nothing.
-- Index: outbox_pkey.
SELECT id, kind, payload
  FROM outbox
 WHERE id = :outbox_id AND sent_at IS NULL
   FOR UPDATE SKIP LOCKED;

-- name: mark_sent(outbox_id)!
-- In the claim's transaction, after the email went out. Index: outbox_pkey.
UPDATE outbox
   SET sent_at = now()
 WHERE id = :outbox_id;

-- name: pending(older_than, batch)
-- The relay: unsent rows older than `older_than` seconds (their publish after
-- commit was lost), oldest first, at most `batch`. Index: idx_outbox_pending,
-- which holds only unsent rows, read in id order.
SELECT id, kind
  FROM outbox
 WHERE sent_at IS NULL
   AND created_at < now() - make_interval(secs => :older_than)
 ORDER BY id
 LIMIT :batch;

-- name: mail_user(user_id)^
-- A user an email is to or about, read when it is sent. Index: users_pkey.
SELECT id, username, email
  FROM users
 WHERE id = :user_id;

-- name: note_follow_email(follower_id, followee_id, hours)$
-- Claim the right to send "follower followed you": true when no such email went to this
-- pair within `hours`, and the send is recorded (in the claim's transaction, so a failed
-- send records nothing). Index: follow_emails_pkey.
WITH noted AS (
    INSERT INTO follow_emails (follower_id, followee_id)
    VALUES (:follower_id, :followee_id)
    ON CONFLICT (follower_id, followee_id) DO UPDATE
       SET sent_at = now()
     WHERE follow_emails.sent_at < now() - make_interval(hours => :hours)
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM noted);
