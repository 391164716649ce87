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
  is not an object is refused; views get the result from `request.json_body`. A name given
  twice in one object, at any depth, is a 400 naming it: JSON parsers disagree on which
  value wins (Python's takes the last, others the first), so a proxy or filter in front
  could check one request and this service run another.
- Forms are parsed once, here too (multipart/form-data with the `multipart` library, not
  the cgi module, gone from Python 3.13; nor WebOb's request.POST, which uses it), and
  request.POST is the result: a field that is not UTF-8 is a 400 naming it; in multipart
  bodies every part has a name, only `image` (a post's), `avatar` (a profile's) or `file` (a
  Mastodon upload's) may be a file, one each, and a malformed body (bad or missing boundary, no closing boundary,
  over 1,000 fields) is a 400. (A known field given twice is refused by its type,
  fields.py; unknown fields are ignored, repeated or not.)
"""

import io
import json
import re
import unicodedata
from email.message import Message
from urllib.parse import parse_qsl, unquote_to_bytes

import multipart
from pyramid.tweens import INGRESS
from webob.multidict import MultiDict, NoVars

from minitwitter.web.errors import http_error
from minitwitter.web.fields import has_surrogates

ACCEPTED_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
FORM_TYPES = ACCEPTED_TYPES[1:]
UTF8 = ("utf-8", "utf8")
# The files a request may carry: POST /api/posts/, PATCH /api/users/me/ (and the Mastodon face's
# PATCH /api/v1/accounts/update_credentials), POST /api/v2/media.
FILE_FIELDS = ("image", "avatar", "file")
MAX_FIELDS = 1000  # in one form body
# What cgi accepted, and every client sends (RFC 2046 is stricter: webtest's has a `$`).
_BOUNDARY = re.compile(r"[ -~]{0,200}[!-~]")


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


def _content_type_param(header, name):
    """A parameter of a Content-Type header (cgi.parse_header's job, done by the email package)."""
    message = Message()
    message["Content-Type"] = header
    value = message.get_param(name)
    return value if isinstance(value, str) else None


def _charset(content_type_header):
    return (_content_type_param(content_type_header, "charset") or "utf-8").lower()


class _Repeated(Exception):  # not a ValueError: JSONDecodeError is one, and is caught apart
    def __init__(self, name):
        super().__init__(name)
        self.name = name


def _unique_names(pairs):
    """json's object_pairs_hook: the object as a dict, unless a name comes twice. A dict of
    the pairs is what json builds anyway; the names are compared only when it came out short."""
    value = dict(pairs)
    if len(value) != len(pairs):
        seen = set()
        for name, _ in pairs:
            if name in seen:
                raise _Repeated(name)
            seen.add(name)
    return value


def loads(text):
    """JSON text -> value, refusing a name given twice in an object (_Repeated)."""
    return json.loads(text, object_pairs_hook=_unique_names)


def _parse_json(request):
    text = _utf8(request.body, "body", "")
    try:
        value = loads(text)
    except _Repeated as repeated:
        raise Refused(400, "body", repeated.name, "Give this field once (a name twice in a JSON object)") from None
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
    """Parse the form once, refusing what a parser would silently mangle (bytes that are not
    UTF-8, an unnamed part, a file where text belongs), and keep the result where
    request.POST (form_fields) finds it, so nothing parses it twice."""
    body = request.body
    if request.content_type == "multipart/form-data":
        pairs = _multipart_pairs(body, _content_type_param(request.headers["Content-Type"], "boundary") or "")
    else:
        try:  # as cgi did: an invalid byte becomes a lone surrogate, found below
            pairs = parse_qsl(
                body.decode("utf-8", "surrogateescape"),
                keep_blank_values=True,
                encoding="utf-8",
                errors="surrogateescape",
                max_num_fields=MAX_FIELDS,
            )
        except ValueError:
            raise Refused(400, "body", "", f"Over {MAX_FIELDS} fields") from None
    fields = MultiDict()
    for name, value in pairs:
        if has_surrogates(name):
            raise Refused(400, "body", "", "A field name is not valid UTF-8")
        if isinstance(value, str) and has_surrogates(value):
            raise Refused(400, "body", name, "Not valid UTF-8")
        if name in fields and name in FILE_FIELDS:  # a repeated text field: fields.py says which
            raise Refused(400, "body", name, "Send one file")
        fields.add(name, value)
    request.parsed_form = fields  # request.POST answers it


def _multipart_pairs(body, boundary):
    """(name, text) and (name, MultipartPart) pairs of a multipart/form-data body, or a 400.

    The parser (`multipart`, the one PEP 594 names for cgi's FieldStorage) decodes part
    headers as latin-1, which never fails, so that a name or file name that is not UTF-8
    is refused here naming what it can; the whole body is in memory already (it is under
    limits.max_body_bytes), so every part stays in memory too."""
    if not _BOUNDARY.fullmatch(boundary):
        raise Refused(400, "header", "Content-Type", "Not a valid multipart boundary")
    size = len(body) + 1
    try:
        parts = multipart.MultipartParser(
            io.BytesIO(body),
            boundary,
            len(body),
            charset="latin-1",
            part_limit=MAX_FIELDS,
            memory_limit=size,
            spool_limit=size,
        ).parts()
    except multipart.MultipartError as e:
        raise Refused(400, "body", "", f"Not a valid multipart/form-data body: {e}") from None
    pairs = []
    for part in parts:
        if not part.name:
            if part.filename is None and _content_type_param(part.headers.get("Content-Disposition", ""), "name") == "":
                continue  # name="": a text field whose name is empty, unknown like any other, ignored
            # RFC 7578: each part is named by its Content-Disposition (a JSON array sent as a form).
            raise Refused(400, "body", "", "Every part of multipart/form-data needs a name")
        name = part.name.encode("latin-1").decode("utf-8", "surrogateescape")
        if has_surrogates(name):
            raise Refused(400, "body", "", "A field name is not valid UTF-8")
        charset = _content_type_param(part.headers.get("Content-Type", ""), "charset")
        if charset and charset.lower() not in UTF8:
            raise Refused(415, "body", name, "Only UTF-8 is accepted (charset=utf-8, or no charset)")
        if part.filename is None:
            pairs.append((name, part.raw.decode("utf-8", "surrogateescape")))
        elif part.filename == "" and name in FILE_FIELDS and not part.size:
            pairs.append((name, ""))  # a form's empty file input: no file
        elif name not in FILE_FIELDS:
            raise Refused(400, "body", name, f"Must be a text field, not a file (only {' and '.join(FILE_FIELDS)} is)")
        elif has_surrogates(part.filename.encode("latin-1").decode("utf-8", "surrogateescape")):
            raise Refused(400, "body", name, "The file name is not valid UTF-8")
        else:
            pairs.append((name, part))
    return pairs


def form_fields(request):
    """request.POST: the form the ingress parsed (WebOb's own parser is never used), or no
    fields when the body was not a form."""
    fields = getattr(request, "parsed_form", None)
    return NoVars("Not a form body") if fields is None else fields


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
    return loads(request.body.decode("utf-8"))


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
    config.add_request_method(form_fields, "POST", reify=True)
