"""The writes, one module per domain: what each change does to the database, which cached
things it makes stale (freshness.py's names, bumped after commit) and what it leaves in
the outbox (worker/tasks.py carries it out).

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

Beside them, no write of their own: freshness.py (the cache's version names, and
bump_after_commit), credentials.py (JWT tokens, bcrypt passwords), profiles.py (a profile's
shared, cached fields), blocked.py (the refusals across a block), hashtags.py and
mentions.py (a post's #tags and @usernames). Nothing here imports from web/, api/ or
worker/ (tests/test_layers.py).

Views (minitwitter/api/views/) and Celery tasks (minitwitter/worker/tasks.py) both call these
functions; views keep HTTP in (validated input) and HTTP out (status, rendering).

A domain function takes the transaction it writes in, `tx`, first: a request
(minitwitter/store/db.py gives it `db`, `after_commit`, `after_rollback`; store/queries.py
`queries`; store/cache.py `cache`; worker/outbox.py `enqueue_task`) or, in a Celery task, a
Job below. It refuses with one of the exceptions below, which web/errors.py answers in the
one JSON error shape; it never commits or rolls back: whoever opened the transaction ends it.
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
