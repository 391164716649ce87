"""Posts: create, read, edit and soft-delete (owner only), and the post lists.

The writes themselves (ownership, tags, what goes stale) are minitwitter/domain/posts.py.
"""

from cornice import Service
from multipart import MultipartPart

from minitwitter.api import schemas, shapes
from minitwitter.api.hydration import posts_by_ids, shared_profile, visible
from minitwitter.api.openapi import ID, Answers, by_id
from minitwitter.api.validators import colander_body_validator, colander_validator
from minitwitter.domain import freshness
from minitwitter.domain import posts as domain
from minitwitter.domain.freshness import cached_page
from minitwitter.domain.safety import hiding, personal, reply_rows, viewer_page
from minitwitter.web import idempotency
from minitwitter.web.errors import field_error, http_error
from minitwitter.web.pagination import PageSchema, envelope, read_page
from minitwitter.web.response_cache import cached_response

posts = Service(name="posts", path="/api/posts", description="All posts; create (older clients also edit, delete)")
post = Service(name="post", path=r"/api/posts/{id:\d+}", description="One post")
user_posts = Service(name="user_posts", path=r"/api/users/{id:\d+}/posts", description="A user's posts")
replies = Service(name="replies", path=r"/api/posts/{id:\d+}/replies", description="Direct replies, oldest first")

# OpenAPI links from a post to the operations on it, by its id.
POST_LINKS = by_id(
    "post_get",
    "post_put",
    "post_patch",
    "post_delete",
    "like_post",
    "like_delete",
    "likers_get",
    "replies_get",
    "repost_post",
    "repost_delete",
    "bookmark_post",
    "bookmark_delete",
)
EDITED = Answers(200, shapes.POST, errors={403})  # 403: only the author may


@posts.post(
    schema=schemas.CreatePostBody(),
    validators=(colander_body_validator,),
    openapi=Answers(
        201,
        shapes.POST,
        errors={403, 404, 422},  # 404: in_reply_to names no live post; 403: across a block
        file_field="image",
        links={
            **POST_LINKS,
            # The older clients' edit and delete, with the id in the body.
            "posts_put": {"requestBody": {"id_post": ID, "text": "$response.body#/text"}},
            "posts_delete": {"requestBody": {"id_post": ID}},
            # A reply to the post just made.
            "posts_post": {"requestBody": {"text": "$response.body#/text", "in_reply_to": ID}},
        },
    ),
)
def create_post(request):
    text, in_reply_to = request.validated["text"], request.validated["in_reply_to"]
    replay = idempotency.begin(request, text, in_reply_to)  # a retry with the same Idempotency-Key
    if replay is not None:
        return replay
    me, media_root = request.authenticated_userid, request.registry.settings["media.root"]
    post_id = domain.create(
        request.tx, me, text, image=upload(request, "image"), media_root=media_root, in_reply_to=in_reply_to
    )
    request.response.status = 201
    post = posts_by_ids(request, [post_id], new=True)[0]
    idempotency.finish(request, 201, post)
    return post


@posts.get(schema=PageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.POST_PAGE))
@cached_response
def list_posts(request):
    page = read_page(request)
    rows = viewer_page(
        request.tx,
        request.authenticated_userid,
        freshness.ALL_POSTS,
        page,
        lambda ids: request.queries.posts.list_posts(request.db, hidden=ids, **page.params),
    )
    # Every live post: the split counter of migration 0008, changed exactly when these pages are.
    count = request.cache.cached(
        "posts:count", lambda: request.queries.posts.count_live_posts(request.db), version_name=freshness.ALL_POSTS
    )
    results = posts_by_ids(request, [r["key"] for r in rows[: page.size]])
    return envelope(request, page, rows, results, count=count)


@user_posts.get(schema=schemas.IdPageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.POST_PAGE))
@cached_response
def list_user_posts(request):
    user_id = request.validated["path"]["id"]
    author = shared_profile(request.tx, user_id)
    if author is None or not visible(request, user_id, author):  # suspended or waiting: a moderator's only
        raise http_error(404, "No such user")
    page = read_page(request)
    if user_id in personal(
        request.tx, request.authenticated_userid
    ):  # blocked either way, or muted: none of their posts
        return envelope(request, page, [], [], count=0)
    rows = cached_page(
        request.tx,
        freshness.user_posts(user_id),
        page,
        lambda: request.queries.posts.list_user_posts(request.db, author_id=user_id, **page.params),
    )
    results = posts_by_ids(request, [r["key"] for r in rows[: page.size]])
    return envelope(request, page, rows, results, count=author["posts_count"])


@post.get(schema=schemas.IdPathSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.POST))
@cached_response
def get_post(request):
    return post_or_404(request, request.validated["path"]["id"])


@replies.get(schema=schemas.IdPageSchema(), validators=(colander_validator,), openapi=Answers(200, shapes.POST_PAGE))
@cached_response
def list_replies(request):
    post_id = request.validated["path"]["id"]
    parent = post_or_404(request, post_id)
    page = read_page(request)
    rows = reply_rows(request.tx, request.authenticated_userid, post_id, page)
    results = posts_by_ids(request, [r["key"] for r in rows[: page.size]])
    return envelope(request, page, rows, results, count=parent["replies_count"])


@post.put(schema=schemas.PostEditSchema(), validators=(colander_validator,), openapi=EDITED)
@post.patch(schema=schemas.PostEditSchema(), validators=(colander_validator,), openapi=EDITED)
def edit_post(request):
    return _edit(request, request.validated["path"]["id"], request.validated["body"]["text"])


@posts.put(
    schema=schemas.CompatEditBody(),
    validators=(colander_body_validator,),
    openapi=Answers(200, shapes.POST, errors={403, 404}),
)
def edit_post_compat(request):
    return _edit(request, request.validated["id_post"], request.validated["text"])


@post.delete(schema=schemas.IdPathSchema(), validators=(colander_validator,), openapi=Answers(204, None, errors={403}))
def delete_post(request):
    _delete(request, request.validated["path"]["id"])
    request.response.status = 204
    return None


@posts.delete(
    schema=schemas.CompatDeleteBody(),
    validators=(colander_body_validator,),
    openapi=Answers(200, shapes.DELETED, errors={403, 404}),
)
def delete_post_compat(request):
    _delete(request, request.validated["id_post"])
    return {"success": True}


def _edit(request, post_id, text):
    domain.edit(request.tx, request.authenticated_userid, post_id, text)
    return posts_by_ids(request, [post_id])[0]


def _delete(request, post_id):
    domain.delete(request.tx, request.authenticated_userid, post_id)


def upload(request, field):
    """The file of an optional file field (multipart/form-data only), or None."""
    if request.content_type == "application/json":
        found = request.json_body.get(field) if isinstance(request.json_body, dict) else None
    else:
        found = request.POST.get(field)
    if found is None or found == "":
        return None
    if not isinstance(found, MultipartPart):  # what the ingress parsed a file part to
        raise field_error(field, "Must be a file sent as multipart/form-data")
    return found.file


def post_or_404(request, post_id, read=True):
    """The live post as the viewer sees it (after a write of theirs too); else a 404. A
    read (not the post an action answers with: domain/safety.py refused the action if need
    be) is a 404 too when a block stands between the viewer and its author, either way."""
    found = posts_by_ids(request, [post_id])
    if not found or (read and found[0]["author"]["id"] in hiding(request.tx, request.authenticated_userid)["blocked"]):
        raise http_error(404, "No such post")
    return found[0]
