-- Home timelines hold every occurrence of a post: the post and each followee's repost of it
-- (issue 26). Filled from a pull plan's rows, they held each post once, at its newest
-- occurrence, so when that repost went (undone, its reposter unfollowed, blocked or
-- deleted) the post left the feed although its author was still followed. Fills now write
-- every occurrence (timelines.newest_by_followee, newest_by_timeline); the timelines filled
-- before are filled again by their reader's next feed read: due at once (a fan-out has
-- written to each all along, so there is nothing to wait for), read by the pull plans
-- until then. One fill per reader who reads again; the others are dropped as idle.
-- depends: 0015.tag_counts_at_commit

UPDATE home_timelines SET stale_since = timestamptz 'epoch' WHERE stale_since IS NULL;
