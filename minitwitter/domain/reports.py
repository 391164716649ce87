"""Reports: a user reports an account (and some of its posts) to the moderators, who
resolve it (docs/API.md, Moderation; migrations/0019).

- file: reports.file makes the reporter's open report of the account, or finds it (one
  open report per reporter and account: a repeat adds its posts, and answers 200);
  reports.add_posts attaches the posts, which must be live posts of that account (else
  Invalid naming post_ids: nothing is written). Reporting oneself is Invalid naming
  account_id; an unknown account is NotFound naming it. The reported account is not told.
- resolve (a moderator): the report locked (reports.lock_report; resolved already:
  Conflict), then its action in the same transaction: `none`; `remove_posts`, each
  reported post still live removed as a moderator removes one (moderation.remove_post:
  its author told, each on record); `suspend`, the account (moderation.suspend, with its
  rules: 403 for a moderator's or an admin's account unless an admin resolves). Then
  reports.resolve and the `resolve_report` audit entry: all of it commits, or none.

A report is in no cached entry: only its reporter and the moderators read reports, from
PostgreSQL.
"""

from minitwitter.domain import Conflict, Invalid, NotFound, moderation
from minitwitter.domain.freshness import stales_nothing

CATEGORIES = ("spam", "abuse", "illegal", "other")
ACTIONS = ("none", "remove_posts", "suspend")


@stales_nothing("a report is in no cached entry: its reporter and the moderators read it from PostgreSQL")
def file(tx, reporter_id, account_id, post_ids=(), category="other", comment=""):
    """The reporter's open report of the account (its id) and whether it is new."""
    if account_id == reporter_id:
        raise Invalid("You cannot report yourself", field="account_id")
    # Unknown, or waiting for approval: no user may reach it yet (moderation.approve).
    if tx.queries.moderation.is_pending(tx.db, user_id=account_id) in (None, True):
        raise NotFound("No such user", field="account_id")
    row = tx.queries.reports.file(
        tx.db, reporter_id=reporter_id, account_id=account_id, category=category, comment=comment
    )
    if post_ids:
        refused = [
            r["id"]
            for r in tx.queries.reports.add_posts(
                tx.db, report_id=row["id"], account_id=account_id, post_ids=list(post_ids)
            )
        ]
        if refused:
            raise Invalid(f"Not live posts of account {account_id}: {refused}", field="post_ids")
    return row["id"], row["created"]


def resolve(tx, tokens, moderator_id, report_id, action, note=""):
    """Resolve an open report with `action`, on record."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    report = tx.queries.reports.lock_report(tx.db, report_id=report_id)
    if report is None:
        raise NotFound("No such report")
    if report["status"] != "open":
        raise Conflict("This report is resolved already")
    reason = note or f"report {report_id}"
    if action == "remove_posts":
        for post_id in report["post_ids"]:
            try:
                moderation.remove_post(tx, moderator_id, post_id, reason)
            except NotFound:  # deleted since it was reported
                pass
    elif action == "suspend":
        moderation.suspend(tx, tokens, moderator_id, report["account_id"], reason)
    tx.queries.reports.resolve(tx.db, report_id=report_id, action=action, note=note)
    moderation.audit(tx, moderator_id, "resolve_report", account_id=report["account_id"], reason=f"{action}: {note}")
