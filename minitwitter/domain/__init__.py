"""The writes, one module per domain: what each change does to the database, which cached
things it makes stale (freshness.py's names, bumped after commit) and what it leaves in
the outbox (tasks.py carries it out).

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
| media.py         | post images: the stored file, its row, its thumbnail                    |
| search.py        | no write of its own: which query answers a search, and its one version  |
| timelines.py     | home timelines: made and filled by feed reads, written by the fan-outs, |
|                  | follows and unfollows, trimmed; an account's deletion takes its own     |

Views (minitwitter/views/) and Celery tasks (minitwitter/tasks.py) both call these
functions; views keep HTTP in (validated input) and HTTP out (status, rendering).

A domain function takes the transaction it writes in, `tx`, first: a request
(minitwitter/db.py gives it `db`, `after_commit`, `after_rollback`; queries.py `queries`;
cache.py `cache`; outbox.py `enqueue_task`) or, in a Celery task, a Job below. It
refuses with one of the exceptions below, which errors.py answers in the one JSON error
shape; it never commits or rolls back: whoever opened the transaction ends it.

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


class Job:
    """The transaction context of a Celery task: what a request gives a domain function.

    The task opens and ends the transaction on `db` itself, then calls committed()."""

    def __init__(self, db, queries, cache):
        self.db, self.queries, self.cache = db, queries, cache
        self._after_commit = []

    def after_commit(self, hook):
        self._after_commit.append(hook)

    def after_rollback(self, hook):
        pass  # a task's failure leaves its outbox row pending: the next delivery does it again

    def committed(self):
        """Run the after-commit hooks (cache bumps, file removals), once."""
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            hook()
