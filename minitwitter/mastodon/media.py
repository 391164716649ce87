"""Media (docs.joinmastodon.org/methods/media): an image uploaded ahead of the status that
takes it (`media_ids[]` on POST /api/v1/statuses).

POST /api/v2/media       multipart `file`, `description`: the MediaAttachment (write:media);
                         also /api/v1/media, its older name
GET  /api/v1/media/:id   an upload of mine no status has taken yet (write:media)
PUT  /api/v1/media/:id   its description (write:media)

The image goes through the native checks and re-encoding (domain/media.py: store, as a post's
image and an avatar: the types, bytes and pixels the instance's configuration states), so it
is ready at once (200, its url set; the thumbnail, its preview_url, follows from a worker).
As on Mastodon, the two routes on one upload answer 404 once a status has taken it, and for
anyone else's; an upload no status took within a day is removed (domain/media.py:
purge_unattached, a beat job).
"""

from multipart import MultipartPart
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from minitwitter.domain import Invalid, TooLarge
from minitwitter.domain import media as domain
from minitwitter.mastodon import entities
from minitwitter.mastodon.common import param, require
from minitwitter.mastodon.entities import MEDIA_ATTACHMENT
from minitwitter.mastodon.errors import MastodonError
from minitwitter.mastodon.openapi import Operation
from minitwitter.web.fields import has_surrogates
from minitwitter.web.pagination import MAX_KEY

VIEW = {"permission": NO_PERMISSION_REQUIRED, "renderer": "json"}
DESCRIPTION = {
    "type": "string",
    "maxLength": domain.MAX_DESCRIPTION,
    "pattern": "^[^\\x00]*$",
    "description": f'Alt text, up to {domain.MAX_DESCRIPTION} characters ("" clears it)',
}
UPLOAD = Operation(
    "Upload an image ahead of the status that takes it (media_ids[])",
    MEDIA_ATTACHMENT,
    "write:media",
    body={"file": {"type": "string", "format": "binary", "description": "The image"}, "description": DESCRIPTION},
    required=("file",),
    body_required=True,
    forms=("multipart/form-data",),
    description="The image goes through the native checks (types, bytes, pixels: the instance's configuration) "
    "and is re-encoded; a file that is not one is a 422, one over the size limit a 413.",
)
NOT_FOUND = "Record not found"


def _description(request):
    """The description given ("" clears it), or None when none is; 422 naming it when it
    cannot be stored."""
    value = param(request, "description")
    if value is None:
        return None
    if has_surrogates(value):
        raise MastodonError(422, "Validation failed: description must be valid Unicode")
    problem = domain.description_problem(value)
    if problem:
        raise MastodonError(422, f"Validation failed: description: {problem}")
    return value


def media_id(request):
    raw = request.matchdict["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 0 < int(raw) <= MAX_KEY:
        raise MastodonError(404, NOT_FOUND)
    return int(raw)


@view_config(route_name="mastodon_media_v2", request_method="POST", openapi=UPLOAD, **VIEW)
@view_config(route_name="mastodon_media_v1", request_method="POST", openapi=UPLOAD, **VIEW)
def upload(request):
    me = require(request, "write:media")["user_id"]
    found = request.POST.get("file") if request.content_type == "multipart/form-data" else None
    if not isinstance(found, MultipartPart):
        raise MastodonError(422, "Validation failed: file must be an image sent as multipart/form-data")
    description = _description(request)
    try:
        row = domain.upload(request.tx, me, found.file, request.registry.settings["media.root"], description or None)
    except TooLarge as e:
        raise MastodonError(413, f"Validation failed: file: {e.message}") from None
    except Invalid as e:
        raise MastodonError(422, f"Validation failed: file: {e.message}") from None
    return entities.media_attachment(request, row)


@view_config(
    route_name="mastodon_media",
    request_method="GET",
    openapi=Operation("An upload of mine that no status has taken yet (else 404)", MEDIA_ATTACHMENT, "write:media"),
    **VIEW,
)
def get(request):
    me = require(request, "write:media")["user_id"]
    row = domain.pending(request.tx, me, media_id(request))
    if row is None:
        raise MastodonError(404, NOT_FOUND)
    return entities.media_attachment(request, row)


@view_config(
    route_name="mastodon_media",
    request_method="PUT",
    openapi=Operation(
        "Describe an upload of mine that no status has taken yet (`focus` is accepted, not kept)",
        MEDIA_ATTACHMENT,
        "write:media",
        body={
            "description": DESCRIPTION,
            "focus": {
                "type": ["string", "number", "object", "array", "boolean"],
                "description": "A crop point: accepted, not kept",
            },
        },
        # Documented as JSON: a form's parts are text, so a field "of another type" is still text
        # (the server takes forms too, as Mastodon.py sends).
        forms=("application/json",),
    ),
    **VIEW,
)
def update(request):
    """Its description (`focus`, a crop point, is accepted and not kept: previews are whole)."""
    me = require(request, "write:media")["user_id"]
    image_id = media_id(request)
    description = _description(request)
    if description is None:
        row = domain.pending(request.tx, me, image_id)
    else:
        row = domain.describe(request.tx, me, image_id, description or None)
    if row is None:
        raise MastodonError(404, NOT_FOUND)
    return entities.media_attachment(request, row)
