"""Likes: like and unlike (idempotent; the writes are domain/likes.py), and who liked a post."""

from cornice import Service

from minitwitter.api import schemas, shapes
from minitwitter.api.hydration import profiles_json
from minitwitter.api.openapi import Answers
from minitwitter.api.validators import colander_validator
from minitwitter.api.views.posts import post_or_404
from minitwitter.domain import likes as domain
from minitwitter.web.pagination import envelope, read_page

like = Service(name="like", path=r"/api/posts/{id:\d+}/like", description="Like or unlike a post")
likers = Service(name="likers", path=r"/api/posts/{id:\d+}/likes", description="Who liked a post")


def post_action(write):
    """The view of an idempotent action on a post (like, repost, bookmark and their undo):
    `write(request.tx, me, post_id)`, then the post as the caller now sees it."""

    def view(request):
        post_id = request.validated["path"]["id"]
        write(request.tx, request.authenticated_userid, post_id)
        return post_or_404(request, post_id, read=False)

    view.__name__ = view.__qualname__ = f"{write.__name__}_view"
    return view


ON_A_POST = {"schema": schemas.IdPathSchema(), "validators": (colander_validator,)}
# What an action on a post answers, and its undo: 403 when a block stands between the
# caller and the post's author.
DONE, UNDONE = Answers(200, shapes.POST, errors={403}), Answers(200, shapes.POST)
like.post(**ON_A_POST, openapi=DONE)(post_action(domain.like))
like.delete(**ON_A_POST, openapi=UNDONE)(post_action(domain.unlike))


@likers.get(schema=schemas.IdPageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.PROFILE_PAGE))
def list_likers(request):
    post_id = request.validated["path"]["id"]
    post = post_or_404(request, post_id)  # its likes_count is the likers' count
    page = read_page(request)
    rows = list(
        request.queries.likes.list_likers(
            request.db, post_id=post_id, viewer_id=request.authenticated_userid, **page.params
        )
    )
    return envelope(request, page, rows, profiles_json(request, rows[: page.size]), count=post["likes_count"])
