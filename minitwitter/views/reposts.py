"""Reposts and bookmarks: repost, undo; bookmark, remove (idempotent; the writes are
domain/reposts.py and domain/bookmarks.py); my bookmarks."""

from cornice import Service
from cornice.validators import colander_validator

from minitwitter import schemas
from minitwitter.domain import bookmarks as bookmarks_domain
from minitwitter.domain import reposts as reposts_domain
from minitwitter.hydration import posts_by_ids
from minitwitter.pagination import PageSchema, envelope, read_page
from minitwitter.views.likes import post_or_404

repost = Service(name="repost", path=r"/api/posts/{id:\d+}/repost", description="Repost a post, or undo it")
bookmark = Service(name="bookmark", path=r"/api/posts/{id:\d+}/bookmark", description="Bookmark a post, or remove it")
bookmarks = Service(name="bookmarks", path="/api/bookmarks", description="My bookmarked posts, newest bookmark first")


@repost.post(schema=schemas.IdPathSchema(), validators=(colander_validator,))
def repost_post(request):
    post_id = request.validated["path"]["id"]
    reposts_domain.repost(request, request.authenticated_userid, post_id)
    return post_or_404(request, post_id)


@repost.delete(schema=schemas.IdPathSchema(), validators=(colander_validator,))
def unrepost_post(request):
    post_id = request.validated["path"]["id"]
    reposts_domain.unrepost(request, request.authenticated_userid, post_id)
    return post_or_404(request, post_id)


@bookmark.post(schema=schemas.IdPathSchema(), validators=(colander_validator,))
def bookmark_post(request):
    post_id = request.validated["path"]["id"]
    bookmarks_domain.bookmark(request, request.authenticated_userid, post_id)
    return post_or_404(request, post_id)


@bookmark.delete(schema=schemas.IdPathSchema(), validators=(colander_validator,))
def unbookmark_post(request):
    post_id = request.validated["path"]["id"]
    bookmarks_domain.unbookmark(request, request.authenticated_userid, post_id)
    return post_or_404(request, post_id)


@bookmarks.get(schema=PageSchema(), validators=(colander_validator,))
def list_bookmarks(request):
    """Not a cached response: nobody but their owner reads them, and a page is one
    indexed query. count is null: a bookmarked post's delete would have to update it."""
    page = read_page(request)
    rows = list(
        request.queries.bookmarks.list_bookmarks(request.db, user_id=request.authenticated_userid, **page.params)
    )
    return envelope(request, page, rows, posts_by_ids(request, [r["post_id"] for r in rows[: page.size]]))
