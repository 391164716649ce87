"""Post images: the upload half of POST /api/posts/ and GET /media/{path}.

Files are served by the app (development; a CDN or nginx in front in production)
only while their post is live, so a deleted post's image stops being served at once.
"""

import cgi
from functools import partial

from cornice import Service
from pyramid.response import FileResponse
from pyramid.security import NO_PERMISSION_REQUIRED

from minitwitter import media
from minitwitter.errors import field_error, http_error

media_service = Service(name="media", path="/media/{path:.+}", description="Post images and thumbnails")

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000
MEDIA_MAX_AGE = 60  # seconds


def store_upload(request):
    """Validate and store the request's `image` field; None when there is none."""
    if request.content_type == "application/json":
        upload = request.json_body.get("image") if isinstance(request.json_body, dict) else None
    else:
        upload = request.POST.get("image")
    if upload is None or upload == "":
        return None
    if not isinstance(upload, cgi.FieldStorage):
        raise field_error("image", "Must be a file sent as multipart/form-data")
    try:
        stored = media.store_image(
            upload.file, request.registry.settings["media.root"], max_bytes=MAX_IMAGE_BYTES, max_pixels=MAX_IMAGE_PIXELS
        )
    except media.ImageError as e:
        raise field_error("image", e.message, code=e.code) from None
    # The file exists only if its post does: a failed or retried request removes it.
    request.after_rollback(partial(media.delete_files, request.registry.settings["media.root"], stored.path))
    return stored


def save(request, stored):
    """The images row for a stored file; its thumbnail is made by a task after commit."""
    image_id = request.queries.images.create_image(
        request.db,
        owner_id=request.authenticated_userid,
        path=stored.path,
        content_type=stored.content_type,
        width=stored.width,
        height=stored.height,
        bytes=stored.bytes,
        sha256=stored.sha256,
    )
    request.enqueue_task("thumbnail", {"image_id": image_id})
    return image_id


@media_service.get(permission=NO_PERMISSION_REQUIRED)
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
