"""Moderation: roles and the audit log (issue 28; the contract: docs/API.md, Moderation).

- roles: `user` at sign-up, `moderator`, `admin` (users.role, migrations/0018). Each
  /api/admin/ request reads its caller's role from PostgreSQL (web/security.py: the
  permissions `moderator` and `admin`), so a role granted or taken holds at the next request.
- grant_role: by an admin (POST /api/admin/accounts/{id}/role/) or by the server
  (minitwitter-admin <ini> grant: actor None). The account's row is locked first, so two
  grants of one account queue and each audit entry names the role it replaced.
- the audit log (moderation_audit): every moderation action writes its entry with `audit`,
  in the action's own transaction: both commit or neither does. Append-only: nothing here
  changes or deletes an entry, and the table's triggers refuse it to anyone who tries.

A role is in no cached entry: /api/users/me/ and the admin routes read it from PostgreSQL.
"""

from minitwitter.domain import NotFound
from minitwitter.domain.freshness import stales_nothing

ROLES = ("user", "moderator", "admin")
RANK = {role: rank for rank, role in enumerate(ROLES)}
ACTIONS = ("suspend", "unsuspend", "remove_post", "resolve_report", "grant_role")


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


@stales_nothing("a role is in no cached entry: /api/users/me/ and /api/admin/ read it from PostgreSQL")
def grant_role(tx, actor_id, account_id, new_role):
    """Give the account `new_role`, on record (actor None: the server). The role it had."""
    if new_role not in ROLES:
        raise ValueError(f"unknown role {new_role!r}")
    row = tx.queries.moderation.lock_role(tx.db, user_id=account_id)
    if row is None:
        raise NotFound("No such user")
    tx.queries.moderation.set_role(tx.db, user_id=account_id, role=new_role)
    audit(tx, actor_id, "grant_role", account_id=account_id, reason=f"{row['role']} -> {new_role}")
    return row["role"]


def account_by_username(tx, username):
    """{id, role} of the account with this username (any case), or None."""
    return tx.queries.moderation.role_by_username(tx.db, username=username)
