"""Reports (docs.joinmastodon.org/methods/reports):

POST /api/v1/reports   write:reports   account_id, status_ids[], comment, category; JSON or form

Files the native report (domain/reports.py: file): one open report per reporter and account,
a repeat adds its statuses to it; the moderators read and resolve it on the native face
(/api/admin/reports/). Mastodon's categories map onto the native ones: `spam`, `legal`
(illegal), `violation` (abuse), `other`; the native names are taken too. `forward` is
accepted (no federation: nothing to forward to) and `rule_ids[]` ignored (no rules).
Answers Mastodon's Report entity.
"""

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from minitwitter.domain import Invalid
from minitwitter.domain import reports as domain
from minitwitter.domain.credentials import MAX_USER_ID
from minitwitter.domain.profiles import shared_profile
from minitwitter.mastodon import entities
from minitwitter.mastodon.accounts import user_id_or_404
from minitwitter.mastodon.common import id_list, id_param, param, require
from minitwitter.mastodon.entities import ACCOUNT
from minitwitter.mastodon.errors import MastodonError
from minitwitter.mastodon.openapi import BOOL, ID, ID_IN, STRING, TIME, Operation, entity, nullable
from minitwitter.web.fields import has_surrogates
from minitwitter.web.pagination import MAX_KEY

VIEW = {"permission": NO_PERMISSION_REQUIRED, "renderer": "json"}
# Mastodon's category -> the native one (and the native names, as they are).
CATEGORIES = {
    "spam": "spam",
    "legal": "illegal",
    "violation": "abuse",
    "other": "other",
    "illegal": "illegal",
    "abuse": "abuse",
}
MASTODON_CATEGORY = {"spam": "spam", "illegal": "legal", "abuse": "violation", "other": "other"}
MAX_COMMENT = 1000
MAX_STATUSES = 100


def _id(raw, largest):
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) <= largest else None


def _input(request):
    raw_account = id_param(request, "account_id")
    if not raw_account:
        raise MastodonError(422, "Validation failed: account_id is required")
    if _id(raw_account, MAX_USER_ID) is None:
        raise MastodonError(404, "Record not found")
    raw_statuses = [raw for raw in id_list(request, "status_ids") if raw != ""]
    if len(raw_statuses) > MAX_STATUSES:
        raise MastodonError(422, f"Validation failed: status_ids[] takes at most {MAX_STATUSES} ids")
    status_ids = [_id(raw, MAX_KEY) for raw in raw_statuses]
    if None in status_ids:
        raise MastodonError(422, "Validation failed: status_ids[] must be ids of that account's statuses")
    category = param(request, "category") or "other"
    if category not in CATEGORIES:
        raise MastodonError(422, "Validation failed: category must be spam, legal, violation or other")
    comment = (param(request, "comment") or "").strip()
    if len(comment) > MAX_COMMENT:
        raise MastodonError(422, f"Validation failed: comment is at most {MAX_COMMENT} characters")
    if "\x00" in comment or has_surrogates(comment):
        raise MastodonError(422, "Validation failed: comment must be valid text")
    return list(dict.fromkeys(status_ids)), CATEGORIES[category], comment


REPORT = entity(
    "Report",
    "A report I filed (docs.joinmastodon.org/entities/Report); the reported account never learns who filed it",
    id=ID,
    action_taken=BOOL,
    action_taken_at=nullable(TIME),
    category={"type": "string", "enum": sorted(set(MASTODON_CATEGORY.values()))},
    comment=STRING,
    forwarded=BOOL,
    created_at=TIME,
    status_ids={"type": ["array", "null"], "items": ID},
    rule_ids={"type": "null"},
    target_account=ACCOUNT,
)


@view_config(
    route_name="mastodon_reports",
    request_method="POST",
    openapi=Operation(
        "Report an account to the moderators, with some of its statuses (the native report: a repeat adds to it)",
        REPORT,
        "write:reports",
        body={
            "account_id": {**ID_IN, "pattern": "^[0-9]{1,19}$", "description": "The account reported"},
            "status_ids": {"type": "array", "items": ID_IN, "maxItems": MAX_STATUSES, "description": "Its statuses"},
            "comment": {"type": "string", "maxLength": MAX_COMMENT, "pattern": "^[^\\x00]*$"},
            "category": {"type": "string", "enum": sorted(CATEGORIES)},
        },
        required=("account_id",),
        body_required=True,
        errors={404},
        description="Mastodon's `forward` and `rule_ids[]` are accepted and not read (no federation, no rules).",
    ),
    **VIEW,
)
def file_report(request):
    me = require(request, "write:reports")["user_id"]
    status_ids, category, comment = _input(request)
    account_id = user_id_or_404(request, id_param(request, "account_id"))
    try:
        report_id, _created = domain.file(
            request.tx, me, account_id, post_ids=status_ids, category=category, comment=comment
        )
    except Invalid as e:  # oneself; a status not a live one of that account
        field = {"post_ids": "status_ids"}.get(e.field, e.field)
        raise MastodonError(422, f"Validation failed: {field}: {e.message}") from None
    row = request.queries.reports.get_report(request.db, report_id=report_id)
    return report(request, row)


def report(request, row):
    """Mastodon's Report entity of a reports row (reports.get_report)."""
    target = shared_profile(request.tx, row["account_id"])
    return {
        "id": str(row["id"]),
        "action_taken": row["status"] == "resolved",
        "action_taken_at": entities.timestamp(row["resolved_at"]) if row["resolved_at"] else None,
        "category": MASTODON_CATEGORY[row["category"]],
        "comment": row["comment"],
        "forwarded": False,
        "created_at": entities.timestamp(row["created_at"]),
        "status_ids": [str(i) for i in row["post_ids"]] or None,
        "rule_ids": None,
        "target_account": entities.account(request, target),
    }
