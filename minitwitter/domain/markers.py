"""Markers: where a person stopped reading a timeline (the Mastodon face's /api/v1/markers).

- set: for `home`, markers.set_marker with its last read id; for `notifications`, the
  native read mark moves (notifications.mark_read: never back, never past the newest of
  theirs) and markers.set_marker counts the version. Both lock the caller's account first
  (domain.lock_accounts): the marker's row and the notification state are rows its deletion
  takes, so a set waits for a deletion, or the deletion for it, never both.
- stale: nothing; markers are read from PostgreSQL each time (sql/markers.sql).
"""

from minitwitter.domain import lock_accounts, notifications
from minitwitter.domain.freshness import stales_nothing

TIMELINES = ("home", "notifications")


@stales_nothing("markers are read from PostgreSQL each time")
def set_markers(tx, user_id, last_read_ids):
    """Set the caller's markers: {timeline: last read id} (TIMELINES only)."""
    lock_accounts(tx, user_id)
    for timeline in TIMELINES:
        if timeline not in last_read_ids:
            continue
        if timeline == "notifications":  # the native read mark; this row counts versions
            notifications.mark_read(tx, user_id, last_read_ids[timeline])
        last_read_id = None if timeline == "notifications" else last_read_ids[timeline]
        tx.queries.markers.set_marker(tx.db, user_id=user_id, timeline=timeline, last_read_id=last_read_id)


def get_markers(tx, user_id, timelines):
    """{timeline: {last_read_id, version, updated_at}} of those set; the notifications one from
    the native read mark even when never set here (version 0, no time)."""
    rows = tx.queries.markers.get_markers(tx.db, user_id=user_id, timelines=list(timelines))
    found = {r["timeline"]: dict(r) for r in rows}
    if "notifications" in timelines and "notifications" not in found:
        up_to = tx.queries.markers.read_mark(tx.db, user_id=user_id)
        if up_to:
            found["notifications"] = {"last_read_id": up_to, "version": 0, "updated_at": None}
    return found
