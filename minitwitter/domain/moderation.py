"""Moderation: roles, suspensions and the audit log (issue 28; the contract: docs/API.md,
Moderation).

- roles: `user` at sign-up, `moderator`, `admin` (users.role, migrations/0019). Each
  /api/admin/ request reads its caller's role from PostgreSQL (web/security.py: the
  permissions `moderator` and `admin`), so a role granted or taken holds at the next request.
- grant_role: by an admin (POST /api/admin/accounts/{id}/role/) or by the server
  (minitwitter-admin <ini> grant: actor None). The account's row is locked first, so two
  grants of one account queue and each audit entry names the role it replaced.
- suspend, unsuspend (a moderator; a moderator or an admin only by an admin; never
  oneself): users.suspended_at, the account's row locked first. A suspended account's access
  tokens stop (credentials.py: 401 "This account is suspended"; this process forgets them
  after the commit, the others when they hear the bump of freshness.session(id) through
  their near cache's tracking connection: at once, as after a password change; without
  one, within jwt.recheck_seconds), log-in and refresh answer 403. It is
  in every viewer's hidden set (`suspended`, below, and domain/safety.py): its posts,
  reposts and profile leave every list, feed, search and notification, and answer 404 to
  everyone but moderators (api/hydration.py), all at once through one version,
  freshness.SUSPENDED. Nothing else changes: its follows, likes and the counts that include
  them stay, and all of it shows again when the suspension is lifted.
- remove_post: the post goes as its author's delete takes it (posts.remove), and the author
  gets a notification of type `moderation` with the reason (notifications.moderated).
- approve, reject (a moderator): a sign-up waiting for approval (registrations = approval;
  users.approved, migrations/0021). approve: the row locked, approved; it can log in, and
  its profile answers everyone (its profile version: the shared profile says whether it is
  approved). reject: the account is deleted as its own deletion deletes it (accounts.
  remove_account: its sign_up notifications go with it), its username and email free again.
  Neither acts on an approved account (Conflict). While it waits it is in the set of
  accounts hidden from users, with the suspended ones (profiles.suspended: every list,
  lookup, mention, relationship and the instance's user_count leave it out), so each of
  sign-up, approve and reject bumps freshness.SUSPENDED.
- the audit log (moderation_audit): every moderation action writes its entry with `audit`,
  in the action's own transaction: both commit or neither does. Append-only: nothing here
  changes or deletes an entry, and the table's triggers refuse it to anyone who tries.

A role is in no cached entry: /api/users/me/ and the admin routes read it from PostgreSQL;
a grant bumps the account's viewer version (what a moderator is shown depends on it).
"""

from functools import partial

from minitwitter.domain import Conflict, Forbidden, Invalid, NotFound, accounts, freshness, notifications, posts
from minitwitter.domain.freshness import stales_nothing

ROLES = ("user", "moderator", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
ACTIONS = ("suspend", "unsuspend", "remove_post", "resolve_report", "grant_role", "approve", "reject")


def role(tx, user_id):
    """The account's role, or None when there is no such account."""
    return tx.queries.moderation.role(tx.db, user_id=user_id)


def may(tx, user_id, needed):
    """Whether the account holds the role `needed` (moderator, admin) or a higher one."""
    found = role(tx, user_id)
    return found is not None and RANK[found] >= RANK[needed]


@stales_nothing("an audit entry is in no cached entry: GET /api/admin/audit/ reads PostgreSQL")
def audit(tx, actor_id, action, account_id=None, post_id=None, reason=""):
    """Record a moderation action, in the transaction that does it."""
    if action not in ACTIONS:
        raise ValueError(f"unknown moderation action {action!r}")
    return tx.queries.moderation.audit(
        tx.db, actor_id=actor_id, action=action, account_id=account_id, post_id=post_id, reason=reason
    )


def grant_role(tx, actor_id, account_id, new_role):
    """Give the account `new_role`, on record (actor None: the server). The role it had."""
    if new_role not in ROLES:
        raise ValueError(f"unknown role {new_role!r}")
    row = tx.queries.moderation.lock_role(tx.db, user_id=account_id)
    if row is None:
        raise NotFound("No such user")
    tx.queries.moderation.set_role(tx.db, user_id=account_id, role=new_role)
    audit(tx, actor_id, "grant_role", account_id=account_id, reason=f"{row['role']} -> {new_role}")
    # The role is in no cached entry, but what a moderator is shown of a suspended account
    # depends on it (api/hydration.py: is_moderator), under the account's viewer version.
    tx.stale(freshness.viewer(account_id))
    return row["role"]


def suspend(tx, tokens, actor_id, account_id, reason):
    """Suspend the account, on record: True when it was not suspended yet (a repeat changes
    and records nothing)."""
    return _suspension(tx, tokens, actor_id, account_id, True, reason)


def unsuspend(tx, tokens, actor_id, account_id, reason=""):
    """Lift the account's suspension, on record: True when it was suspended."""
    return _suspension(tx, tokens, actor_id, account_id, False, reason)


def _suspension(tx, tokens, actor_id, account_id, suspended, reason):
    verb = "suspend" if suspended else "unsuspend"
    if account_id == actor_id:
        raise Invalid(f"You cannot {verb} yourself", field="id")
    row = tx.queries.moderation.lock_account(tx.db, user_id=account_id)
    if row is None:
        raise NotFound("No such user")
    if row["role"] != "user" and role(tx, actor_id) != "admin":
        raise Forbidden(f"Only an admin may {verb} a moderator or an admin")
    if row["suspended"] == suspended:
        return False
    tx.queries.moderation.set_suspended(tx.db, user_id=account_id, suspended=suspended)
    audit(tx, actor_id, verb, account_id=account_id, reason=reason)
    # One version for every list, feed, search, post and profile that left it out or showed
    # it (freshness.py); its follows, likes and counts do not change.
    tx.stale(freshness.SUSPENDED)
    if suspended:  # its access tokens stop: in this process now, in the others at its bump
        tx.stale(freshness.session(account_id))  # which every process's near cache hears
        tx.after_commit(partial(tokens.forget_user, account_id))
    return True


def account_by_username(tx, username):
    """{id, role} of the account with this username (any case), or None."""
    return tx.queries.moderation.role_by_username(tx.db, username=username)


def remove_post(tx, actor_id, post_id, reason):
    """Remove a live post, on record, as if its author deleted it (domain/posts.remove: every
    list, count, feed and repost follows); its author gets a `moderation` notification with
    the reason."""
    row = tx.queries.posts.get_post_for_update(tx.db, post_id=post_id)
    if row is None or row["deleted_at"] is not None:
        raise NotFound("No such post")
    posts.remove(tx, row)
    notifications.moderated(tx, actor_id, row["author_id"], post_id, reason)
    audit(tx, actor_id, "remove_post", account_id=row["author_id"], post_id=post_id, reason=reason)


PENDING_ONLY = "This account is not waiting for approval"


def approve(tx, actor_id, account_id):
    """Approve a sign-up waiting for it, on record: it can log in, and answers everyone."""
    row = tx.queries.moderation.lock_pending(tx.db, user_id=account_id)
    if row is None:
        raise NotFound("No such user")
    if row["approved"]:
        raise Conflict(PENDING_ONLY)
    tx.queries.moderation.approve(tx.db, user_id=account_id)
    audit(tx, actor_id, "approve", account_id=account_id)
    # The shared profile says whether it is approved; it leaves the set of accounts hidden
    # from users (profiles.suspended): it shows in every list, lookup and count at once.
    tx.stale(freshness.profile(account_id), freshness.SUSPENDED)


def reject(tx, tokens, actor_id, account_id, media_root):
    """Reject a sign-up waiting for approval, on record: the account is deleted (its username
    and email are free again). The audit entry keeps its id and username."""
    if not accounts.lock_for_deletion(tx, account_id):
        raise NotFound("No such user")
    if not tx.queries.moderation.is_pending(tx.db, user_id=account_id):
        raise Conflict(PENDING_ONLY)
    username = tx.queries.users.get_user(tx.db, user_id=account_id)["username"]
    accounts.remove_account(tx, tokens, account_id, media_root)
    audit(tx, actor_id, "reject", account_id=account_id, reason=f"sign-up of {username}")
    tx.stale(freshness.SUSPENDED)  # it leaves the set of accounts hidden from users
