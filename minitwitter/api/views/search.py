"""Search: posts by words, "phrases" and #tags; hashtags and users by prefix."""

from cornice import Service

from minitwitter.api import search, shapes
from minitwitter.api.hydration import posts_by_ids, profiles_json
from minitwitter.api.openapi import Answers
from minitwitter.api.validators import colander_validator
from minitwitter.domain.search import post_keys
from minitwitter.web.pagination import envelope, read_numbered_page, read_page
from minitwitter.web.response_cache import cached_response

search_posts = Service(name="search_posts", path="/api/search/posts", description="Posts by keyword and #tag")
search_hashtags = Service(name="search_hashtags", path="/api/search/hashtags", description="Tags by prefix")
search_users = Service(name="search_users", path="/api/search/users", description="Users by username prefix")


@search_posts.get(
    schema=search.PostSearchSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.POST_PAGE)
)
@cached_response
def search_posts_view(request):
    """Newest first by default (keyset pages, like every list); order=relevance pages by
    number (domain/search.py picks the query). count is null: counting every match would
    cost what the page saves."""
    query = request.validated["querystring"]
    relevance = query["order"] == "relevance"
    page = search.relevance_page(request) if relevance else read_page(request)
    rows = post_keys(request.tx, request.authenticated_userid, query["q"], query["order"], page)
    return envelope(request, page, rows, posts_by_ids(request, [r["key"] for r in rows[: page.size]]))


# Prefix matches page by number (their order is by count or name, not by an id) and count
# is null: counting every match would read them all, which the page saves.


@search_hashtags.get(
    schema=search.PrefixSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.TAG_COUNT_PAGE)
)
def search_hashtags_view(request):
    """Tags for autocomplete, most used first: a page of `{"name", "count"}`."""
    page = read_numbered_page(request)
    prefix = request.validated["querystring"]["q"].removeprefix("#").casefold()  # as hashtags.normalize stores it
    rows = []
    if prefix:
        pattern = search.like_prefix(prefix)
        rows = list(
            request.queries.search.search_hashtags(request.db, pattern=pattern, offset=page.offset, limit=page.limit)
        )
    return envelope(request, page, rows, [{"name": r["name"], "count": r["count"]} for r in rows[: page.size]])


@search_users.get(
    schema=search.PrefixSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.PROFILE_PAGE)
)
def search_users_view(request):
    """Profiles for autocomplete and mentions, in username order."""
    page = read_numbered_page(request)
    prefix = request.validated["querystring"]["q"].removeprefix("@").lower()  # usernames compare as lower(username)
    rows = []
    if prefix:
        rows = list(
            request.queries.search.search_users(
                request.db,
                pattern=search.like_prefix(prefix),
                viewer_id=request.authenticated_userid,
                offset=page.offset,
                limit=page.limit,
            )
        )
    return envelope(request, page, rows, profiles_json(request, rows[: page.size]))
