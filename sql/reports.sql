-- Reports (minitwitter/domain/reports.py; migrations/0019).

-- name: file(reporter_id, account_id, category, comment)^
-- A new open report, or the reporter's open report of this account (a repeat: created is
-- false; its category and comment stay). Index: idx_reports_one_open.
WITH made AS (
    INSERT INTO reports (reporter_id, account_id, category, comment)
    VALUES (:reporter_id, :account_id, :category, :comment)
    ON CONFLICT (reporter_id, account_id) WHERE status = 'open' DO NOTHING
    RETURNING id
)
SELECT id, TRUE AS created FROM made
 UNION ALL
SELECT id, FALSE AS created
  FROM reports
 WHERE reporter_id = :reporter_id AND account_id = :account_id AND status = 'open'
   AND NOT EXISTS (SELECT 1 FROM made);

-- name: add_posts(report_id, account_id, post_ids)
-- Attach the posts to the report, those that are live posts of the account; the ids of the
-- others come back (none: all attached). Indexes: posts_pkey, report_posts_pkey.
WITH asked AS (
    SELECT DISTINCT a.id FROM unnest(CAST(:post_ids AS BIGINT[])) AS a (id)
), live AS (
    SELECT p.id FROM posts p JOIN asked ON asked.id = p.id
     WHERE p.author_id = :account_id AND p.deleted_at IS NULL
), attached AS (
    INSERT INTO report_posts (report_id, post_id)
    SELECT :report_id, id FROM live
    ON CONFLICT DO NOTHING
)
SELECT id FROM asked WHERE id NOT IN (SELECT id FROM live) ORDER BY id;

-- name: get_report(report_id)^
-- One report, with its posts' ids (in the order they were reported: by id). Index:
-- reports_pkey, report_posts_pkey.
SELECT r.id, r.reporter_id, r.account_id, r.category, r.comment, r.status, r.action_taken, r.note,
       r.created_at, r.resolved_at,
       ARRAY(SELECT rp.post_id FROM report_posts rp WHERE rp.report_id = r.id ORDER BY rp.post_id) AS post_ids
  FROM reports r
 WHERE r.id = :report_id;

-- name: lock_report(report_id)^
-- The report a resolution works on, locked: of two moderators resolving it, the second
-- waits and finds it resolved. Index: reports_pkey.
SELECT id, account_id, status,
       ARRAY(SELECT rp.post_id FROM report_posts rp WHERE rp.report_id = reports.id ORDER BY rp.post_id) AS post_ids
  FROM reports
 WHERE id = :report_id
   FOR UPDATE;

-- name: resolve(report_id, action, note)!
-- Index: reports_pkey.
UPDATE reports
   SET status = 'resolved', action_taken = :action, note = :note, resolved_at = now()
 WHERE id = :report_id AND status = 'open';

-- name: list_mine(reporter_id, before, offset, limit)
-- GET /api/reports/: my reports, newest first. Index: idx_reports_reporter_id_id.
SELECT r.id AS key, r.id, r.reporter_id, r.account_id, r.category, r.comment, r.status, r.action_taken, r.note,
       r.created_at, r.resolved_at,
       ARRAY(SELECT rp.post_id FROM report_posts rp WHERE rp.report_id = r.id ORDER BY rp.post_id) AS post_ids
  FROM reports r
 WHERE r.reporter_id = :reporter_id AND r.id < :before
 ORDER BY r.id DESC
OFFSET :offset
 LIMIT :limit;

-- name: list_open(after, offset, limit)
-- GET /api/admin/reports/?status=open: the open reports, oldest first.
-- Index: idx_reports_open_id (partial: open reports only), walked forwards from :after.
SELECT r.id AS key, r.id, r.reporter_id, r.account_id, r.category, r.comment, r.status, r.action_taken, r.note,
       r.created_at, r.resolved_at,
       ARRAY(SELECT rp.post_id FROM report_posts rp WHERE rp.report_id = r.id ORDER BY rp.post_id) AS post_ids
  FROM reports r
 WHERE r.status = 'open' AND r.id > :after
 ORDER BY r.id
OFFSET :offset
 LIMIT :limit;

-- name: list_resolved(before, offset, limit)
-- GET /api/admin/reports/?status=resolved: the resolved reports, newest first.
-- Index: idx_reports_resolved_id (partial: resolved reports only), walked backwards.
SELECT r.id AS key, r.id, r.reporter_id, r.account_id, r.category, r.comment, r.status, r.action_taken, r.note,
       r.created_at, r.resolved_at,
       ARRAY(SELECT rp.post_id FROM report_posts rp WHERE rp.report_id = r.id ORDER BY rp.post_id) AS post_ids
  FROM reports r
 WHERE r.status = 'resolved' AND r.id < :before
 ORDER BY r.id DESC
OFFSET :offset
 LIMIT :limit;
