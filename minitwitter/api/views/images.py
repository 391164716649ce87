"""GET /media/{path}: post images and their thumbnails (stored by domain/media.py).

Served only while their post is live (or while they are someone's avatar), from where
settings media.store keeps them: PostgreSQL (through the request's transaction, so a
replica may serve them: one that has replayed every recorded commit, for a fetch with no
token, store/db.py) or this host's media.root. A name is random and never reused, and
what it names never changes: the response may be cached for media.max_age seconds and is
`immutable`, its ETag is the name, and an If-None-Match that matches answers 304 without
reading the bytes. A deleted post's image stops being served at once here; a cache that
already holds it keeps it up to media.max_age.
"""

from cornice import Service
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from minitwitter.api.openapi import IMAGE, Answers
from minitwitter.domain import media as media_domain
from minitwitter.store import media
from minitwitter.web.errors import http_error

media_service = Service(name="media", path="/media/{path:.+}", description="Post images and thumbnails")


@media_service.get(
    permission=NO_PERMISSION_REQUIRED,
    openapi=Answers(
        200,
        IMAGE,
        slash=False,
        also={304: ("Not modified: If-None-Match names this image's ETag (its name); no body", None)},
        # The route's pattern takes any path: a media path (media.store_image and
        # make_thumbnail) holds a slash.
        path_schemas={
            "path": {
                "type": "string",
                "pattern": r"^[0-9a-f]{2}/[0-9a-f]{32}(\.thumb)?\.(jpg|png|gif|webp)$",
                "description": "As in a post's image url or thumbnail_url, after /media/",
            }
        },
    ),
)
def get_media(request):
    path = request.matchdict["path"]
    settings = request.registry.settings
    try:
        media.absolute(settings["media.root"], path)  # refuses a path outside the store
    except ValueError:
        raise http_error(404, "No such image") from None
    found = _serve(request, request.tx, path)
    if found is None:
        raise http_error(404, "No such image")
    return found


def _serve(request, tx, path):
    """The response for a live image read through `tx`, or None."""
    settings = request.registry.settings
    row = tx.queries.images.live_image(tx.db, path=path)
    if row is None:
        return None
    response = Response(content_type=row["content_type"], conditional_response=True)
    response.etag = path.rsplit("/", 1)[-1]  # the name: random, never reused, never rewritten
    response.cache_control = f"public, max-age={settings['media.max_age']}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.etag in request.if_none_match:
        response.status = 304  # the client has it: no bytes read
        return response
    data = media_domain.files(tx, settings["media.root"]).get(path)
    if data is None:
        return None
    response.body = data
    return response
