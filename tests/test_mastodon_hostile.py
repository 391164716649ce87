"""Every parameter of the routes added for issue 29's last steps (media, search, lists,
markers, tags, update_credentials), given values of every wrong kind: always a 4xx in
Mastodon's shape, or a 200 where the value is one Mastodon ignores; never a 500."""

import json
from collections import Counter

import pytest
from test_mastodon_oauth import bearer, token_for

JSON_VALUES = [42, True, None, [], {}, ["a", 1], {"a": {"b": 1}}, "\x00", "9" * 30, "-1", "", "x" * 5000]
QUERY_VALUES = ["\x00", "9" * 30, "-1", "", "x" * 5000, "%", "#", "@", "1.5"]
# (method, path, the parameters it reads)
ROUTES = [
    ("POST", "/api/v2/media", ["file", "description"]),
    ("PUT", "/api/v1/media/1", ["description", "focus"]),
    ("POST", "/api/v1/statuses", ["media_ids", "media_ids[]"]),
    ("GET", "/api/v2/search", ["q", "type", "limit", "offset", "resolve"]),
    ("GET", "/api/v1/accounts/search", ["q", "limit", "offset"]),
    ("GET", "/api/v1/bookmarks", ["max_id", "since_id", "min_id", "limit"]),
    ("GET", "/api/v1/favourites", ["max_id", "since_id", "min_id", "limit"]),
    ("GET", "/api/v1/followed_tags", ["max_id", "since_id", "min_id", "limit"]),
    ("GET", "/api/v1/markers", ["timeline", "timeline[]"]),
    ("POST", "/api/v1/markers", ["home", "notifications", "home[last_read_id]"]),
    ("PATCH", "/api/v1/accounts/update_credentials", ["display_name", "note", "avatar", "locked"]),
]


@pytest.fixture(scope="module")
def cases():
    out = []
    for method, path, names in ROUTES:
        for name in names:
            if method == "GET":
                out += [(method, path, name, value) for value in QUERY_VALUES]
            else:
                out += [(method, path, name, value) for value in JSON_VALUES]
    return out


def check(response, seen=None):
    assert response.status_int < 500, response.text
    if response.status_int >= 400:
        assert set(response.json) == {"error"} and response.json["error"], response.json
    if seen is not None:
        seen[response.status_int] += 1


def test_no_value_of_any_parameter_is_a_500(app, make_user, cases):
    make_user("alice")
    headers = bearer(token_for(app, scope="read write follow push")[1])
    seen = Counter()
    for method, path, name, value in cases:
        if method == "GET":
            query = {name: value, **({"q": "a"} if name != "q" else {})}
            check(app.get(path, query, headers=headers, status="*"), seen)
            continue
        body = {name: value}
        if path == "/api/v1/statuses":
            body["status"] = "hi"
        raw = json.dumps(body).encode()
        check(
            app.request(path, method=method, body=raw, content_type="application/json", headers=headers, status="*"),
            seen,
        )
        if isinstance(value, str) and "\x00" not in value:  # and as a form (NUL: the ingress's 400, tested there)
            form = "&".join(f"{k}={v}" for k, v in body.items()).encode()
            content_type = "application/x-www-form-urlencoded"
            check(
                app.request(path, method=method, body=form, content_type=content_type, headers=headers, status="*"),
                seen,
            )
    assert seen[422] > 50 and seen[200] > 20, seen  # the values were read: refused, or ignored


@pytest.mark.parametrize("name", ["no%20tag", "%00", "x" * 300, "%E2%80%A8", "caf%C3%A9", "%23lisboa"])
def test_tag_names_of_every_kind(app, make_user, name):
    make_user("alice")
    headers = bearer(token_for(app, scope="read write follow push")[1])
    for method, path in [("GET", f"/api/v1/tags/{name}"), ("POST", f"/api/v1/tags/{name}/follow")]:
        check(app.request(path, method=method, headers=headers, status="*"))
