"""The writes, one module per domain: what each change does to the database, which cached
things it makes stale (freshness.py's names, bumped after commit: tx.stale) and what it
leaves in the outbox (worker/tasks.py carries it out).

| module           | owns                                                                    |
|------------------|-------------------------------------------------------------------------|
| accounts.py      | sign-up (and its welcome email), log in, refresh tokens and their families; |
|                  | the profile, password change and reset, email verification, deletion    |
| posts.py         | posts, their hashtags and mentions: create (replies too), edit, delete, |
|                  | purge; favourite hashtags                                               |
| likes.py         | like, unlike                                                            |
| reposts.py       | repost, undo (a post's delete takes its reposts: posts.py)              |
| bookmarks.py     | bookmark, remove                                                        |
| follows.py       | follow (and its email), unfollow                                        |
| notifications.py | what the events above notify; read up to                                |
| safety.py        | block (it ends the follows both ways), unblock, mute, unmute; the hidden|
|                  | set each viewer's lists leave out, and the refusals across a block      |
| media.py         | post images: the stored file, its row, its thumbnail; uploads ahead of  |
|                  | a post (the Mastodon face's media), taken by a post or removed in a day |
| markers.py       | where a person stopped reading (home; notifications: the read mark)    |
| search.py        | no write of its own: which query answers a search, and its one version  |
| timelines.py     | home timelines: made and filled by feed reads, written by the fan-outs, |
|                  | follows and unfollows, trimmed; an account's deletion takes its own     |

Beside them, no write of their own: freshness.py (the cache's version names, and
stales_nothing), credentials.py (JWT tokens, bcrypt passwords), profiles.py (a profile's
shared, cached fields), blocked.py (the refusals across a block), hashtags.py and
mentions.py (a post's #tags and @usernames). Nothing here imports from web/, api/ or
worker/ (tests/test_layers.py).

Views (minitwitter/api/views/) and Celery tasks (minitwitter/worker/tasks.py) both call these
functions; views keep HTTP in (validated input) and HTTP out (status, rendering).

A domain function takes the transaction it runs in, `tx`, first: a Tx (store/tx.py), the
same for a request (views pass request.tx) and for a task (worker/tasks.py: `with
_store().begin() as tx`). What it uses of it:

- tx.db, tx.queries: the connection (taken from the pool on first use; a replica's for a
  read that may use one) and the named queries (sql/): `tx.queries.posts.get_post(tx.db, ...)`;
- tx.cache: the cache (store/cache.py's RequestCache), for the reads it owns;
- tx.settings: the app's settings;
- tx.stale(*names): the cached versions (freshness.py's names) this write makes stale,
  bumped after the commit. Every write declares what it makes stale this way, or that it
  makes nothing stale with @freshness.stales_nothing("why") (tests/test_freshness.py
  walks every function that writes and fails on one that does neither);
- tx.enqueue_task(kind, payload): an outbox row, published after the commit
  (worker/tasks.py carries it out);
- tx.after_commit(fn), tx.after_rollback(fn): work once the transaction has ended
  (files removed, remembered tokens forgotten);
- tx.separate(): another transaction, for what must stick even if this one rolls back.

It refuses with one of the exceptions below, which web/errors.py answers in the one JSON
error shape; it never commits or rolls back: whoever began the transaction ends it.

Lock order. A write about other accounts or their posts (follow, block, mute, like,
repost, bookmark, reply, mention, and their undoing) first locks the users rows of the
accounts it is about, in id order (lock_accounts): the caller, the other account, the
post's author, the accounts its text mentions. Only then the rest, in the order of
migrations/0006 (posts, users' counts by id, hashtags by name, notification states last).
An account's deletion holds its own row from its first statement, so each such write
either runs before it (and the deletion takes what it wrote along) or after it (and finds
the account gone: 404), never half-way; and nothing it waits for waits for it
(domain/accounts.py: delete_account says in which order it takes the rest).
"""


class DomainError(Exception):
    """A change refused for a reason the caller can act on. `field` names the input it is
    about, if one is (errors.py reports it in the error's details)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """The input cannot be used (following yourself, an image that is not one)."""


class TooLarge(Invalid):
    """The input is over a size limit (an image's bytes or pixels)."""


class Unauthorized(DomainError):
    """Credentials or a token that do not hold."""


class Forbidden(DomainError):
    """Someone else's thing (a post only its author may change)."""


class NotFound(DomainError):
    """No such thing, or no longer."""


class Conflict(DomainError):
    """Taken already (a username, an email)."""


class AccountGone(Unauthorized):
    """The caller's own account was deleted under its valid access token (errors.py answers
    the 401 of a token whose account no longer exists)."""


def lock_accounts(tx, user_id, others=(), post_id=None, names=()):
    """Lock the rows of the accounts a write of `user_id` is about (`others`, the author of
    `post_id`, the users `names` mentions), with the caller's, in id order (sql/users.sql).
    AccountGone when the caller's account no longer exists; NotFound when one of `others`
    does not (or no longer does). Returns the ids locked."""
    ids = {
        r["id"]
        for r in tx.queries.users.lock_accounts(tx.db, user_ids=[user_id, *others], post_id=post_id, names=list(names))
    }
    if user_id not in ids:
        raise AccountGone("The account of this access token no longer exists")
    if not ids.issuperset(others):
        raise NotFound("No such user")
    return ids


def lock_pair(tx, user_id, other_id):
    """Take the lock every follow, unfollow, block and unblock between the two accounts takes
    first, then lock both accounts, as lock_accounts does (sql/safety.sql): NotFound when the
    other is gone, AccountGone when the caller is. Held until the transaction ends."""
    ids = {r["id"] for r in tx.queries.safety.lock_pair(tx.db, user_id=user_id, other_id=other_id)}
    if user_id not in ids:
        raise AccountGone("The account of this access token no longer exists")
    if other_id not in ids:
        raise NotFound("No such user")
