"""GET /media/{path}: post images and their thumbnails (stored by domain/media.py).

Files are served by the app (development; a CDN or nginx in front in production)
only while their post is live, so a deleted post's image stops being served at once.
"""

from cornice import Service
from pyramid.response import FileResponse
from pyramid.security import NO_PERMISSION_REQUIRED

from minitwitter.api.openapi import IMAGE, Answers
from minitwitter.store import media
from minitwitter.web.errors import http_error

media_service = Service(name="media", path="/media/{path:.+}", description="Post images and thumbnails")

MEDIA_MAX_AGE = 60  # seconds


@media_service.get(
    permission=NO_PERMISSION_REQUIRED,
    openapi=Answers(
        200,
        IMAGE,
        slash=False,
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
    root = request.registry.settings["media.root"]
    try:
        filename = media.absolute(root, path)
    except ValueError:
        raise http_error(404, "No such image") from None
    row = request.queries.images.live_image(request.db, path=path)
    if row is None or not filename.is_file():
        raise http_error(404, "No such image")
    response = FileResponse(str(filename), request=request, content_type=row["content_type"])
    # A proxy or browser may keep it for a minute: deleting the post stops it within that.
    response.cache_control = f"public, max-age={MEDIA_MAX_AGE}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
