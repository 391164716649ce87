"""What every request goes through before routing: the request as it came off the wire.

Everything below reads the raw WSGI environ, so no byte a client sends can raise deep inside
WebOb, Cornice or a view; each refusal is a 4xx in the one JSON shape naming what is wrong.

- The path, the query string and form fields are UTF-8 (percent-encoded or not), and the
  path is put in NFC, so `/api/hashtags/cafe%CC%81/posts/` is the tag `café`.
- Every route answers with and without its trailing slash: routes are declared without one
  and the slash is dropped here, so `/api/posts/` needs no redirect.
- Bodies over `limits.max_body_bytes` get a 413 before anything reads them; a body in a type
  the API does not read gets a 415, and so does a charset other than UTF-8.
- A JSON body is parsed once, here: invalid or deeply nested JSON is one 400, and a body that
  is not an object is refused; views get the result from `request.json_body`.
- Forms are parsed once, here too: a field that is not UTF-8 is a 400 naming it; in
  multipart bodies only `image` (a post's) or `avatar` (a profile's) may be a file, one
  each. (A known field given twice is refused by its type, fields.py; unknown fields are
  ignored, repeated or not.)
"""

import cgi
import io
import json
import unicodedata
from email.message import Message
from urllib.parse import unquote_to_bytes

from pyramid.tweens import INGRESS
from webob.multidict import MultiDict

from minitwitter.web.errors import http_error
from minitwitter.web.fields import has_surrogates

ACCEPTED_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
FORM_TYPES = ACCEPTED_TYPES[1:]
UTF8 = ("utf-8", "utf8")
FILE_FIELDS = ("image", "avatar")  # the files a request may carry (POST /api/posts/, PATCH /api/users/me/)


class Refused(Exception):
    """A request refused before routing: status, message and the one detail."""

    def __init__(self, code, location, name, description, message=None):
        super().__init__(description)
        self.response = http_error(
            code,
            message or f"{name or location}: {description}",
            [{"location": location, "name": name, "description": description}],
        )


def _utf8(raw, location, name):
    """bytes -> str, or a 400 naming where the bytes were."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, location, name, "Not valid UTF-8: percent-encode the UTF-8 bytes of the text") from None


def _check_path(environ):
    # WSGI hands over the decoded path's bytes as latin-1 characters (PEP 3333).
    raw = environ.get("PATH_INFO", "")
    path = _utf8(raw.encode("latin-1", "replace"), "path", "path")
    if "\x00" in path:
        raise Refused(400, "path", "path", "Must not contain NUL")
    normal = unicodedata.normalize("NFC", path)
    if normal != path:
        environ["PATH_INFO"] = normal.encode("utf-8").decode("latin-1")


def _check_query(environ):
    raw = environ.get("QUERY_STRING", "")
    if not raw:
        return
    for field in raw.encode("latin-1", "replace").split(b"&"):
        name, _, value = field.partition(b"=")
        name_text = _utf8(unquote_to_bytes(name.replace(b"+", b" ")), "querystring", "query string")
        _utf8(unquote_to_bytes(value.replace(b"+", b" ")), "querystring", name_text)


def _charset(content_type_header):
    message = Message()
    message["Content-Type"] = content_type_header
    return (message.get_param("charset") or "utf-8").lower()


def _parse_json(request):
    text = _utf8(request.body, "body", "")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise Refused(400, "body", "", f"Invalid JSON (line {e.lineno}, column {e.colno}): {e.msg}") from None
    except RecursionError:
        raise Refused(400, "body", "", "JSON nested too deeply") from None
    except ValueError:  # an integer of over 4,300 digits (Python's int limit)
        raise Refused(400, "body", "", "A number in the JSON is too long") from None
    if not isinstance(value, dict):
        raise Refused(400, "body", "", "Must be a JSON object")
    request.parsed_json = value  # request.json_body answers it


def _parse_form(request):
    """Parse the form as WebOb would, but refuse what WebOb would silently mangle (bytes that
    are not UTF-8 become U+FFFD there), then hand WebOb the result so it parses nothing twice."""
    request.make_body_seekable()
    environ = {**request.environ, "QUERY_STRING": "", "CONTENT_LENGTH": str(request.content_length or 0)}
    try:
        parsed = cgi.FieldStorage(
            fp=io.BytesIO(request.body),
            environ=environ,
            keep_blank_values=True,
            encoding="utf-8",
            errors="surrogateescape",  # an invalid byte becomes a lone surrogate: found below
            max_num_fields=1000,
        )
    except Exception:  # cgi raises ValueError, TypeError, KeyError... on malformed bodies
        raise Refused(400, "body", "", "Not a valid form body (" + request.content_type + ")") from None
    fields = MultiDict()
    if request.content_type == "multipart/form-data" and any(part.name is None for part in parsed.list or ()):
        # RFC 7578: each part is named by its Content-Disposition (a JSON array sent as a form).
        raise Refused(400, "body", "", "Every part of multipart/form-data needs a name")
    for part in parsed.list or ():
        name = part.name or ""
        if has_surrogates(name):
            raise Refused(400, "body", "", "A field name is not valid UTF-8")
        if name in fields and name in FILE_FIELDS:  # a repeated text field: fields.py says which
            raise Refused(400, "body", name, "Send one file")
        if part.filename == "" and name in FILE_FIELDS and not part.value:
            fields.add(name, "")  # a form's empty file input: no file
        elif part.filename is not None:
            if name not in FILE_FIELDS:
                raise Refused(
                    400, "body", name, f"Must be a text field, not a file (only {' and '.join(FILE_FIELDS)} is)"
                )
            if has_surrogates(part.filename):
                raise Refused(400, "body", name, "The file name is not valid UTF-8")
            fields.add(name, part)
        else:
            if has_surrogates(part.value):
                raise Refused(400, "body", name, "Not valid UTF-8")
            fields.add(name, part.value)
    # WebOb's own cache of the parsed form (webob 1.8, Request.POST).
    request.environ["webob._parsed_post_vars"] = (fields, request.body_file_raw)


def _check_body(request, max_body):
    length = request.content_length or 0
    if length > max_body:
        raise Refused(413, "body", "", f"The body is over {max_body} bytes", f"The body is over {max_body} bytes")
    header = request.headers.get("Content-Type", "")
    if request.content_type == "multipart/form-data" and "boundary=" not in header:
        raise Refused(400, "header", "Content-Type", "No multipart boundary", "multipart/form-data needs a boundary")
    if not length:
        if request.content_type not in ACCEPTED_TYPES or _charset(header) not in UTF8:
            request.environ.pop("CONTENT_TYPE", None)  # nothing to type: no body to misread
        return
    if request.content_type not in ACCEPTED_TYPES:
        message = f"Content-Type must be one of: {', '.join(ACCEPTED_TYPES)}"
        raise Refused(415, "header", "Content-Type", "Unsupported media type", message)
    if _charset(header) not in UTF8:
        raise Refused(415, "header", "Content-Type", "Only UTF-8 is accepted (charset=utf-8, or no charset)")
    if request.content_type == "application/json":
        _parse_json(request)
    else:
        _parse_form(request)


def json_body(request):
    """request.json_body: what the ingress parsed (WebOb's would parse again, with another parser)."""
    parsed = getattr(request, "parsed_json", None)
    if parsed is not None:
        return parsed
    if not request.content_length:
        return {}  # no body: no fields
    return json.loads(request.body.decode("utf-8"))


PATH_ASKED = "minitwitter.path_asked"


def tween_factory(handler, registry):
    max_body = int(registry.settings["limits.max_body_bytes"])

    def ingress(request):
        # The path as the client sent it, before the changes below, in the environ: the near
        # cache (near_cache.local_key) reads it below Pyramid, where there is no request.
        request.environ.setdefault(PATH_ASKED, request.environ.get("PATH_INFO", ""))
        try:
            _check_path(request.environ)
            _check_query(request.environ)
            _check_body(request, max_body)
        except Refused as refused:
            return refused.response
        path = request.path_info
        if len(path) > 1 and path.endswith("/"):
            request.path_info = path.rstrip("/") or "/"
        return handler(request)

    return ingress


def includeme(config):
    # Below the request id and access log when they are there, else at the top.
    config.add_tween(
        "minitwitter.web.ingress.tween_factory", under=("minitwitter.web.observability.tween_factory", INGRESS)
    )
    config.add_request_method(json_body, "json_body", reify=True)
