"""Hashtags: a tag's posts, the most popular tags, favourite tags (written by domain/posts.py)."""

from cornice import Service

from minitwitter.api import schemas, shapes
from minitwitter.api.hydration import posts_by_ids
from minitwitter.api.openapi import Answers
from minitwitter.api.validators import colander_validator
from minitwitter.domain import freshness, hashtags
from minitwitter.domain import posts as domain
from minitwitter.domain.safety import hidden, viewer_page
from minitwitter.web.pagination import NumberedPageSchema, PageSchema, envelope, read_numbered_page, read_page
from minitwitter.web.response_cache import cached_response

tag_posts = Service(name="tag_posts", path="/api/hashtags/{tag}/posts", description="Posts with a tag")
popular = Service(name="popular_hashtags", path="/api/popular_hashtags", description="The 5 most used tags")
favorite = Service(name="favorite_hashtag", path="/api/hashtags/{tag}/favorite", description="Add or remove a tag")
favorites = Service(name="favorite_hashtags", path="/api/favorite_hashtags", description="My favourite tags")
favorite_posts = Service(
    name="favorite_hashtag_posts", path="/api/favorite_hashtags/posts", description="Posts with my favourite tags"
)

POPULAR_LIMIT = 5
# OpenAPI links from a tag to the operations on it, by its name.
TAG_LINKS = {
    operation_id: {"parameters": {"path.tag": "$response.body#/name"}}
    for operation_id in ("tag_posts_get", "favorite_hashtag_delete")
}


def _tag(request):
    return hashtags.normalize(request.validated["path"]["tag"])


@tag_posts.get(schema=schemas.TagPageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.POST_PAGE))
@cached_response
def list_tag_posts(request):
    page = read_page(request)
    name = _tag(request)
    # Its posts_count changes exactly when its pages do: the row shares their version.
    tag = request.cache.cached(
        f"hashtag:{name}",
        lambda: request.queries.hashtags.get_hashtag(request.db, name=name),
        version_name=freshness.tag_posts(name),
    )
    if tag is None:  # a tag nobody used yet: an empty page, not an error
        return envelope(request, page, [], [], count=0)
    rows = viewer_page(
        request.tx,
        request.authenticated_userid,
        freshness.tag_posts(tag["name"]),
        page,
        lambda ids: request.queries.posts.list_hashtag_posts(
            request.db, hashtag_id=tag["id"], hidden=ids, **page.params
        ),
    )
    results = posts_by_ids(request, [r["key"] for r in rows[: page.size]])
    return envelope(request, page, rows, results, count=tag["posts_count"])


@popular.get(openapi=Answers(200, shapes.array(shapes.TAG_COUNT.ref)))
@cached_response
def popular_hashtags(request):
    return request.cache.cached(
        freshness.POPULAR, lambda: list(request.queries.hashtags.popular_hashtags(request.db, limit=POPULAR_LIMIT))
    )


@favorite.post(
    schema=schemas.TagSchema(),
    validators=(colander_validator,),
    openapi=Answers(200, shapes.FAVORITE, links=TAG_LINKS),
)
def add_favorite(request):
    name = domain.add_favorite(request.tx, request.authenticated_userid, _tag(request))
    return {"name": name, "favorite": True}


@favorite.delete(schema=schemas.TagSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.FAVORITE))
def remove_favorite(request):
    name = _tag(request)
    domain.remove_favorite(request.tx, request.authenticated_userid, name)
    return {"name": name, "favorite": False}


@favorites.get(
    schema=NumberedPageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.TAG_COUNT_PAGE)
)
def list_favorites(request):
    """My favourite tags by name, with the number of posts of each; count is how many I have."""
    page, me = read_numbered_page(request), request.authenticated_userid
    rows = list(request.queries.hashtags.list_favorites(request.db, user_id=me, offset=page.offset, limit=page.limit))
    count = request.queries.hashtags.count_favorites(request.db, user_id=me)
    return envelope(request, page, rows, rows[: page.size], count=count)


@favorite_posts.get(schema=PageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.POST_PAGE))
def list_favorite_posts(request):
    page = read_page(request)
    user_id = request.authenticated_userid
    rows = list(
        request.queries.posts.list_favorite_hashtag_posts(
            request.db, user_id=user_id, hidden=hidden(request.tx, request.authenticated_userid), **page.params
        )
    )
    return envelope(request, page, rows, posts_by_ids(request, [r["key"] for r in rows[: page.size]]))
