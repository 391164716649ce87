"""Reports a user makes: file one, list mine (the writes are minitwitter/domain/reports.py;
moderators read and resolve them under /api/admin/reports/: api/views/admin.py)."""

from cornice import Service

from minitwitter.api import schemas, shapes
from minitwitter.api.hydration import reports_json
from minitwitter.api.openapi import Answers
from minitwitter.api.validators import colander_body_validator, colander_validator
from minitwitter.domain import reports as domain
from minitwitter.web.pagination import PageSchema, envelope, read_page

reports = Service(name="reports", path="/api/reports", description="Report an account to the moderators; my reports")


@reports.post(
    schema=schemas.ReportBody(),
    validators=(colander_body_validator,),
    openapi=Answers(
        201,
        shapes.REPORT,
        errors={404},
        also={200: ("My open report of that account, with these posts added", shapes.REPORT)},
    ),
)
def file_report(request):
    body = request.validated
    report_id, created = domain.file(
        request.tx,
        request.authenticated_userid,
        body["account_id"],
        post_ids=body["post_ids"],
        category=body["category"],
        comment=body["comment"],
    )
    request.response.status = 201 if created else 200
    return one(request, report_id, moderated=False)


@reports.get(schema=PageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.REPORT_PAGE))
def list_my_reports(request):
    """Read from PostgreSQL each time: only their reporter reads them."""
    page = read_page(request)
    rows = list(request.queries.reports.list_mine(request.db, reporter_id=request.authenticated_userid, **page.params))
    return envelope(request, page, rows, reports_json(request, rows[: page.size], moderated=False))


def one(request, report_id, moderated):
    row = request.queries.reports.get_report(request.db, report_id=report_id)
    return reports_json(request, [row], moderated)[0]
