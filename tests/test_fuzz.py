"""The general defence against hostile input, checked as a property: whatever bytes a client
puts in the path, the query string, the headers or the body of any operation of the OpenAPI
document, the answer is below 500 and in the API's JSON shape (or the operation's own type).

Requests are WSGI environs built by hand (conftest.raw_call), with the path and query as
raw bytes the way waitress hands them over, so nothing on the way (webtest, a client
library) cleans them first. Hypothesis runs derandomized, so CI sees
the same examples every run; MINITWITTER_FUZZ_EXAMPLES raises the count for a deeper run.
"""

import json
import os
import re

import pytest
from conftest import raw_call
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def _latin1(data):
    return data.decode("latin-1")


EXAMPLES = int(os.environ.get("MINITWITTER_FUZZ_EXAMPLES", "100"))
# What a client might put in a path parameter: anything, or something close to valid.
PARAM_BYTES = st.one_of(
    st.binary(min_size=1, max_size=24),
    st.sampled_from([b"1", b"0", b"-1", b"1.5", b"9" * 30, b"%ff", b"caf\xc3\xa9", b"cafe\xcc\x81", b"\x00", b".."]),
    st.text(min_size=1, max_size=12).map(lambda s: s.encode("utf-8", "surrogatepass")),
)
FIELD_NAMES = ["text", "id_post", "username", "password", "email", "refresh", "image", "page", "q"]
FIELD_NAMES += ["status", "in_reply_to_id", "media_ids", "client_name", "redirect_uris", "grant_type"]  # Mastodon
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=ISO-8859-1",
            "application/json; charset=x-unknown",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "multipart/form-data; boundary=XyZ",
            "multipart/form-data",
            "text/plain",
            "",
        ]
    ),
    st.binary(max_size=30).map(_latin1),
)
# JSON documents with the operations' field names, some nested, some with lone surrogates.
JSON_BODIES = st.one_of(
    st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), JSON_VALUES, max_size=4).map(
        lambda d: json.dumps(d).encode()
    ),
    st.sampled_from(
        [b"[" * 5000, b'{"a":' * 3000, b'{"text": "\\ud800"}', b'{"id_post": true}', b"{nope", b"null", b"9" * 5000]
    ),
)


def _multipart(parts):
    out = []
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        out.append(b"--XyZ\r\nContent-Disposition: " + disposition.encode("utf-8", "surrogatepass") + b"\r\n\r\n")
        out.append(content + b"\r\n")
    return b"".join(out) + b"--XyZ--\r\n"


# Text a person would type: words, hashtags, accents typed as one character or two (NFD).
PLAUSIBLE_TEXT = st.from_regex(r"[a-z0-9 ]{0,9}(#[a-zé_0-9]{1,9}|e\u0301|ß|İ| )[a-z ]{0,9}", fullmatch=True)
# An object of the API's fields with values of any JSON type (ints, floats, bools, strings).
FIELD_JSON = st.dictionaries(
    st.sampled_from(FIELD_NAMES), JSON_VALUES | st.text(max_size=300) | PLAUSIBLE_TEXT, min_size=1, max_size=3
).map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass"))


MULTIPART_BODIES = st.lists(
    st.tuples(
        st.sampled_from(FIELD_NAMES + ["photo", ""]),
        st.none() | st.sampled_from(["a.png", "", "caf\udce9.png"]),
        st.binary(max_size=40),
    ),
    max_size=4,
).map(_multipart)
BODIES = st.one_of(st.just(b""), st.binary(max_size=200), JSON_BODIES, MULTIPART_BODIES)
QUERY_NAMES = st.sampled_from([b"page", b"page_size", b"cursor", b"q", b"order", b"utm"])
QUERY_VALUES = st.from_regex(rb"[0-9a-z%]{0,6}", fullmatch=True)
QUERY = st.lists(
    st.tuples(QUERY_NAMES | QUERY_NAMES | st.binary(max_size=6), QUERY_VALUES | st.binary(max_size=12)),
    max_size=3,
).map(lambda pairs: b"&".join(k + b"=" + v for k, v in pairs))


def _operations(wsgi_app):
    import webtest

    document = webtest.TestApp(wsgi_app).get("/api/openapi.json").json
    for path, item in sorted(document["paths"].items()):
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                yield method.upper(), path


@pytest.fixture(scope="module")
def operations(wsgi_app):
    return list(_operations(wsgi_app))


def _fill(template, params):
    values = iter(params)
    return re.sub(r"\{[^}]+\}", lambda m: next(values).replace(b"/", b"%2F").decode("latin-1"), template).encode(
        "latin-1"
    )


NON_JSON = ("/media/", "/api/docs", "/metrics", "/.well-known/host-meta", "/avatars/")
# The Mastodon face: its errors in Mastodon's shape ({"error"}, OAuth's with error_description),
# and the authorize pages, HTML whatever they answer (mastodon/errors.py, oauth.py).
MASTODON = ("/api/v1/", "/api/v2/", "/oauth/", "/.well-known/", "/nodeinfo/")
HTML_PAGES = ("/oauth/authorize",)


def test_the_document_lists_the_operations(operations):
    assert len(operations) >= 35 and ("POST", "/api/posts/") in operations


def test_no_input_gets_a_500(app, wsgi_app, operations, alice, bob):
    """EXAMPLES requests for each operation of the document (100 each by default: 3,500 in all), half of
    them close to valid (real ids, a real token, the operation's field names) so that the
    views' own checks are reached too, not only the ingress."""
    post = app.post_json("/api/posts/", {"text": "fuzzed #lisboa"}, headers=alice.headers).json
    app.post(f"/api/posts/{post['id']}/like/", headers=bob.headers)
    real = [str(v).encode() for v in (alice["id"], bob["id"], post["id"])] + [b"lisboa", b"%23lisboa"]
    for method, template in operations:
        _fuzz(wsgi_app, method, template, alice, real)


def _fuzz(wsgi_app, method, template, alice, real):
    tokens = ["", f"Bearer {alice['access']}", "Bearer x.y.z", "Basic abc"]
    valid = f"Bearer {alice['access']}"
    near = st.sampled_from(real)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        params=st.lists(near | near | PARAM_BYTES, min_size=3, max_size=3),
        trailing=st.booleans(),
        query=QUERY,
        auth=st.just(valid) | st.just(valid) | st.sampled_from(tokens) | st.binary(max_size=20).map(_latin1),
        content_type=st.just("application/json") | CONTENT_TYPES,
        body=FIELD_JSON | BODIES,
        extra=st.dictionaries(
            st.sampled_from(["Idempotency-Key", "X-Request-ID", "Origin", "Accept", "Content-Length"]),
            st.binary(max_size=20).map(_latin1),
            max_size=2,
        ),
    )
    def check(params, trailing, query, auth, content_type, body, extra):
        path = _fill(template.rstrip("/"), params) + (b"/" if trailing else b"")
        headers = {"Authorization": auth, "Content-Type": content_type, **extra}
        if "Content-Length" in extra:
            headers.pop("Content-Length")  # _call sets the true length; a false one is the server's job
        status, response_headers, content = raw_call(wsgi_app, method, path, query, headers, body)
        what = f"{method} {path!r}?{query!r} {content_type!r} body={body[:80]!r} -> {status} {content[:200]!r}"
        assert status < 500, what
        if status in (202, 204, 302, 304) or (status < 400 and template.startswith(NON_JSON)):  # no JSON body
            return
        if template.startswith(HTML_PAGES) and response_headers.get("Content-Type", "").startswith("text/html"):
            return  # a page (the edge's refusals, before the view: JSON below)
        assert response_headers.get("Content-Type", "").startswith("application/json"), what
        answer = json.loads(content)
        if status >= 400 and template.startswith(MASTODON):
            assert isinstance(answer.get("error"), str) and set(answer) <= {"error", "error_description"}, what
        elif status >= 400:
            assert set(answer) == {"code", "error", "message", "details"}, what
            assert answer["code"] == status, what

    check()
