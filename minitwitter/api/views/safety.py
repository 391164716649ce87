"""Blocks and mutes: block, unblock, mute, unmute (idempotent; the writes and what they hide
are domain/safety.py), and the lists of the accounts I block and mute."""

from cornice import Service

from minitwitter.api import schemas, shapes
from minitwitter.api.hydration import profiles_json
from minitwitter.api.openapi import Answers
from minitwitter.api.validators import colander_validator
from minitwitter.api.views.follows import profile_or_404
from minitwitter.domain import safety as domain
from minitwitter.web.pagination import PageSchema, envelope, read_page

block = Service(name="block", path=r"/api/users/{id:\d+}/block", description="Block or unblock a user")
mute = Service(name="mute", path=r"/api/users/{id:\d+}/mute", description="Mute or unmute a user")
blocks = Service(name="blocks", path="/api/blocks", description="The users I block, newest block first")
mutes = Service(name="mutes", path="/api/mutes", description="The users I mute, newest mute first")

ON_A_USER = {
    "schema": schemas.IdPathSchema(),
    "validators": (colander_validator,),
    "openapi": Answers(200, shapes.PROFILE),
}


def user_action(write):
    """The view of an idempotent action on a user: `write(request.tx, me, user_id)`, then
    their profile as the caller now sees it (404 for an unknown user: nothing was written)."""

    def view(request):
        user_id = request.validated["path"]["id"]
        write(request.tx, request.authenticated_userid, user_id)
        return profile_or_404(request, user_id)

    view.__name__ = view.__qualname__ = f"{write.__name__}_view"
    return view


block.post(**ON_A_USER)(user_action(domain.block))
block.delete(**ON_A_USER)(user_action(domain.unblock))
mute.post(**ON_A_USER)(user_action(domain.mute))
mute.delete(**ON_A_USER)(user_action(domain.unmute))


@blocks.get(schema=PageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.PROFILE_PAGE))
def list_blocks(request):
    """Read from PostgreSQL each time, as bookmarks: only their owner reads them. count is
    null, as for bookmarks."""
    return _list(request, request.queries.safety.list_blocks)


@mutes.get(schema=PageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.PROFILE_PAGE))
def list_mutes(request):
    return _list(request, request.queries.safety.list_mutes)


def _list(request, query):
    page = read_page(request)
    rows = list(query(request.db, user_id=request.authenticated_userid, **page.params))
    return envelope(request, page, rows, profiles_json(request, rows[: page.size]))
