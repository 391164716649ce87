"""Moderation's routes under /api/admin/: each needs the permission `moderator` or `admin`
(web/security.py reads the caller's role; a `user` gets 403 before anything else, its
input included, is looked at). The writes are minitwitter/domain/moderation.py; every
action writes its audit entry in its own transaction."""

from cornice import Service

from minitwitter.api import schemas, shapes
from minitwitter.api.hydration import account_json as render_account
from minitwitter.api.hydration import profile, reports_json
from minitwitter.api.openapi import Answers
from minitwitter.api.validators import colander_validator
from minitwitter.api.views.follows import profile_or_404
from minitwitter.domain import moderation, reports
from minitwitter.domain.search import like_prefix
from minitwitter.web.errors import http_error
from minitwitter.web.pagination import PageSchema, envelope, read_page

MODERATOR, ADMIN = "moderator", "admin"

role = Service(
    name="admin_role", path=r"/api/admin/accounts/{id:\d+}/role", description="Give an account a role (admins only)"
)
audit = Service(name="admin_audit", path="/api/admin/audit", description="Every moderation action, newest first")
suspend = Service(
    name="admin_suspend", path=r"/api/admin/accounts/{id:\d+}/suspend", description="Suspend an account, with a reason"
)
unsuspend = Service(
    name="admin_unsuspend", path=r"/api/admin/accounts/{id:\d+}/unsuspend", description="Lift an account's suspension"
)

accounts = Service(
    name="admin_accounts",
    path="/api/admin/accounts",
    description="Accounts as moderators see them, newest first: pending, suspended or active; by username prefix",
)
approve = Service(
    name="admin_approve", path=r"/api/admin/accounts/{id:\d+}/approve", description="Approve a sign-up waiting for it"
)
reject = Service(
    name="admin_reject",
    path=r"/api/admin/accounts/{id:\d+}/reject",
    description="Reject a sign-up waiting for approval: the account is deleted",
)

admin_post = Service(
    name="admin_post", path=r"/api/admin/posts/{id:\d+}", description="Remove a post, with a reason (moderators)"
)
admin_reports = Service(
    name="admin_reports",
    path="/api/admin/reports",
    description="Reports: open (oldest first) or resolved (newest first)",
)
admin_report = Service(name="admin_report", path=r"/api/admin/reports/{id:\d+}", description="One report")
admin_resolve = Service(
    name="admin_resolve", path=r"/api/admin/reports/{id:\d+}/resolve", description="Resolve a report with an action"
)


def account_json(request, account_id):
    """The account as moderators see it (read from PostgreSQL), or a 404."""
    row = request.queries.moderation.get_account(request.db, user_id=account_id)
    if row is None:
        raise http_error(404, "No such user")
    viewer_id = request.authenticated_userid
    following = viewer_id != account_id and request.queries.users.is_following(
        request.db, follower_id=viewer_id, followee_id=account_id
    )
    return render_account(request, row, following)


def _suspension(write):
    def view(request):
        account_id = request.validated["path"]["id"]
        registry = request.registry
        write(
            request.tx, registry.tokens, request.authenticated_userid, account_id, request.validated["body"]["reason"]
        )
        return account_json(request, account_id)

    view.__name__ = view.__qualname__ = f"{write.__name__}_view"
    return view


# 403: the account is a moderator's or an admin's, and the caller is no admin (or no moderator).
suspend.post(
    schema=schemas.SuspendSchema(),
    validators=(colander_validator,),
    permission=MODERATOR,
    openapi=Answers(200, shapes.ACCOUNT, errors={403}),
)(_suspension(moderation.suspend))
unsuspend.post(
    schema=schemas.UnsuspendSchema(),
    validators=(colander_validator,),
    permission=MODERATOR,
    openapi=Answers(200, shapes.ACCOUNT, errors={403}, optional_body=True),
)(_suspension(moderation.unsuspend))


@role.post(
    schema=schemas.RoleSchema(),
    validators=(colander_validator,),
    permission=ADMIN,
    openapi=Answers(200, shapes.PROFILE, errors={403}),
)
def grant_role(request):
    account_id = request.validated["path"]["id"]
    moderation.grant_role(request.tx, request.authenticated_userid, account_id, request.validated["body"]["role"])
    return profile_or_404(request, account_id)


@audit.get(
    schema=PageSchema(),
    validators=(colander_validator,),
    permission=MODERATOR,
    openapi=Answers(200, shapes.AUDIT_PAGE, errors={403}),
)
def list_audit(request):
    """Read from PostgreSQL each time: moderators only, and an entry never changes."""
    page = read_page(request)
    rows = list(request.queries.moderation.list_audit(request.db, **page.params))[: page.size + 1]
    actors = {}
    for r in rows[: page.size]:
        if r["actor_id"] is not None and r["actor_id"] not in actors:
            actors[r["actor_id"]] = profile(request, r["actor_id"])
    results = [
        shapes.AUDIT_ENTRY.pick(
            {
                **r,
                "actor": actors.get(r["actor_id"]),
                "account": r["account_id"],
                "post": r["post_id"],
                "created_at": r["created_at"].isoformat(),
            }
        )
        for r in rows[: page.size]
    ]
    return envelope(request, page, rows, results)


@accounts.get(
    schema=schemas.AccountsSchema(),
    validators=(colander_validator,),
    permission=MODERATOR,
    openapi=Answers(200, shapes.ACCOUNT_PAGE, errors={403}),
)
def list_accounts(request):
    """Read from PostgreSQL each time (moderators only); each status walks its own index
    (sql/moderation.sql). count is null: counting would read every matching row."""
    page = read_page(request)
    query = request.validated["querystring"]
    params = {**page.params, "pattern": like_prefix(query["q"].removeprefix("@").lower())}
    q = request.queries.moderation
    if query["status"] == "pending":
        rows = list(q.list_pending(request.db, **params))
    elif query["status"] == "suspended":
        rows = list(q.list_suspended(request.db, **params))
    else:
        rows = list(q.list_accounts(request.db, active=query["status"] == "active", **params))
    ids = [r["id"] for r in rows[: page.size]]
    followed = set(q.followed_among(request.db, viewer_id=request.authenticated_userid, user_ids=ids)) if ids else ()
    return envelope(request, page, rows, [render_account(request, r, r["id"] in followed) for r in rows[: page.size]])


@approve.post(
    schema=schemas.IdPathSchema(),
    validators=(colander_validator,),
    permission=MODERATOR,
    openapi=Answers(200, shapes.ACCOUNT, errors={403, 409}),
)
def approve_account(request):
    """409: the account is not waiting for approval."""
    account_id = request.validated["path"]["id"]
    moderation.approve(request.tx, request.authenticated_userid, account_id)
    return account_json(request, account_id)


@reject.post(
    schema=schemas.IdPathSchema(),
    validators=(colander_validator,),
    permission=MODERATOR,
    openapi=Answers(204, None, errors={403, 409}),
)
def reject_account(request):
    """The account is deleted: its username and email are free again. 409: it is approved."""
    registry = request.registry
    moderation.reject(
        request.tx,
        registry.tokens,
        request.authenticated_userid,
        request.validated["path"]["id"],
        registry.settings["media.root"],
    )
    request.response.status = 204
    return None


@admin_post.delete(
    schema=schemas.RemovePostSchema(),
    validators=(colander_validator,),
    permission=MODERATOR,
    openapi=Answers(204, None, errors={403}),
)
def remove_post(request):
    """As if its author deleted it; the author is told, with the reason."""
    moderation.remove_post(
        request.tx, request.authenticated_userid, request.validated["path"]["id"], request.validated["body"]["reason"]
    )
    request.response.status = 204
    return None


@admin_reports.get(
    schema=schemas.ReportsSchema(),
    validators=(colander_validator,),
    permission=MODERATOR,
    openapi=Answers(200, shapes.MODERATED_REPORT_PAGE, errors={403}),
)
def list_reports(request):
    page = read_page(request)
    if request.validated["querystring"]["status"] == "open":
        rows = list(request.queries.reports.list_open(request.db, **page.ascending_params))
    else:
        rows = list(request.queries.reports.list_resolved(request.db, **page.params))
    return envelope(request, page, rows, reports_json(request, rows[: page.size], moderated=True))


@admin_report.get(
    schema=schemas.IdPathSchema(),
    validators=(colander_validator,),
    permission=MODERATOR,
    openapi=Answers(200, shapes.MODERATED_REPORT, errors={403}),
)
def get_report(request):
    return _report(request, request.validated["path"]["id"])


@admin_resolve.post(
    schema=schemas.ResolveSchema(),
    validators=(colander_validator,),
    permission=MODERATOR,
    openapi=Answers(200, shapes.MODERATED_REPORT, errors={403}),
)
def resolve_report(request):
    """409 when it is resolved already (Conflict); 403 to suspend a moderator's account."""
    report_id, body = request.validated["path"]["id"], request.validated["body"]
    reports.resolve(
        request.tx, request.registry.tokens, request.authenticated_userid, report_id, body["action"], body["note"]
    )
    return _report(request, report_id)


def _report(request, report_id):
    row = request.queries.reports.get_report(request.db, report_id=report_id)
    if row is None:
        raise http_error(404, "No such report")
    return reports_json(request, [row], moderated=True)[0]
