"""Hostile input, round three (issue 26, classes 5 to 9), each class through HTTP over all
of its members: a JSON name given twice; a documented order; "one line" and every Unicode
line break; Unicode case and the rate limits' keys; password guesses on every route that
checks a password."""

import json
import time
import unicodedata
from urllib.parse import urlencode

import pytest
from conftest import PASSWORD, TABLES, assert_error, signup
from test_accounts import mailed_token
from test_email import smtp  # noqa: F401  (the SMTP fixture)
from test_hostile_input import multipart
from test_ratelimit import wait_for_next_window

from minitwitter.worker.tasks import deliver


def fingerprint(db):
    """Every row of every table (and the post counters): equal before and after means
    nothing was written."""
    with db.cursor() as cur:
        digests = []
        for table in [*TABLES, "post_totals"]:
            cur.execute(f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t")
            digests.append((table, cur.fetchone()[0]))
        return digests


# 5. A JSON name given twice: 400 naming it, on every route with a JSON body, nothing written.


@pytest.fixture
def json_routes(app, db, smtp, make_user):  # noqa: F811
    """(method, path, {field: (first, last)}) for every operation of the OpenAPI document
    that takes a JSON body: the last value of each field makes a request that succeeds
    (and writes) when the first is dropped, so taking the last value cannot pass."""
    alice = make_user("alice")
    verify = mailed_token(db, smtp, "welcome_email")  # alice's
    bob = make_user("bob")
    app.post_json("/api/password_reset/", {"email": "alice@example.com"}, status=202)
    reset = mailed_token(db, smtp, "password_reset_email")
    post = app.post_json("/api/posts/", {"text": "hi @bob"}, headers=alice.headers, status=201).json
    [notification] = app.get("/api/notifications/", headers=bob.headers).json["results"]
    # Moderation: the admin routes' {id} is the post's id, which is alice's too (both 1), and
    # bob's report of alice's post (report 1).
    root = make_user("root")
    with db.cursor() as cur:
        cur.execute("UPDATE users SET role = 'admin' WHERE id = %s", (root["id"],))
    assert post["id"] == alice["id"] == 1
    app.post_json("/api/reports/", {"account_id": alice["id"]}, headers=bob.headers, status=201)
    me, p = "/api/users/me/", f"/api/posts/{post['id']}/"
    new = ("x", "a new password 1")
    bodies = {
        ("post", "/api/users/"): {"email": ("x", "carol@example.com"), "username": ("x", "carol"), "password": new},
        ("post", "/api/create_user/"): {
            "email": ("x", "dan@example.com"),
            "username": ("x", "dan"),
            "password": new,
        },
        ("post", "/api/token/"): {"username": ("bob", "alice"), "password": ("wrong", PASSWORD)},
        ("post", "/api/token/refresh/"): {"refresh": ("x", alice["refresh"])},
        ("post", "/api/token/revoke/"): {"refresh": ("x", alice["refresh"])},
        ("patch", me): {"display_name": ("x", "Alice"), "bio": ("x", "Lisbon")},
        ("delete", me): {"password": ("wrong", PASSWORD)},
        ("post", "/api/users/me/password/"): {"current_password": ("wrong", PASSWORD), "new_password": new},
        ("post", "/api/users/me/verify_email/"): {"token": ("x", verify)},
        ("post", "/api/password_reset/"): {"email": ("nobody@example.com", "alice@example.com")},
        ("post", "/api/password_reset/confirm/"): {"token": ("x", reset), "new_password": new},
        ("post", "/api/posts/"): {"text": ("x", "a reply"), "in_reply_to": (10**9, post["id"])},
        ("put", "/api/posts/"): {"id_post": (10**9, post["id"]), "text": ("x", "edited")},
        ("delete", "/api/posts/"): {"id_post": (10**9, post["id"])},
        ("put", "/api/posts/{id}/"): {"text": ("x", "edited")},
        ("patch", "/api/posts/{id}/"): {"text": ("x", "edited")},
        ("post", "/api/notifications/read/"): {"up_to": ("x", notification["id"])},
        ("post", "/api/reports/"): {
            "account_id": (10**9, alice["id"]),
            "post_ids": ([10**9], [post["id"]]),
            "category": ("x", "spam"),
            "comment": ("x" * 1001, "spam"),
        },
        ("post", "/api/admin/accounts/{id}/role/"): {"role": ("x", "moderator")},
        ("post", "/api/admin/accounts/{id}/suspend/"): {"reason": ("", "spam")},
        ("post", "/api/admin/accounts/{id}/unsuspend/"): {"reason": ("x" * 1001, "lifted")},
        ("delete", "/api/admin/posts/{id}/"): {"reason": ("", "spam")},
        ("post", "/api/admin/reports/{id}/resolve/"): {"action": ("x", "none"), "note": ("x" * 1001, "seen")},
    }
    doc = app.get("/api/openapi.json").json
    routes = []
    for template, operations in doc["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content or operation["tags"] == ["Mastodon"]:
                continue  # the Mastodon face's: test_a_json_field_given_twice_on_the_mastodon_face
            fields = set(content["application/json"]["schema"].get("properties", {}))
            given = bodies.get((method, template))
            assert given is not None, f"{method.upper()} {template} takes JSON: add it to this test's table"
            assert set(given) == fields, (method, template, fields)
            user = bob if template.startswith(("/api/notifications/", "/api/reports/")) else alice
            user = root if template.startswith("/api/admin/") else user
            routes.append((method, template.replace("{id}", str(post["id"])), given, user))
    assert len(routes) == len(bodies)
    assert ("patch", p, bodies[("patch", "/api/posts/{id}/")], alice) in routes
    return routes


def twice(given, field):
    """A JSON object with `field` first and last, the other fields in between."""
    first, last = given[field]
    members = [(field, first), *((k, v[1]) for k, v in given.items() if k != field), (field, last)]
    return "{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in members) + "}"


def test_a_json_field_given_twice_is_400_naming_it_on_every_route(app, db, json_routes):
    wrong = []
    for method, path, given, user in json_routes:
        for field in given:
            before = fingerprint(db)
            response = app.request(
                path,
                method=method.upper(),
                body=twice(given, field).encode(),
                headers={**user.headers, "Content-Type": "application/json"},
                expect_errors=True,
            )
            body = response.json if response.content_type == "application/json" else None
            named = body is not None and [d["name"] for d in body.get("details", [])] == [field]
            if response.status_int != 400 or not named or field not in body["message"]:
                wrong.append((method, path, field, response.status_int, body))
            elif fingerprint(db) != before:
                wrong.append((method, path, field, "written"))
    assert not wrong, wrong


def test_a_json_field_given_twice_on_the_mastodon_face_is_400_and_writes_nothing(app, db, alice):
    """The same ingress refuses it before any view, in Mastodon's error shape there."""
    before = fingerprint(db)
    for path, body in (
        ("/api/v1/statuses", '{"status": "a", "status": "b"}'),
        ("/api/v1/apps", '{"client_name": "a", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "client_name": "b"}'),
    ):
        headers = {**alice.headers, "Content-Type": "application/json"}
        response = app.post(path, body.encode(), headers=headers, status=400)
        assert set(response.json) == {"error"} and "once" in response.json["error"], response.json
    assert fingerprint(db) == before


@pytest.mark.parametrize(
    "raw, name",
    [
        ('{"text": "a", "\\u0074ext": "b"}', "text"),  # the same name, one letter escaped
        ('{"text": "a", "utm": 1, "utm": 2}', "utm"),  # an unknown name too: a proxy may act on it
        ('{"text": "a", "meta": {"k": 1, "k": 2}}', "k"),  # at any depth
        ('{"text": "a", "meta": [{"k": [{"x": 1, "x": 1}]}]}', "x"),  # the same value twice
    ],
)
def test_a_json_name_given_twice_anywhere_is_400(app, db, alice, raw, name):
    before = fingerprint(db)
    response = app.post("/api/posts/", raw.encode(), content_type="application/json", headers=alice.headers, status=400)
    assert_error(response, 400, name)
    assert fingerprint(db) == before


def test_json_with_distinct_names_at_each_level_still_works(app, alice):
    raw = '{"text": "hi", "meta": {"text": 1, "k": {"text": 2}}, "k": [{"k": 1}, {"k": 2}]}'
    app.post("/api/posts/", raw.encode(), content_type="application/json", headers=alice.headers, status=201)


# 6. Every documented order, in every response that shows it.


def posts_in(value, post_id):
    """Every post object with this id anywhere in a JSON response."""
    if isinstance(value, dict):
        found = [value] if value.get("id") == post_id and "hashtags" in value else []
        return found + [p for v in value.values() for p in posts_in(v, post_id)]
    if isinstance(value, list):
        return [p for v in value for p in posts_in(v, post_id)]
    return []


def test_hashtags_and_mentions_keep_their_documented_order_in_every_response(app, alice, make_user):
    bob, carol, dan = make_user("bob"), make_user("carol"), make_user("dan")
    for follower in (bob, carol, dan):
        app.post(f"/api/users/{alice['id']}/follow/", headers=follower.headers, status=200)
    app.post("/api/hashtags/zeta/favorite/", headers=bob.headers, status=200)
    parent = app.post_json("/api/posts/", {"text": "a parent"}, headers=dan.headers, status=201).json
    text = "#zeta then #alpha, #Mid and #ZETA again, for @dan @Carol @bob and @DAN"
    created = app.post_json("/api/posts/", {"text": text, "in_reply_to": parent["id"]}, headers=alice.headers)
    post_id = created.json["id"]
    url = f"/api/posts/{post_id}/"
    app.post(f"{url}bookmark/", headers=bob.headers, status=200)

    def every_response(tags, names):
        """Every route whose answer includes the post, read twice (the second from caches)."""
        seen = []
        for _ in range(2):
            for path in (
                url,
                "/api/posts/",
                f"/api/users/{alice['id']}/posts/",
                "/api/feed/",
                f"/api/hashtags/{tags[0]}/posts/",
                "/api/favorite_hashtags/posts/",
                f"/api/search/posts/?q={tags[-1]}",
                f"/api/search/posts/?q=%23{tags[0]}&order=relevance",
                "/api/bookmarks/",
                f"/api/posts/{parent['id']}/replies/",
                "/api/notifications/",  # bob's mention
            ):
                seen += [(path, p) for p in posts_in(app.get(path, headers=bob.headers).json, post_id)]
        seen += [("like", p) for p in posts_in(app.post(f"{url}like/", headers=bob.headers).json, post_id)]
        seen += [("repost", p) for p in posts_in(app.post(f"{url}repost/", headers=bob.headers).json, post_id)]
        seen += [("unlike", p) for p in posts_in(app.delete(f"{url}like/", headers=bob.headers).json, post_id)]
        seen += [("unrepost", p) for p in posts_in(app.delete(f"{url}repost/", headers=bob.headers).json, post_id)]
        assert {path for path, _ in seen} >= {url, "/api/feed/", "/api/search/posts/?q=" + tags[-1], "like"}, seen
        assert len({path for path, _ in seen}) == 15, sorted({path for path, _ in seen})
        for path, post in seen:
            assert (path, post["hashtags"], [m["username"] for m in post["mentions"]]) == (path, tags, names)

    assert created.json["hashtags"] == ["zeta", "alpha", "mid"]
    assert [m["username"] for m in created.json["mentions"]] == ["dan", "carol", "bob"]
    every_response(["zeta", "alpha", "mid"], ["dan", "carol", "bob"])
    # An edit that keeps the same tags and names in another order: the order follows.
    edited = app.patch_json(url, {"text": "@bob @carol #mid #alpha #zeta @dan"}, headers=alice.headers).json
    assert (edited["hashtags"], [m["username"] for m in edited["mentions"]]) == (
        ["mid", "alpha", "zeta"],
        ["bob", "carol", "dan"],
    )
    every_response(["mid", "alpha", "zeta"], ["bob", "carol", "dan"])
    # Through the older clients' edit, with tags gained and lost.
    body = {"id_post": post_id, "text": "#Zeta #beta @Carol, #zeta #ALPHA @bob"}
    older = app.put_json("/api/posts/", body, headers=alice.headers).json
    assert (older["hashtags"], [m["username"] for m in older["mentions"]]) == (
        ["zeta", "beta", "alpha"],
        ["carol", "bob"],
    )
    every_response(["zeta", "beta", "alpha"], ["carol", "bob"])


def test_documented_list_orders(app, alice, make_user):
    """The lists whose order is not the order their items were made in: each by the
    documented time (newest first unless said), favourite tags by name, popular by use."""
    bob, carol, dan = make_user("bob"), make_user("carol"), make_user("dan")
    users = [bob, carol, dan]
    posts = [app.post_json("/api/posts/", {"text": f"#t{i} #common"}, headers=alice.headers).json for i in range(3)]
    ids = [p["id"] for p in posts]
    # Acted on in the reverse of the order made: newest action first is oldest made first.
    for u in reversed(users):
        app.post(f"/api/users/{u['id']}/follow/", headers=alice.headers, status=200)
        app.post(f"/api/users/{alice['id']}/follow/", headers=u.headers, status=200)
        app.post(f"/api/posts/{ids[0]}/like/", headers=u.headers, status=200)
    for i in reversed(ids):
        app.post(f"/api/posts/{i}/bookmark/", headers=bob.headers, status=200)
    for u in reversed(users):
        app.post(f"/api/users/{u['id']}/mute/", headers=alice.headers, status=200)
    for tag in ("zebra", "apple", "mango"):
        app.post(f"/api/hashtags/{tag}/favorite/", headers=alice.headers, status=200)
    app.post_json("/api/posts/", {"text": "#t2 #t2 again"}, headers=bob.headers)
    names = ["bob", "carol", "dan"]

    def results(path, user=alice):
        return app.get(path, headers=user.headers).json["results"]

    assert [u["username"] for u in results(f"/api/users/{alice['id']}/following/")] == names
    assert [u["username"] for u in results(f"/api/users/{alice['id']}/followers/")] == names
    assert [u["username"] for u in results(f"/api/posts/{ids[0]}/likes/")] == names
    assert [p["id"] for p in results("/api/bookmarks/", bob)] == ids
    assert [u["username"] for u in results("/api/mutes/")] == names
    assert [t["name"] for t in results("/api/favorite_hashtags/")] == ["apple", "mango", "zebra"]
    popular = app.get("/api/popular_hashtags/", headers=alice.headers).json
    assert [t["name"] for t in popular] == ["common", "t2", "t0", "t1"]  # by use, then by name
    for u in (bob, carol, dan):
        app.delete(f"/api/users/{u['id']}/mute/", headers=alice.headers, status=200)
    for u in reversed(users):
        app.post(f"/api/users/{u['id']}/block/", headers=alice.headers, status=200)
    assert [u["username"] for u in results("/api/blocks/")] == names


# 7. "One line": every Unicode line break refused in every one-line field.

LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def test_the_line_breaks_are_every_separator_python_knows():
    known = {c for c in map(chr, range(0x110000)) if len(f"a{c}b".splitlines()) > 1}
    assert known | {"\r\n"} == set(LINE_BREAKS)


def send(app, method, path, fields, encoding, headers=None, status=400):
    """The fields as a JSON, urlencoded or multipart body."""
    if encoding == "json":
        body, content_type = json.dumps(fields).encode(), "application/json"
    elif encoding == "form":
        body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    else:
        body, content_type = multipart(*((k, None, v.encode()) for k, v in fields.items()))
    headers = {**(headers or {}), "Content-Type": content_type}
    return app.request(path, method=method, body=body, headers=headers, status=status)


ENCODINGS = ["json", "form", "multipart"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(
    "brk", LINE_BREAKS, ids=[f"U+{ord(b[0]):04X}{'+LF' if len(b) > 1 else ''}" for b in LINE_BREAKS]
)
def test_a_display_name_is_one_line(app, db, alice, brk, encoding):
    app.patch_json("/api/users/me/", {"display_name": "Alice"}, headers=alice.headers, status=200)
    before = fingerprint(db)
    for value in (f"Ali{brk}ce", f"Alice{brk}", f"{brk}Alice"):
        response = send(app, "PATCH", "/api/users/me/", {"display_name": value}, encoding, alice.headers)
        assert "line" in assert_error(response, 400, "display_name")["message"]
    assert fingerprint(db) == before
    assert app.get("/api/users/me/", headers=alice.headers).json["display_name"] == "Alice"


@pytest.mark.parametrize("encoding", ENCODINGS[:2])  # sign-up and log-in take no multipart
@pytest.mark.parametrize(
    "brk", LINE_BREAKS, ids=[f"U+{ord(b[0]):04X}{'+LF' if len(b) > 1 else ''}" for b in LINE_BREAKS]
)
def test_usernames_and_emails_are_one_line_on_every_route(app, db, alice, brk, encoding):
    cases = [
        ("/api/users/", {"username": f"ca{brk}rol", "email": "carol@example.com", "password": PASSWORD}, "username"),
        ("/api/users/", {"username": "carol", "email": f"ca{brk}rol@example.com", "password": PASSWORD}, "email"),
        ("/api/users/", {"username": "carol", "email": f"carol@example.com{brk}", "password": PASSWORD}, "email"),
        ("/api/create_user/", {"username": f"carol{brk}", "email": "c@example.com", "password": PASSWORD}, "username"),
        ("/api/token/", {"username": f"alice{brk}", "password": PASSWORD}, "username"),
        ("/api/password_reset/", {"email": f"alice@example.com{brk}"}, "email"),
        ("/api/password_reset/", {"email": f"ali{brk}ce@example.com"}, "email"),
    ]
    before = fingerprint(db)
    for path, fields, name in cases:
        assert_error(send(app, "POST", path, fields, encoding), 400, name)
    assert fingerprint(db) == before


# 8. Unicode case and the rate limits: a key folds as the account lookup does.


def folds_alike(db, a, b):
    """Whether the account lookups (lower(), this database's collation) take a for b."""
    with db.cursor() as cur:
        cur.execute("SELECT lower(%s) = lower(%s)", (a, b))
        return cur.fetchone()[0]


# (the account's address, another spelling): on this server (ctype C.UTF-8) lower() takes
# 'İ' (U+0130) for 'i' and a final 'Σ' for 'σ', where Python's str.lower() does not; the
# KELVIN SIGN and ẞ fold alike both ways; 'ſ' (LONG S) and 'SS' are other addresses to both.
SPELLINGS = [
    ("ina.one@example.com", "INA.ONE@EXAMPLE.COM"),
    ("ina.two@example.com", "\u0130na.two@example.com"),
    ("ina.three@example.com", "\u0130NA.THREE@example.com"),
    ("\u03b1\u03c3@example.com", "\u0391\u03a3@example.com"),
    ("\u03b1\u03c3x@example.com", "\u0391\u03a3X@example.com"),
    ("kim@example.com", "\u212aim@example.com"),
    ("stra\u00dfe@example.com", "STRA\u1e9eE@example.com"),
    ("sam@example.com", "\u017fam@example.com"),
    ("strasse@example.com", "STRA\u00dfE@example.com"),
]


@pytest.mark.parametrize("address, spelling", SPELLINGS)
def test_a_reset_limit_holds_for_every_spelling_the_lookup_takes(make_app, db, smtp, address, spelling):  # noqa: F811
    limited = make_app(**{"ratelimit.password_reset": "5/3600"})
    if time.time() % 3600 > 3540:
        wait_for_next_window(3600)  # the test's requests share one window
    signup(limited, "owner", email=address)
    addresses = iter(f"10.0.0.{i}" for i in range(1, 100))  # the per-IP limit stays out of it
    for _ in range(5):
        limited.post_json("/api/password_reset/", {"email": address}, extra_environ={"REMOTE_ADDR": next(addresses)})
    over = limited.post_json(
        "/api/password_reset/", {"email": spelling}, extra_environ={"REMOTE_ADDR": next(addresses)}, expect_errors=True
    )
    if folds_alike(db, spelling, address):  # the lookup finds the account: so does the limit
        assert_error(over, 429)
        assert "password_reset" in over.json["message"]
    else:  # another address: its own count, and no mail to the account
        assert over.status_int == 202
        nfc = unicodedata.normalize("NFC", spelling)
        [outbox_id] = [r[0] for r in db_rows(db) if r[1] == "password_reset_email" and r[2]["email"] == nfc]
        sent = len(smtp.messages)
        assert deliver.run(outbox_id) is False  # no account has that address: nothing mailed
        assert len(smtp.messages) == sent


def db_rows(db):
    with db.cursor() as cur:
        cur.execute("SELECT id, kind, payload FROM outbox WHERE sent_at IS NULL ORDER BY id")
        return cur.fetchall()


def test_this_server_folds_unlike_python(db):
    """What the table above exercises: PostgreSQL's lower() here against Python's (with a
    glibc UTF-8 ctype; a "C" ctype folds ASCII only, and the table then holds other cases)."""
    with db.cursor() as cur:
        cur.execute("SHOW lc_ctype")
        if not cur.fetchone()[0].lower().endswith(("utf-8", "utf8")):
            pytest.skip("lower() folds ASCII only under this ctype")
    assert folds_alike(db, "\u0130na", "ina") and "\u0130na".lower() != "ina"
    assert folds_alike(db, "\u0391\u03a3", "\u03b1\u03c3") and "\u0391\u03a3".lower() != "\u03b1\u03c3"


@pytest.mark.parametrize("spelling, status", [("ALICE", 429), ("Alice", 429), ("al\u0130ce", 400), ("\u0391lice", 400)])
def test_a_login_limit_holds_for_every_spelling(make_app, spelling, status):
    limited = make_app(**{"ratelimit.login": "5/3600"})
    if time.time() % 3600 > 3540:
        wait_for_next_window(3600)
    signup(limited, "alice")  # its log-in is the first of five
    for i in range(4):
        body = {"username": "alice", "password": "wrong"}
        limited.post_json("/api/token/", body, extra_environ={"REMOTE_ADDR": f"10.0.1.{i}"}, status=401)
    body = {"username": spelling, "password": PASSWORD}
    response = limited.post_json("/api/token/", body, extra_environ={"REMOTE_ADDR": "10.0.2.1"}, expect_errors=True)
    assert_error(response, status, "username" if status == 400 else None)


# 9. Every route that checks a password counts against the account's log-in guesses.

WINDOW = 6


def guess(app, route, user, password, ip, status=None):
    """One password tried on `route` for `user` (from a new IP each time, so only the
    per-account count is in play)."""
    env = {"REMOTE_ADDR": ip}
    if route == "login":
        body = {"username": user["username"], "password": password}
        return app.post_json("/api/token/", body, extra_environ=env, status=status)
    if route == "change_password":
        body = {"current_password": password, "new_password": "another password"}
        return app.post_json("/api/users/me/password/", body, headers=user.headers, extra_environ=env, status=status)
    return app.delete_json("/api/users/me/", {"password": password}, headers=user.headers, extra_environ=env,
                           status=status)  # fmt: skip


ROUTES = ["login", "change_password", "delete_account"]


@pytest.mark.parametrize("route", ROUTES)
def test_password_guesses_share_the_login_limit_on_every_route(make_app, db, route):
    limited = make_app(**{"ratelimit.login": f"5/{WINDOW}"})
    alice, bob = signup(limited, "alice"), signup(limited, "bob")
    ips = iter(f"10.1.{i // 250}.{i % 250}" for i in range(1000))
    wait_for_next_window(WINDOW)
    for _ in range(5):
        guess(limited, route, alice, "wrong", next(ips), status=(401 if route == "login" else 400))
    # Over the limit: every route refuses even the right password, for this account only.
    for other in ROUTES:
        body = assert_error(guess(limited, other, alice, PASSWORD, next(ips), status=429), 429)
        assert "login" in body["message"]
    assert guess(limited, "login", bob, PASSWORD, next(ips), status=200)
    guess(limited, "change_password", bob, "wrong", next(ips), status=400)
    with db.cursor() as cur:
        cur.execute("SELECT username FROM users ORDER BY id")
        assert cur.fetchall() == [("alice",), ("bob",)]  # nothing deleted
    wait_for_next_window(WINDOW)  # the window passes: the right password works again
    guess(limited, "login", alice, PASSWORD, next(ips), status=200)
    guess(limited, "change_password", alice, PASSWORD, next(ips), status=204)
