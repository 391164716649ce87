"""Notifications: made where each event happens, in its transaction; read up to a point.

- notify (called by domain/follows.py: follow; likes.py: like; posts.py: replied,
  mentioned; reposts.py: reposted, once per new event): notifications.lock_states (the
  recipients' notification_state rows), then notifications.create, which leaves out the
  actor, blocks either way, mutes by the recipient, a post deleted meanwhile and repeats
  (one row per actor, recipient, type and post). The unread counts follow by trigger.
- mark_read: lock_states, notifications.mark_read: the caller's notifications up to
  `up_to` are read (idempotent; an id not theirs is a bound).
- dismiss, clear (the Mastodon face): lock_states, then notifications.dismiss (one of the
  caller's) or notifications.clear (all of them); the unread count follows by trigger.
- moderated (domain/moderation.py: remove_post): a notification of type `moderation` to the
  author of a post a moderator removed, with the reason, whatever blocks or mutes stand.
- post_deleted (domain/posts.py: delete): notifications.delete_post_notifications.
- account_deleted (domain/accounts.py: delete_account, last before the users row):
  notifications.delete_account_notifications, those it received and those it caused.
- A block and a mute need no call: a trigger deletes the notifications between the two
  (migrations/0012), whatever writes the blocks and mutes rows.
- stale: nothing. The list and the unread count are read from PostgreSQL each time
  (one indexed query, one primary key probe), so no cached entry holds them.
"""

from minitwitter.domain.freshness import stales_nothing


@stales_nothing("notifications and unread counts are read from PostgreSQL each time")
def notify(tx, kind, actor_id, recipient_ids, post_id=None):
    """`actor_id` did `kind` (follow, like, mention, reply, repost), about `post_id` if
    any: tell each of `recipient_ids` that may hear it (never the actor)."""
    recipients = [r for r in recipient_ids if r != actor_id]
    if not recipients:  # my own post liked, replied to, reposted; myself mentioned
        return
    lock(tx, recipients)
    tx.queries.notifications.create(tx.db, type=kind, actor_id=actor_id, recipient_ids=recipients, post_id=post_id)


def lock(tx, user_ids):
    """Lock these users' notification_state rows, in id order, for the transaction: what
    adds, removes or reads up to their notifications does it first (migrations/0012). A
    write that notifies twice (a reply that mentions) locks every recipient first."""
    list(tx.queries.notifications.lock_states(tx.db, user_ids=sorted(set(user_ids))))  # rows come lazily


@stales_nothing("notifications and unread counts are read from PostgreSQL each time")
def moderated(tx, actor_id, recipient_id, post_id, reason):
    """A moderator removed the recipient's post `post_id`, for `reason` (domain/moderation.py):
    the recipient is told whatever stands between them (none for one's own post)."""
    if recipient_id == actor_id:
        return
    lock(tx, [recipient_id])
    tx.queries.notifications.moderated(
        tx.db, actor_id=actor_id, recipient_id=recipient_id, post_id=post_id, reason=reason
    )


@stales_nothing("notifications and unread counts are read from PostgreSQL each time")
def mark_read(tx, user_id, up_to):
    """`user_id`'s notifications with ids up to `up_to` are read."""
    lock(tx, [user_id])
    tx.queries.notifications.mark_read(tx.db, user_id=user_id, up_to=up_to)


@stales_nothing("notifications and unread counts are read from PostgreSQL each time")
def post_deleted(tx, post_id):
    """Post `post_id` was deleted: nobody is notified of it any more."""
    tx.queries.notifications.delete_post_notifications(tx.db, post_id=post_id)


@stales_nothing("notifications and unread counts are read from PostgreSQL each time")
def account_deleted(tx, user_id):
    """The account is going: its notifications, received and caused, go first (the
    recipients' unread counts follow by trigger)."""
    tx.queries.notifications.delete_account_notifications(tx.db, user_id=user_id)


@stales_nothing("notifications and unread counts are read from PostgreSQL each time")
def dismiss(tx, user_id, notification_id):
    """`user_id`'s notification `notification_id` goes (an unread one stops counting):
    True when there was one of theirs."""
    lock(tx, [user_id])
    return bool(tx.queries.notifications.dismiss(tx.db, user_id=user_id, id=notification_id))


@stales_nothing("notifications and unread counts are read from PostgreSQL each time")
def clear(tx, user_id):
    """Every notification of `user_id` goes (the unread count drops to 0)."""
    lock(tx, [user_id])
    tx.queries.notifications.clear(tx.db, user_id=user_id)
