"""What browser clients and a TLS proxy in front need (web/cors.py, web/proxy.py).

- CORS: the Mastodon face, discovery and /oauth/token, /oauth/revoke answer every origin,
  with Authorization allowed and Link exposed; the native /api/ only cors.origins; the
  authorize pages (a cookie) none.
- X-Forwarded-Proto/Host from a trusted peer (loopback by default, `proxy.trusted`) make the
  absolute URLs of both faces; from any other peer they are ignored.
"""

import itertools

import pytest
from conftest import signup
from test_mastodon_oauth import authorize_params, bearer, register, token_for

ORIGIN = "https://elk.example"
OPEN_PATHS = [
    ("GET", "/api/v1/instance"),
    ("GET", "/api/v2/instance/"),
    ("GET", "/.well-known/host-meta"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/nodeinfo/2.0"),
    ("POST", "/oauth/token"),
    ("POST", "/oauth/revoke/"),
    ("POST", "/api/v1/statuses"),
    ("GET", "/api/v1/timelines/home"),
]


@pytest.mark.parametrize(("method", "path"), OPEN_PATHS)
def test_every_origin_may_preflight_the_mastodon_face_with_authorization(app, method, path):
    asked = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    }
    answer = app.options(path, headers=asked, status=204)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "authorization" in answer.headers["Access-Control-Allow-Headers"].lower()
    assert method in answer.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in answer.headers  # tokens travel in a header
    assert "Link" in answer.headers["Access-Control-Expose-Headers"].split(", ")


def test_a_preflight_asking_for_a_header_that_is_no_name_gets_the_default_list(app):
    asked = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "a b\x7f"}
    answer = app.options("/api/v1/instance", headers=asked, status=204)
    assert answer.headers["Access-Control-Allow-Headers"].startswith("Authorization, ")


def test_answers_of_the_mastodon_face_expose_link_to_any_origin(app, alice):
    _, token = token_for(app)
    for text in ("one", "two"):
        app.post("/api/v1/statuses", {"status": text}, headers=bearer(token), status=200)
    page = app.get("/api/v1/timelines/public?limit=1", headers={**bearer(token), "Origin": ORIGIN})
    assert page.headers["Access-Control-Allow-Origin"] == "*" and 'rel="next"' in page.headers["Link"]
    assert "Link" in page.headers["Access-Control-Expose-Headers"]
    refused = app.get("/api/v1/timelines/home", headers={"Origin": ORIGIN}, status=401)  # errors too
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    for path in ("/.well-known/nodeinfo", "/api/v1/instance/"):
        assert app.get(path, headers={"Origin": ORIGIN}).headers["Access-Control-Allow-Origin"] == "*"


def test_the_native_api_still_answers_only_listed_origins(app, make_app):
    assert "Access-Control-Allow-Origin" not in app.get("/api/health/", headers={"Origin": ORIGIN}).headers
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    app.options("/api/posts/", headers=preflight, status=403)
    listed = make_app(**{"cors.origins": ORIGIN})
    assert listed.get("/api/health/", headers={"Origin": ORIGIN}).headers["Access-Control-Allow-Origin"] == ORIGIN


def test_the_authorize_pages_have_no_cors(app, alice):
    client = register(app)
    page = app.get("/oauth/authorize", authorize_params(client), headers={"Origin": ORIGIN})
    assert not [name for name in page.headers if name.startswith("Access-Control-")]
    assert "Cross-Origin-Opener-Policy" not in page.headers  # a popup keeps window.opener
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    answer = app.options("/oauth/authorize", headers=preflight, expect_errors=True)
    assert answer.status_int != 204 and "Access-Control-Allow-Origin" not in answer.headers


# Behind a proxy

PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "social.example:8443"}
LOOPBACK = {"REMOTE_ADDR": "127.0.0.1"}
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9"}


def _urls(app, user, environ, headers=PROXY):
    """The absolute URLs both faces answer for this request's peer and headers."""
    token = user["access"]
    instance = app.get("/api/v1/instance", headers=headers, extra_environ=environ).json
    metadata = app.get("/.well-known/oauth-authorization-server", headers=headers, extra_environ=environ).json
    for _ in range(2):
        status = app.post(
            "/api/v1/statuses", {"status": "#tag"}, headers={**headers, **bearer(token)}, extra_environ=environ
        )
    page = app.get("/api/v1/timelines/public?limit=1", headers={**headers, **bearer(token)}, extra_environ=environ)
    native = app.get("/api/posts/?page_size=1", headers={**headers, **bearer(token)}, extra_environ=environ).json
    return {
        "streaming": instance["urls"]["streaming_api"],
        "token_endpoint": metadata["token_endpoint"],
        "status": status.json["url"],
        "tag": status.json["tags"][0]["url"],
        "link": page.headers["Link"].split(">")[0][1:],
        "native_next": native["next"],
    }


@pytest.mark.parametrize("peer", [LOOPBACK, {"REMOTE_ADDR": "::1"}, {"REMOTE_ADDR": "::ffff:127.0.0.1"}])
def test_a_trusted_proxy_makes_the_absolute_urls(app, alice, peer):
    for name, url in _urls(app, alice, peer).items():
        assert url.startswith(("https://social.example:8443/", "wss://social.example:8443")), (name, url)


def test_an_untrusted_peer_s_forwarded_headers_are_ignored(app, alice):
    for name, url in _urls(app, alice, ELSEWHERE).items():
        assert "social.example" not in url and url.startswith(("http://localhost", "ws://localhost")), (name, url)


def test_proxy_trusted_names_the_trusted_networks(make_app):
    proxied = make_app(**{"proxy.trusted": "10.0.0.0/8 192.0.2.7"})
    dora = signup(proxied, "dora")
    for peer, trusted in (("10.1.2.3", True), ("192.0.2.7", True), ("127.0.0.1", False), ("192.0.2.8", False)):
        urls = _urls(proxied, dora, {"REMOTE_ADDR": peer})
        assert all(("social.example" in url) is trusted for url in urls.values()), (peer, urls)


def test_only_the_proto_keeps_the_host_asked_and_a_bad_host_is_ignored(app, alice):
    only_proto = _urls(app, alice, LOOPBACK, {"X-Forwarded-Proto": "https", "Host": "front.example"})
    assert only_proto["status"].startswith("https://front.example/") and only_proto["native_next"].startswith(
        "https://front.example/"
    )
    for bad in (
        {"X-Forwarded-Proto": "gopher"},
        {"X-Forwarded-Host": "evil.example/path"},
        {"X-Forwarded-Host": "a b"},
    ):
        urls = _urls(app, alice, LOOPBACK, bad)
        assert all(url.startswith(("http://localhost", "ws://localhost")) for url in urls.values()), (bad, urls)


def test_a_chain_of_proxies_gives_the_one_nearest_the_client(app):
    headers = {"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "social.example, inner.example:8080"}
    metadata = app.get("/.well-known/oauth-authorization-server", headers=headers, extra_environ=LOOPBACK).json
    assert metadata["issuer"].startswith("https://social.example")


def test_the_cached_responses_keep_apart_direct_and_proxied_requests(make_app, alice):
    """A cached read (a status) asked directly and then through the proxy for the same scheme
    and host: the direct answer has public_url's links, the proxied one the proxy's."""
    app = make_app(public_url="https://public.example")
    _, token = token_for(app)
    posted = app.post("/api/v1/statuses", {"status": "cached"}, headers=bearer(token)).json
    path = f"/api/v1/statuses/{posted['id']}"
    for _ in range(2):
        direct = app.get(path, headers=bearer(token), extra_environ=ELSEWHERE).json
        assert direct["url"].startswith("https://public.example/")
        same = {"X-Forwarded-Proto": "http", "X-Forwarded-Host": "localhost"}
        proxied = app.get(path, headers={**same, **bearer(token)}, extra_environ=LOOPBACK).json
        assert proxied["url"].startswith("http://localhost/")


def test_the_csrf_cookie_is_secure_through_an_https_proxy(app):
    client = register(app)
    page = app.get("/oauth/authorize", authorize_params(client), headers=PROXY, extra_environ=LOOPBACK)
    assert "secure" in page.headers["Set-Cookie"].lower()
    app.reset()  # a new browser: no cookie yet
    direct = app.get("/oauth/authorize", authorize_params(client), headers=PROXY, extra_environ=ELSEWHERE)
    assert "secure" not in direct.headers["Set-Cookie"].lower()


# The client's address: X-Forwarded-For from a trusted peer only

_ACCOUNTS = itertools.count()


def _log_ins(app, environ, headers=None, times=3):
    """The statuses of `times` failed log-ins (each as another account, so only the limit
    per address counts) from this peer with these headers."""
    statuses = []
    for _ in range(times):
        body = {"username": f"nobody{next(_ACCOUNTS)}", "password": "wrong-password"}
        answer = app.post_json("/api/token/", body, headers=headers or {}, extra_environ=environ, expect_errors=True)
        statuses.append(answer.status_int)
    return statuses


@pytest.fixture
def limited(make_app):
    return make_app(**{"ratelimit.login": "2/300", "proxy.trusted": "127.0.0.1 10.0.0.0/8"})


def test_a_trusted_proxy_s_x_forwarded_for_is_each_client_s_address(limited):
    """Behind haproxy every peer is haproxy: each client's own limit, not one for all."""
    one = {"X-Forwarded-For": "198.51.100.1"}
    assert _log_ins(limited, LOOPBACK, one) == [401, 401, 429]
    assert _log_ins(limited, LOOPBACK, {"X-Forwarded-For": "198.51.100.2"}) == [401, 401, 429]
    # the right-most address not a proxy of ours: what the client itself wrote is not believed
    chain = {"X-Forwarded-For": "203.0.113.50, 198.51.100.3, 10.1.1.1"}
    assert _log_ins(limited, LOOPBACK, chain, times=2) == [401, 401]
    assert _log_ins(limited, LOOPBACK, {"X-Forwarded-For": "192.0.2.99, 198.51.100.3"}, times=1) == [429]
    assert _log_ins(limited, {"REMOTE_ADDR": "10.2.3.4"}, {"X-Forwarded-For": "[2001:db8::7]"}, times=3) == [
        401,
        401,
        429,
    ]
    assert _log_ins(limited, LOOPBACK, times=2) == [401, 401]  # the proxy's own address: its own limit
    assert _log_ins(limited, LOOPBACK, {"X-Forwarded-For": "2001:db8::7"}, times=1) == [429]


def test_an_untrusted_peer_s_x_forwarded_for_is_ignored(limited):
    """A client cannot spread its attempts over addresses it makes up."""
    statuses = [_log_ins(limited, ELSEWHERE, {"X-Forwarded-For": f"198.51.100.{n}"}, times=1)[0] for n in range(10, 13)]
    assert statuses == [401, 401, 429]
    assert _log_ins(limited, LOOPBACK, {"X-Forwarded-For": "198.51.100.10"}, times=1) == [401]  # not counted


@pytest.mark.parametrize(
    "value",
    ["not-an-address", "198.51.100.1, ", "198.51.100.1, evil", "198.51.100.1:8080", "1" * 2000, "300.1.1.1", ","],
)
def test_a_bad_x_forwarded_for_is_ignored_whole(limited, value):
    """Anything but a list of addresses: the peer's own address counts (never a 500)."""
    assert _log_ins(limited, LOOPBACK, {"X-Forwarded-For": value}, times=2) == [401, 401]
    assert _log_ins(limited, LOOPBACK, times=1) == [429]
