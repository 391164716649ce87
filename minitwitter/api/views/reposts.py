"""Reposts and bookmarks: repost, undo; bookmark, remove (idempotent; the writes are
domain/reposts.py and domain/bookmarks.py); my bookmarks."""

from cornice import Service

from minitwitter.api import shapes
from minitwitter.api.hydration import posts_by_ids
from minitwitter.api.openapi import Answers
from minitwitter.api.validators import colander_validator
from minitwitter.api.views.likes import DONE, ON_A_POST, UNDONE, post_action
from minitwitter.domain import bookmarks as bookmarks_domain
from minitwitter.domain import reposts as reposts_domain
from minitwitter.domain.safety import hidden
from minitwitter.web.pagination import PageSchema, envelope, read_page

repost = Service(name="repost", path=r"/api/posts/{id:\d+}/repost", description="Repost a post, or undo it")
bookmark = Service(name="bookmark", path=r"/api/posts/{id:\d+}/bookmark", description="Bookmark a post, or remove it")
bookmarks = Service(name="bookmarks", path="/api/bookmarks", description="My bookmarked posts, newest bookmark first")


repost.post(**ON_A_POST, openapi=DONE)(post_action(reposts_domain.repost))
repost.delete(**ON_A_POST, openapi=UNDONE)(post_action(reposts_domain.unrepost))
bookmark.post(**ON_A_POST, openapi=DONE)(post_action(bookmarks_domain.bookmark))
bookmark.delete(**ON_A_POST, openapi=UNDONE)(post_action(bookmarks_domain.unbookmark))


@bookmarks.get(schema=PageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.POST_PAGE))
def list_bookmarks(request):
    """Not a cached response: nobody but their owner reads them, and a page is one
    indexed query. count is null: a bookmarked post's delete would have to update it."""
    page = read_page(request)
    rows = list(
        request.queries.bookmarks.list_bookmarks(
            request.db,
            user_id=request.authenticated_userid,
            hidden=hidden(request.tx, request.authenticated_userid),
            **page.params,
        )
    )
    return envelope(request, page, rows, posts_by_ids(request, [r["post_id"] for r in rows[: page.size]]))
