"""schemathesis hooks for .ci/schemathesis (schemathesis.toml loads this file), all about
the routes that take a file: POST /api/posts/ with a multipart `image`, PATCH /api/users/me/
with a multipart `avatar`.

- The document lists the image types the server keeps (image/gif, image/jpeg, image/png,
  image/webp); it decodes the file to tell, so a schema-valid `image` of random bytes
  would be a 400 that no JSON Schema can rule out. A strategy registered for each of those
  media types puts real pictures in the valid cases: small images of each format in
  several sizes and modes, made with Pillow. (Invalid cases still send any bytes.)
- Two kinds of generated multipart case are dropped because schemathesis labels them
  wrongly; see the filter.
"""

import io

import schemathesis
from hypothesis import strategies as st
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.core.mutations import OperatorKind
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import CoverageScenario

PILLOW_FORMATS = {"image/gif": "GIF", "image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def _encode(fmt, mode, width, height, rgba):
    buffer = io.BytesIO()
    Image.new("RGBA", (width, height), rgba).convert(mode).save(buffer, fmt)
    return buffer.getvalue()


def _images(fmt):
    modes = ["RGB", "L"] if fmt == "JPEG" else ["RGB", "L", "RGBA", "P"]
    return st.builds(
        lambda mode, width, height, rgba: _encode(fmt, mode, width, height, rgba),
        st.sampled_from(modes),
        st.integers(1, 64),
        st.integers(1, 64),
        st.tuples(*[st.integers(0, 255)] * 4),
    )


for _media_type, _fmt in PILLOW_FORMATS.items():
    schemathesis.openapi.media_type(_media_type, _images(_fmt))


def _type_changed_only(meta, fields=("text",)):
    """Whether the case's one violation is one of `fields` of another JSON type (null, 5, true...)."""
    data = meta.phase.data
    pointers = tuple(f"/properties/{field}" for field in fields)
    if data.mutations:
        return all(
            mutation.operator == OperatorKind.CHANGE_TYPE
            and mutation.parameter_location == ParameterLocation.BODY
            and mutation.schema_pointer.endswith(pointers)
            for mutation in data.mutations
        )
    return getattr(data, "scenario", None) == CoverageScenario.INCORRECT_TYPE and (data.location or "").endswith(
        pointers
    )


@schemathesis.hook("filter_case").apply_to(operation_id="posts_post")
def only_truly_labelled_multipart_cases(context, case):
    """Drop two kinds of multipart case whose label is wrong (schemathesis 4.32):

    - labelled valid with `text` = "": when a part has a media type strategy, the coverage
      phase fills the other required parts with "" (_generate_multipart_body_from_custom_
      strategies), and `text` must hold a non-space character;
    - labelled invalid because `text` is of another JSON type: a form sends every part as
      text (null as "null", 5 as "5", a list as repeated parts), which is a valid post or
      no `text` at all. schemathesis re-reads a form as sent to catch exactly this, except
      when the form has a file part, as with an `image`.
    """
    body, meta = case.body, case.meta
    if case.media_type != "multipart/form-data" or not isinstance(body, dict) or meta is None:
        return True
    if meta.generation.mode == GenerationMode.POSITIVE:
        return body.get("text") != ""
    return not ("image" in body and _type_changed_only(meta))


@schemathesis.hook("filter_case").apply_to(operation_id="me_patch")
def only_truly_labelled_avatar_cases(context, case):
    """The same for PATCH /api/users/me/ with an `avatar` part: `display_name` or `bio` of
    another JSON type is sent as its text in a form (5 as "5"), a valid profile field."""
    body, meta = case.body, case.meta
    if case.media_type != "multipart/form-data" or not isinstance(body, dict) or meta is None:
        return True
    if meta.generation.mode == GenerationMode.POSITIVE:
        return True
    return not ("avatar" in body and _type_changed_only(meta, ("display_name", "bio")))


@schemathesis.hook("filter_case").apply_to(operation_id="mastodon_update_credentials_patch")
def only_truly_labelled_mastodon_avatar_cases(context, case):
    """The same for the Mastodon face's update_credentials with an `avatar` part:
    `display_name` or `note` of another JSON type is sent as its text in a form."""
    body, meta = case.body, case.meta
    if case.media_type != "multipart/form-data" or not isinstance(body, dict) or meta is None:
        return True
    if meta.generation.mode == GenerationMode.POSITIVE:
        return True
    return not ("avatar" in body and _type_changed_only(meta, ("display_name", "note")))


@schemathesis.hook("filter_case").apply_to(operation_id=["mastodon_media_v1_post", "mastodon_media_v2_post"])
def only_truly_labelled_mastodon_media_cases(context, case):
    """The same for the Mastodon face's media upload with its `file` part: a `description`
    of another JSON type is sent as its text in a form."""
    body, meta = case.body, case.meta
    if case.media_type != "multipart/form-data" or not isinstance(body, dict) or meta is None:
        return True
    if meta.generation.mode == GenerationMode.POSITIVE:
        return True
    return not ("file" in body and _type_changed_only(meta, ("description",)))
