"""The Mastodon face's OAuth 2, discovery, instance and accounts, through HTTP (webtest).

The happy paths with a real client are tests/test_mastodon_client.py (Mastodon.py over a
socket); here every refusal: bad clients, redirect URIs, codes, PKCE verifiers, scopes,
revoked tokens, ended sessions, CSRF, wrong passwords and their rate limit.
"""

import base64
import hashlib
import re
import secrets
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import webtest
from conftest import PASSWORD, assert_error, raw_call, signup
from test_accounts import NEW_PASSWORD, mailed_token
from test_email import smtp  # noqa: F401  (the SMTP fixture)

from minitwitter.domain import media, oauth, posts

OOB = "urn:ietf:wg:oauth:2.0:oob"
CALLBACK = "https://app.example/callback"
ALL = "read write follow push"


def register(app, redirect_uris=OOB, scopes=ALL, **extra):
    body = {"client_name": "Test App", "redirect_uris": redirect_uris, "scopes": scopes, **extra}
    return app.post("/api/v1/apps", body, status=200).json


def authorize_params(client, redirect_uri=OOB, scope="read", **extra):
    return {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": redirect_uri,
        "scope": scope,
        **extra,
    }


def log_in_page(app, client, login="alice", password=PASSWORD, **params):
    """The approve page (or the log-in page again) after filling the log-in form."""
    page = app.get("/oauth/authorize", authorize_params(client, **params), status=200)
    form = page.forms[0]
    form["login"], form["password"] = login, password
    return form.submit(expect_errors=True)


def authorize(app, client, decision="approve", **params):
    """A code (or the approve form's response when it carries none)."""
    approve = log_in_page(app, client, **params)
    assert approve.status_int == 200, approve.text
    response = approve.forms[0].submit("decision", value=decision, expect_errors=True)
    if response.status_int == 302:
        query = parse_qs(urlsplit(response.headers["Location"]).query)
        return query.get("code", [None])[0]
    match = re.search(r'id="code" name="code" type="text" readonly value="([^"]+)"', response.text)
    return match.group(1) if match else response


def exchange(app, client, code, redirect_uri=OOB, status=200, **extra):
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "redirect_uri": redirect_uri,
        **extra,
    }
    return app.post("/oauth/token", body, status=status)


def token_for(app, scope="read write follow push", **params):
    client = register(app, scopes=f"{ALL} profile")
    return client, exchange(app, client, authorize(app, client, scope=scope, **params)).json["access_token"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def assert_mastodon_error(response, status):
    assert response.status_int == status, response.text
    assert set(response.json) == {"error"} and response.json["error"], response.json
    return response.json["error"]


def assert_oauth_error(response, status, error):
    assert response.status_int == status, response.text
    assert set(response.json) == {"error", "error_description"}, response.json
    assert response.json["error"] == error, response.json
    return response.json


# Apps


@pytest.mark.parametrize("encoding", ["form", "json"])
def test_an_app_registers_and_its_secret_is_stored_hashed(app, db, encoding):
    body = {
        "client_name": "Tooter",
        "redirect_uris": [CALLBACK, OOB],
        "scopes": "read write",
        "website": "https://t.example",
    }
    if encoding == "form":
        body["redirect_uris"] = "\n".join(body["redirect_uris"])
        client = app.post("/api/v1/apps", body, status=200).json
    else:
        client = app.post_json("/api/v1/apps", body, status=200).json
    assert client["name"] == "Tooter" and client["website"] == "https://t.example"
    assert client["scopes"] == ["read", "write"] and client["redirect_uris"] == [CALLBACK, OOB]
    assert client["redirect_uri"] == f"{CALLBACK}\n{OOB}" and client["client_secret_expires_at"] == 0
    assert isinstance(client["id"], str) and client["client_id"] and client["client_secret"]
    with db.cursor() as cur:
        cur.execute("SELECT client_secret_hash FROM oauth_apps WHERE client_id = %s", (client["client_id"],))
        [(stored,)] = cur.fetchall()
    assert bytes(stored) == hashlib.sha256(client["client_secret"].encode()).digest()


def test_an_app_without_scopes_gets_read(app):
    client = app.post("/api/v1/apps", {"client_name": "x", "redirect_uris": OOB}, status=200).json
    assert client["scopes"] == ["read"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"client_name": ""}, "client_name"),
        ({"client_name": "x" * 61}, "client_name"),
        ({"redirect_uris": ""}, "redirect_uris"),
        ({"redirect_uris": "/relative/path"}, "redirect_uris"),
        ({"redirect_uris": "https://app.example/cb#fragment"}, "redirect_uris"),
        ({"redirect_uris": "javascript:alert(1)"}, "redirect_uris"),
        ({"redirect_uris": "https:///no-host"}, "redirect_uris"),
        ({"scopes": "read admin:everything"}, "scopes"),
        ({"website": "ftp://t.example"}, "website"),
    ],
)
def test_an_app_is_refused_with_a_422_naming_the_field(app, change, field):
    body = {"client_name": "x", "redirect_uris": OOB, "scopes": "read", **change}
    message = assert_mastodon_error(app.post("/api/v1/apps", body, status=422), 422)
    assert field in message


def test_a_json_field_of_the_wrong_type_is_a_422(app):
    response = app.post_json("/api/v1/apps", {"client_name": 7, "redirect_uris": OOB}, status=422)
    assert "client_name" in assert_mastodon_error(response, 422)


# The authorize pages


@pytest.mark.parametrize(
    "change",
    [
        {"client_id": "no-such-client"},
        {"client_id": ""},
        {"redirect_uri": "https://evil.example/steal"},
        {"redirect_uri": ""},
    ],
)
def test_a_bad_client_or_redirect_uri_is_a_page_never_a_redirect(app, change):
    client = register(app, redirect_uris=CALLBACK)
    params = {**authorize_params(client, redirect_uri=CALLBACK), **change}
    page = app.get("/oauth/authorize", params, status=400)
    assert page.content_type == "text/html" and "Location" not in page.headers
    assert "Cannot authorize" in page.text


@pytest.mark.parametrize(
    "change, error",
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "read admin:read"}, "invalid_scope"),
        ({"scope": "write"}, "invalid_scope"),  # outside the app's registered `read`
        ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge": "short", "code_challenge_method": "S256"}, "invalid_request"),
    ],
)
def test_a_bad_authorize_request_goes_back_to_the_app_with_its_error(app, change, error):
    client = register(app, redirect_uris=CALLBACK, scopes="read")
    params = {**authorize_params(client, redirect_uri=CALLBACK), "state": "s1", **change}
    response = app.get("/oauth/authorize", params, status=302)
    location = urlsplit(response.headers["Location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    assert query["error"] == [error] and query["state"] == ["s1"] and "code" not in query


def test_mastodon_py_s_extra_parameters_are_tolerated(app, alice):
    client = register(app)
    page = app.get("/oauth/authorize", authorize_params(client, force_login="False", state="None", lang="None"))
    assert page.forms[0]["state"].value == "None"


@pytest.mark.parametrize("login", ["alice", "ALICE", "alice@example.com", "Alice@Example.com"])
def test_log_in_with_a_username_or_an_email(app, alice, login):
    client = register(app)
    code = authorize(app, client, login=login)
    token = exchange(app, client, code).json["access_token"]
    me = app.get("/api/v1/accounts/verify_credentials", headers=bearer(token)).json
    assert me["id"] == str(alice["id"]) and me["username"] == "alice"


def test_the_redirect_carries_the_code_and_the_state(app, alice):
    client = register(app, redirect_uris=f"{CALLBACK}?app=1")
    approve = log_in_page(app, client, redirect_uri=f"{CALLBACK}?app=1", state="xyz 1/2")
    response = approve.forms[0].submit("decision", value="approve", status=302)
    location = urlsplit(response.headers["Location"])
    query = parse_qs(location.query)
    assert query["app"] == ["1"] and query["state"] == ["xyz 1/2"] and len(query["code"][0]) >= 40
    assert response.headers["Cache-Control"] == "no-store"


def test_denying_goes_back_with_access_denied(app, db, alice):
    client = register(app, redirect_uris=CALLBACK)
    approve = log_in_page(app, client, redirect_uri=CALLBACK, state="s")
    response = approve.forms[0].submit("decision", value="deny", status=302)
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query == {"error": ["access_denied"], "state": ["s"]}
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM oauth_codes")
        assert cur.fetchone()[0] == 0


def test_the_pages_may_open_in_a_popup_but_never_in_a_frame(app, alice):
    client = register(app)
    page = app.get("/oauth/authorize", authorize_params(client))
    assert "Cross-Origin-Opener-Policy" not in page.headers
    assert (
        page.headers["X-Frame-Options"] == "DENY"
        and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    )
    assert page.headers["Cache-Control"] == "no-store"
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/oauth" in cookie


def test_wrong_password_shows_the_form_again_with_an_error(app, alice):
    client = register(app)
    page = log_in_page(app, client, password="wrong password")
    assert page.status_int == 422 and "Wrong username, email or password" in page.text
    assert page.forms[0]["login"].value == "alice"
    page = log_in_page(app, client, login="nobody")
    assert page.status_int == 422 and "Wrong username, email or password" in page.text


def test_wrong_passwords_count_against_the_native_log_in_limit(make_app, alice):
    limited = make_app(**{"ratelimit.login": "4/300"})
    client = register(limited)
    for _ in range(3):  # and the fixture's log in: 4
        assert log_in_page(limited, client, password="wrong").status_int == 422
    page = log_in_page(limited, client, password=PASSWORD)  # right, but over the limit
    assert page.status_int == 429 and "Too many attempts" in page.text and int(page.headers["Retry-After"]) > 0
    # the same budget as POST /api/token/
    body = {"username": "alice", "password": PASSWORD}
    assert_error(limited.post_json("/api/token/", body, status=429), 429)


# CSRF and the ticket


def test_a_form_without_the_csrf_cookie_is_refused(app, wsgi_app, alice):
    client = register(app)
    page = app.get("/oauth/authorize", authorize_params(client))
    fields = {k: v[0].value for k, v in page.forms[0].fields.items() if k}
    fields.update(login="alice", password=PASSWORD)
    stranger = webtest.TestApp(wsgi_app)  # another browser: no cookie
    response = stranger.post("/oauth/authorize", fields, status=403)
    assert "expired or was not sent from this site" in response.text


@pytest.mark.parametrize("token", ["", "0" * 64, None])
def test_a_form_with_a_wrong_or_missing_csrf_field_is_refused(app, alice, token):
    client = register(app)
    page = app.get("/oauth/authorize", authorize_params(client))
    form = page.forms[0]
    form["login"], form["password"] = "alice", PASSWORD
    fields = {k: v[0].value for k, v in form.fields.items() if k}
    if token is None:
        del fields["csrf_token"]
    else:
        fields["csrf_token"] = token
    app.post("/oauth/authorize", fields, status=403)


def test_an_approve_ticket_works_only_with_its_own_cookie(app, wsgi_app, alice):
    client = register(app)
    approve = log_in_page(app, client)
    ticket = approve.forms[0]["ticket"].value
    other = webtest.TestApp(wsgi_app)  # the attacker's browser, with its own cookie and field
    own = other.get("/oauth/authorize", authorize_params(client)).forms[0]["csrf_token"].value
    fields = {"csrf_token": own, "step": "approve", "ticket": ticket, "decision": "approve"}
    response = other.post("/oauth/authorize", fields, status=400)
    assert "expired" in response.text


def test_a_forged_ticket_is_refused(app, alice):
    client = register(app)
    approve = log_in_page(app, client)
    form = approve.forms[0]
    form["ticket"] = form["ticket"].value[:-4] + "AAAA"
    assert "expired" in form.submit("decision", value="approve", status=400).text


# Tokens


def test_a_code_works_once(app, alice):
    client = register(app)
    code = authorize(app, client)
    exchange(app, client, code)
    assert_oauth_error(exchange(app, client, code, status=400), 400, "invalid_grant")


def _exchange_at_once(wsgi_app, client, code, n):
    """n exchanges of one code, released together: their statuses."""
    statuses, barrier = [], threading.Barrier(n)

    def run():
        barrier.wait()
        statuses.append(exchange(webtest.TestApp(wsgi_app), client, code, status="*").status_int)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(statuses)


def test_a_code_works_once_under_concurrent_exchanges(app, wsgi_app, alice):
    client = register(app)
    for _ in range(5):
        assert _exchange_at_once(wsgi_app, client, authorize(app, client), 4) == [200, 400, 400, 400]


def test_an_expired_code_is_refused(app, db, alice):
    client = register(app)
    code = authorize(app, client)
    with db.cursor() as cur:
        cur.execute("UPDATE oauth_codes SET expires_at = now() - interval '1 second'")
    assert_oauth_error(exchange(app, client, code, status=400), 400, "invalid_grant")


def test_a_code_lives_ten_minutes(app, db, alice):
    client = register(app)
    authorize(app, client)
    with db.cursor() as cur:
        cur.execute("SELECT extract(epoch FROM expires_at - now()) FROM oauth_codes")
        assert oauth.CODE_SECONDS - 60 < cur.fetchone()[0] <= oauth.CODE_SECONDS


def test_a_code_of_another_client_or_redirect_uri_is_refused(app, alice):
    client = register(app, redirect_uris=f"{OOB}\n{CALLBACK}")
    other = register(app)
    code = authorize(app, client)
    assert_oauth_error(exchange(app, other, code, status=400), 400, "invalid_grant")
    code = authorize(app, client)
    assert_oauth_error(exchange(app, client, code, redirect_uri=CALLBACK, status=400), 400, "invalid_grant")


@pytest.mark.parametrize("verifier", ["wrong", "w" * 43, None])
def test_pkce_a_wrong_or_missing_verifier_is_refused(app, alice, verifier):
    client = register(app)
    right, challenge = pkce()
    code = authorize(app, client, code_challenge=challenge, code_challenge_method="S256")
    extra = {} if verifier is None else {"code_verifier": verifier}
    assert_oauth_error(exchange(app, client, code, status=400, **extra), 400, "invalid_grant")
    # the failed attempt spent nothing: the rightful client still gets its token
    assert exchange(app, client, code, code_verifier=right).json["scope"] == "read"


def test_pkce_the_right_verifier_gets_the_token(app, alice):
    client = register(app)
    verifier, challenge = pkce()
    code = authorize(app, client, code_challenge=challenge, code_challenge_method="S256")
    token = exchange(app, client, code, code_verifier=verifier).json
    assert token["token_type"] == "Bearer" and token["scope"] == "read" and isinstance(token["created_at"], int)


@pytest.mark.parametrize("how", ["post", "basic"])
def test_a_wrong_client_secret_is_invalid_client(app, alice, how):
    client = register(app)
    code = authorize(app, client)
    if how == "post":
        response = exchange(app, client, code, status=401, client_secret="wrong")
    else:
        basic = base64.b64encode(f"{client['client_id']}:wrong".encode()).decode()
        body = {"grant_type": "authorization_code", "code": code, "redirect_uri": OOB}
        response = app.post("/oauth/token", body, headers={"Authorization": f"Basic {basic}"}, status=401)
    assert_oauth_error(response, 401, "invalid_client")


def test_http_basic_client_credentials_work(app, alice):
    client = register(app)
    code = authorize(app, client)
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": OOB}
    assert app.post("/oauth/token", body, headers={"Authorization": f"Basic {basic}"}).json["access_token"]


@pytest.mark.parametrize(
    "body, error",
    [
        ({"grant_type": "password", "username": "alice", "password": PASSWORD}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "x"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        ({"grant_type": "authorization_code"}, "invalid_request"),  # no code
        ({"grant_type": "client_credentials", "scope": "admin:read"}, "invalid_scope"),
        ({"grant_type": "client_credentials", "scope": "write"}, "invalid_scope"),  # outside the app's
    ],
)
def test_token_refusals(app, alice, body, error):
    client = register(app, scopes="read")
    body = {"client_id": client["client_id"], "client_secret": client["client_secret"], **body}
    response = app.post("/oauth/token", body, status=400)
    assert_oauth_error(response, 400, error)


def test_a_password_change_ends_mastodon_tokens_too(app, alice):
    _client, token = token_for(app)
    app.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=200)  # remembered now
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    app.post_json("/api/users/me/password/", body, headers=alice.headers, status=204)
    assert_mastodon_error(app.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=401), 401)


def test_a_password_reset_ends_mastodon_tokens_too(app, db, smtp, alice):  # noqa: F811
    _client, token = token_for(app)
    app.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=200)
    app.post_json("/api/password_reset/", {"email": "alice@example.com"}, status=202)
    reset = mailed_token(db, smtp, "password_reset_email")
    app.post_json("/api/password_reset/confirm/", {"token": reset, "new_password": NEW_PASSWORD}, status=204)
    assert_mastodon_error(app.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=401), 401)


def test_a_code_approved_before_a_password_change_is_dead(app, alice):
    client = register(app)
    code = authorize(app, client)
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    app.post_json("/api/users/me/password/", body, headers=alice.headers, status=204)
    assert_oauth_error(exchange(app, client, code, status=400), 400, "invalid_grant")


def test_a_deleted_account_s_tokens_end(app, alice):
    _client, token = token_for(app)
    app.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=200)
    app.delete_json("/api/users/me/", {"password": PASSWORD}, headers=alice.headers, status=204)
    assert_mastodon_error(app.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=401), 401)


# Revocation


def test_revoke_ends_a_token_and_answers_an_empty_object(app, alice):
    client, token = token_for(app)
    app.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=200)  # remembered now
    body = {"client_id": client["client_id"], "client_secret": client["client_secret"], "token": token}
    assert app.post("/oauth/revoke", body, status=200).json == {}
    assert_mastodon_error(app.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=401), 401)
    assert app.post("/oauth/revoke", body, status=200).json == {}  # idempotent
    assert app.post("/oauth/revoke", {**body, "token": "never issued"}, status=200).json == {}


def test_an_app_may_not_revoke_another_app_s_token(app, alice):
    _client, token = token_for(app)
    other = register(app)
    body = {"client_id": other["client_id"], "client_secret": other["client_secret"], "token": token}
    assert_oauth_error(app.post("/oauth/revoke", body, status=403), 403, "unauthorized_client")
    app.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=200)
    body["client_secret"] = "wrong"
    assert_oauth_error(app.post("/oauth/revoke", body, status=401), 401, "invalid_client")


# Scopes and tokens on the routes


@pytest.mark.parametrize(
    "scope, status",
    [
        ("read", 200),
        ("read:accounts", 200),
        ("profile", 200),
        ("read write follow push", 200),
        ("write", 403),
        ("read:statuses", 403),
        ("follow push", 403),
    ],
)
def test_a_token_lacking_the_scope_gets_403(app, alice, scope, status):
    _client, token = token_for(app, scope=scope)
    response = app.get("/api/v1/accounts/verify_credentials", headers=bearer(token), status=status)
    if status == 403:
        assert assert_mastodon_error(response, 403) == "This action is outside the authorized scopes"


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 5000])
def test_a_bad_token_gets_401_in_mastodon_s_shape(app, token):
    response = app.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"}, status=401)
    assert_mastodon_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_scope_rules():
    assert oauth.satisfies({"read"}, "read:statuses") and oauth.satisfies({"follow"}, "write:follows")
    assert not oauth.satisfies({"follow"}, "read:statuses") and not oauth.satisfies({"read:accounts"}, "read")
    assert not oauth.satisfies({"write"}, "read:accounts")


def test_an_app_token_names_its_app_and_no_account(app, alice):
    client = register(app, scopes="read write")
    body = {
        "grant_type": "client_credentials",
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
    }
    token = app.post("/oauth/token", body).json
    assert token["scope"] == "read"
    found = app.get("/api/v1/apps/verify_credentials", headers=bearer(token["access_token"])).json
    assert found["name"] == "Test App" and "client_secret" not in found
    response = app.get("/api/v1/accounts/verify_credentials", headers=bearer(token["access_token"]), status=422)
    assert assert_mastodon_error(response, 422) == "This method requires an authenticated user"


def test_native_tokens_work_on_the_mastodon_routes_and_not_the_other_way(app, alice):
    me = app.get("/api/v1/accounts/verify_credentials", headers=alice.headers).json
    assert me["username"] == "alice"
    _client, token = token_for(app)
    assert_error(app.get("/api/users/me/", headers=bearer(token), status=401), 401)


# Errors: Mastodon's shape on its routes, the native one elsewhere


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("GET", "/api/v1/no/such/route", 404),
        ("GET", "/api/v1/accounts/999999", 404),
        ("GET", "/api/v1/accounts/abc", 404),
        ("GET", "/api/v1/accounts/99999999999999999999999", 404),
        ("GET", "/api/v1/accounts/verify_credentials", 401),
        ("GET", "/api/v2/instance?x=%ff", 400),
        ("GET", "/api/v1/accounts/lookup", 422),
        ("POST", "/api/v1/apps", 422),
    ],
)
def test_mastodon_routes_answer_errors_in_mastodon_s_shape(app, method, path, status):
    assert_mastodon_error(app.request(path, method=method, status=status), status)


@pytest.mark.parametrize("path", [b"/api/v1/accounts/\xff", b"/oauth/\xac\xb4", b"/api/hashtags/\x80/favorite"])
def test_a_path_that_is_not_utf8_is_a_400_never_a_500(wsgi_app, path):
    """The error tween sits above the ingress: it reads the raw path, never decodes it."""
    status, _headers, body = raw_call(wsgi_app, "GET", path)
    assert status in (400, 404), body


def test_oauth_routes_answer_errors_in_oauth_s_shape(app):
    response = app.post("/oauth/token", "{not json", content_type="application/json", status=400)
    assert_oauth_error(response, 400, "invalid_request")
    response = app.post("/oauth/revoke", "x", content_type="text/plain", status=415)
    assert_oauth_error(response, 415, "invalid_request")


def test_native_routes_keep_their_error_shape(app):
    assert_error(app.get("/api/users/me/", status=401), 401)
    assert_error(app.get("/api/no/such/route", status=404), 404)


# Discovery and the instance


@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v1/instance/", "/api/v2/instance", "/api/v2/instance/"])
def test_the_instance_with_and_without_the_trailing_slash(app, path):
    instance = app.get(path, status=200).json
    assert re.match(r"^\d+\.\d+\.\d+ \(compatible; minitwitter [\d.]+\)$", instance["version"])
    config = instance["configuration"]
    assert config["statuses"]["max_characters"] == posts.MAX_TEXT == 280
    assert config["statuses"]["max_media_attachments"] == 1
    assert config["media_attachments"]["image_size_limit"] == media.MAX_IMAGE_BYTES
    assert config["media_attachments"]["image_matrix_limit"] == media.MAX_IMAGE_PIXELS
    assert set(config["media_attachments"]["supported_mime_types"]) == {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
    }
    if path.startswith("/api/v2"):
        assert instance["api_versions"] == {"mastodon": 2} and instance["domain"] == "localhost"
    else:
        assert instance["uri"] == "localhost"


def test_the_instance_counts_accounts_and_posts(make_app):
    fresh = make_app()  # its own minute of kept counts (instance.STATS_SECONDS)
    for name in ("ann", "ben"):
        user = signup(fresh, name)
    fresh.post_json("/api/posts/", {"text": "one"}, headers=user.headers, status=201)
    stats = fresh.get("/api/v1/instance").json["stats"]
    assert (stats["user_count"], stats["status_count"]) == (2, 1)
    assert fresh.get("/nodeinfo/2.0").json["usage"] == {"users": {"total": 2}, "localPosts": 1}


def test_discovery_documents_have_absolute_urls_from_public_url(make_app):
    public = make_app(public_url="https://social.example")
    meta = public.get("/.well-known/oauth-authorization-server").json
    assert meta["authorization_endpoint"] == "https://social.example/oauth/authorize"
    assert meta["token_endpoint"] == "https://social.example/oauth/token"
    assert meta["revocation_endpoint"] == "https://social.example/oauth/revoke"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "password" not in meta["grant_types_supported"] and "read:statuses" in meta["scopes_supported"]
    host_meta = public.get("/.well-known/host-meta")
    assert host_meta.content_type == "application/xrd+xml"
    assert 'template="https://social.example/.well-known/webfinger?resource={uri}"' in host_meta.text
    links = public.get("/.well-known/nodeinfo").json["links"]
    assert links == [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": "https://social.example/nodeinfo/2.0"}
    ]
    info = public.get("/nodeinfo/2.0").json
    assert info["version"] == "2.0" and info["software"]["name"] == "minitwitter"
    assert public.get("/api/v2/instance").json["configuration"]["urls"]["streaming"] == "wss://social.example"


def test_the_missing_avatar_is_an_image(app):
    response = app.get("/avatars/original/missing.png")
    assert response.content_type == "image/png" and response.body.startswith(b"\x89PNG")


# Accounts


def test_accounts_by_id_and_by_acct(app, alice):
    by_id = app.get(f"/api/v1/accounts/{alice['id']}").json
    assert by_id["id"] == str(alice["id"]) and by_id["acct"] == "alice" and "source" not in by_id
    assert by_id["url"] == "http://localhost/@alice" and by_id["uri"] == "http://localhost/users/alice"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", by_id["created_at"])
    for acct in ("alice", "@alice", "ALICE", "alice@localhost", "@alice@LOCALHOST"):
        assert app.get("/api/v1/accounts/lookup", {"acct": acct}).json == by_id
    for acct in ("alice@elsewhere.example", "nobody", "x" * 100):
        assert_mastodon_error(app.get("/api/v1/accounts/lookup", {"acct": acct}, status=404), 404)


def test_verify_credentials_has_the_source(app, alice):
    app.patch_json("/api/users/me/", {"display_name": "Alice", "bio": "<b>hi</b>\nthere"}, headers=alice.headers)
    _client, token = token_for(app)
    me = app.get("/api/v1/accounts/verify_credentials", headers=bearer(token)).json
    assert me["display_name"] == "Alice" and me["note"] == "<p>&lt;b&gt;hi&lt;/b&gt;<br>there</p>"
    assert me["source"]["note"] == "<b>hi</b>\nthere" and me["source"]["privacy"] == "public"
