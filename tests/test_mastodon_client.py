"""A real Mastodon client library, Mastodon.py (PyPI, the `test` extra), signs in to the
Mastodon face over a socket: it registers an app, a person logs in and approves on the
authorize pages (filled as a program would: fetch the page, read its form, post it), the
code is exchanged, and the client reads its account and the instance, then revokes.

The app is served by webtest's threaded waitress server on a free port, built with
public_url naming that port: the discovery document (RFC 8414) sends the client to it.
The whole journey (tests/mastodon_journey.py) is the one .ci/cluster runs through haproxy.
"""

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import PASSWORD
from mastodon import Mastodon, MastodonNotFoundError, MastodonUnauthorizedError
from mastodon_journey import Forms, journey, sign_in
from PIL import Image
from test_mastodon_oauth import pkce
from webtest.http import StopableWSGIServer

from minitwitter_tools.devservices import free_port

SCOPES = ["read", "write", "follow", "push"]
CALLBACK = "http://127.0.0.1:9/callback"  # never called: the redirect is read, not followed
OOB = "urn:ietf:wg:oauth:2.0:oob"


@pytest.fixture
def server(make_app):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(public_url=base).app
    server = StopableWSGIServer.create(app, port=port)
    assert server.wait()
    yield base
    server.shutdown()


def test_mastodon_py_signs_in_through_the_redirect_flow_and_revokes(server, make_user):
    alice = make_user("alice")
    client_id, client_secret = Mastodon.create_app(
        "journey", scopes=SCOPES, redirect_uris=CALLBACK, website="https://journey.example", api_base_url=server
    )
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server)
    url = api.auth_request_url(redirect_uris=CALLBACK, scopes=SCOPES, state="s-42", allow_http=True)
    assert url.startswith(f"{server}/oauth/authorize?") and "force_login=False" in url  # from the RFC 8414 document

    answer = sign_in(url, "alice", PASSWORD)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["s-42"]

    token = api.log_in(code=query["code"][0], redirect_uri=CALLBACK, scopes=SCOPES, allow_http=True)
    assert api.retrieve_mastodon_version() == "4.3.0" and api.mastodon_api_version == 2
    me = api.account_verify_credentials()
    assert str(me.id) == str(alice["id"]) and me.username == me.acct == "alice" and me.source.privacy == "public"
    assert str(api.account(me.id).id) == str(me.id) and api.account_lookup("alice").username == "alice"
    v1, v2 = api.instance_v1(), api.instance_v2()
    assert v1.configuration.statuses.max_characters == v2.configuration.statuses.max_characters == 280
    assert v2.configuration.statuses.max_media_attachments == 1

    api.revoke_access_token(allow_http=True)
    with pytest.raises(MastodonUnauthorizedError):
        Mastodon(access_token=token, api_base_url=server).account_verify_credentials()


def test_mastodon_py_signs_in_with_the_code_shown_on_a_page(server, make_user):
    make_user("bob")
    client_id, client_secret = Mastodon.create_app("oob", scopes=["read"], api_base_url=server)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server)
    page = sign_in(api.auth_request_url(scopes=["read"], allow_http=True), "bob@example.com", PASSWORD)
    assert page.status_code == 200
    code = Forms(page.text).inputs["code"]
    api.log_in(code=code, scopes=["read"], allow_http=True)
    assert api.account_verify_credentials().username == "bob"


def test_a_program_signs_in_with_pkce_over_http(server, make_user):
    """The flow of a public client (an app on a phone) with PKCE, by hand over HTTP."""
    make_user("carol")
    client = requests.post(
        f"{server}/api/v1/apps",
        json={"client_name": "pkce", "redirect_uris": [OOB], "scopes": "read write"},
        timeout=30,
    ).json()
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": client["client_id"],
        "redirect_uri": OOB,
        "scope": "read write",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    url = requests.Request("GET", f"{server}/oauth/authorize", params=params).prepare().url
    code = Forms(sign_in(url, "carol", PASSWORD).text).inputs["code"]
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client["client_id"],
        "client_secret": client["client_secret"],
        "redirect_uri": OOB,
        "code_verifier": verifier,
    }
    token = requests.post(f"{server}/oauth/token", data=body, timeout=30)
    assert token.status_code == 200 and token.headers["Cache-Control"] == "no-store"
    assert token.json()["scope"] == "read write"
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    me = requests.get(f"{server}/api/v1/accounts/verify_credentials/", headers=headers, timeout=30)
    assert me.status_code == 200 and me.json()["username"] == "carol"
    again = requests.post(f"{server}/oauth/token", data=body, timeout=30)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def signed_in(server, login, scopes=SCOPES):
    """A Mastodon.py client signed in as `login` (the redirect flow, as above)."""
    client_id, client_secret = Mastodon.create_app("client", scopes=scopes, redirect_uris=CALLBACK, api_base_url=server)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=server)
    url = api.auth_request_url(redirect_uris=CALLBACK, scopes=scopes, allow_http=True)
    code = parse_qs(urlsplit(sign_in(url, login, PASSWORD).headers["Location"]).query)["code"][0]
    api.log_in(code=code, redirect_uri=CALLBACK, scopes=scopes, allow_http=True)
    return api


def test_mastodon_py_posts_replies_favourites_boosts_bookmarks_and_deletes(server, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    a, b = signed_in(server, "alice"), signed_in(server, "bob")

    first = a.status_post("Hello #Fediverse, @bob & <friends>", idempotency_key="k-1")
    assert a.status_post("Hello #Fediverse, @bob & <friends>", idempotency_key="k-1").id == first.id  # a retry
    assert str(first.account.id) == str(alice["id"]) and first.visibility == "public"
    assert first.url == f"{server}/@alice/{first.id}" and first.uri == f"{server}/users/alice/statuses/{first.id}"
    assert "&lt;friends&gt;" in first.content and "&amp;" in first.content
    assert f'<a href="{server}/tags/fediverse" class="mention hashtag" rel="tag">#<span>Fediverse</span></a>' in (
        first.content
    )
    assert f'href="{server}/@bob" class="u-url mention"' in first.content
    assert [t.name for t in first.tags] == ["fediverse"] and [str(m.id) for m in first.mentions] == [str(bob["id"])]

    reply = b.status_post("@alice hi back", in_reply_to_id=first.id)
    assert str(reply.in_reply_to_id) == str(first.id) and str(reply.in_reply_to_account_id) == str(alice["id"])
    assert b.status_favourite(first.id).favourited is True
    boost = b.status_reblog(first.id)
    assert boost.reblog.id == first.id and str(boost.account.id) == str(bob["id"]) and boost.id != first.id
    assert b.status_bookmark(first.id).bookmarked is True
    heard = a.notifications()
    assert [n.type for n in heard] == ["reblog", "favourite", "mention"]
    assert heard[2].status.id == reply.id and all(n.account.username == "bob" for n in heard)
    assert [n.type for n in a.notifications(types=["favourite"])] == ["favourite"]
    a.notifications_dismiss(heard[0].id)
    assert [n.type for n in a.notifications()] == ["favourite", "mention"]
    a.notifications_clear()
    assert a.notifications() == []

    seen = b.status(first.id)
    assert (seen.favourites_count, seen.reblogs_count, seen.replies_count) == (1, 1, 1)
    assert seen.favourited and seen.reblogged and seen.bookmarked
    mine = a.status(first.id)  # the same counts, alice's own flags
    assert (mine.favourites_count, mine.reblogs_count, mine.replies_count) == (1, 1, 1)
    assert not (mine.favourited or mine.reblogged or mine.bookmarked)
    assert [acct.username for acct in a.status_favourited_by(first.id)] == ["bob"]
    assert [acct.username for acct in a.status_reblogged_by(first.id)] == ["bob"]
    assert [s.id for s in a.status_context(first.id).descendants] == [reply.id]
    assert [s.id for s in a.status_context(reply.id).ancestors] == [first.id]

    edited = a.status_update(first.id, "Hello again #edited")
    assert edited.edited_at is not None and [t.name for t in edited.tags] == ["edited"]
    assert b.status_unfavourite(first.id).favourited is False and b.status(first.id).favourites_count == 0
    assert b.status_unreblog(first.id).reblogged is False and b.status(first.id).reblogs_count == 0
    assert b.status_unbookmark(first.id).bookmarked is False

    gone = a.status_delete(first.id)
    assert gone.text == "Hello again #edited"
    with pytest.raises(MastodonNotFoundError):
        b.status(first.id)
    assert b.status(reply.id).in_reply_to_id == first.id  # the reply stays, naming what it answered


def test_mastodon_py_reads_timelines_and_walks_their_pages(server, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    a, b = signed_in(server, "alice"), signed_in(server, "bob")
    assert a.account_follow(bob["id"]).following is True
    assert a.account_relationships([bob["id"]])[0].following is True
    assert [acct.username for acct in b.account_followers(bob["id"])] == ["alice"]
    assert [acct.username for acct in b.account_following(alice["id"])] == ["bob"]
    own = a.status_post("mine #walk")
    theirs = [b.status_post(f"bob {i} #walk") for i in range(5)]
    boost = b.status_reblog(own.id)

    home = a.timeline_home(limit=3)
    assert [s.id for s in home] == [boost.id, theirs[4].id, theirs[3].id]  # newest first
    older = a.fetch_next(home)
    assert [s.id for s in older] == [theirs[2].id, theirs[1].id, theirs[0].id]
    # My own status is in my home timeline (as on Mastodon), but once, as on the native feed:
    # at bob's boost of it, not again below.
    assert a.fetch_next(older) is None
    assert [s.id for s in a.fetch_previous(older)] == [boost.id, theirs[4].id, theirs[3].id]
    newer = b.status_post("bob later #walk")
    assert [s.id for s in a.fetch_previous(home)] == [newer.id]  # a refresh: just what is new
    assert [s.id for s in a.timeline_home(since_id=theirs[3].id)] == [newer.id, boost.id, theirs[4].id]
    assert [s.id for s in a.timeline_home(min_id=theirs[0].id, limit=2)] == [theirs[2].id, theirs[1].id]

    tag = a.timeline_hashtag("Walk", limit=4)
    assert [s.id for s in tag] == [newer.id, *[s.id for s in reversed(theirs[2:])]]
    assert [s.id for s in a.fetch_next(tag)] == [theirs[1].id, theirs[0].id, own.id]
    back = a.fetch_previous(a.fetch_next(tag))  # the 4 just above the second page's first
    assert [s.id for s in back] == [newer.id, theirs[4].id, theirs[3].id, theirs[2].id]
    public = a.timeline_public(limit=40)
    assert [s.id for s in public] == [newer.id, *[s.id for s in reversed(theirs)], own.id]
    statuses = a.account_statuses(bob["id"])
    assert statuses[1].reblog.id == own.id and statuses[0].id == newer.id
    assert own.id not in [s.id for s in a.account_statuses(bob["id"], exclude_reblogs=True)]
    assert a.account_statuses(bob["id"], pinned=True) == []
    assert a.account_unfollow(bob["id"]).following is False
    assert [s.id for s in a.timeline_home()] == [own.id]  # no boost of it left in my home: the status


def test_mastodon_py_posts_with_an_image(server, make_user):
    make_user("alice"), make_user("bob")
    a, b = signed_in(server, "alice"), signed_in(server, "bob")
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "teal").save(buffer, "PNG")
    media = a.media_post(buffer.getvalue(), mime_type="image/png", description="A teal square")
    assert media.type == "image" and media.description == "A teal square"
    assert media.meta.original.width == 640 and media.url.startswith(f"{server}/media/")
    assert a.media_update(media, description="Teal").description == "Teal"
    assert a.media(media.id).description == "Teal"
    status = a.status_post("with a picture", media_ids=[media])
    [attached] = status.media_attachments
    assert attached.id == media.id and attached.description == "Teal"
    seen = b.status(status.id).media_attachments[0]
    image = Image.open(io.BytesIO(requests.get(seen.url, timeout=30).content))
    assert image.size == (640, 480)
    assert [s.id for s in b.account_statuses(status.account.id, only_media=True)] == [status.id]
    with pytest.raises(MastodonNotFoundError):
        a.media(media.id)  # in a status now: no longer an upload to change


def test_mastodon_py_searches_bookmarks_favourites_markers_and_follows_tags(server, make_user):
    make_user("alice"), make_user("bob"), make_user("alina")
    a, b = signed_in(server, "alice"), signed_in(server, "bob")
    first = b.status_post("trams of #Lisboa")
    second = b.status_post("more trams")

    found = a.search_v2("trams")
    assert [s.id for s in found.statuses] == [second.id, first.id]
    assert [t.name for t in a.search_v2("#lis", result_type="hashtags").hashtags] == ["lisboa"]
    assert [acct.username for acct in a.search_v2("@ali").accounts] == ["alice", "alina"]
    assert [acct.username for acct in a.account_search("bo")] == ["bob"]

    for status in (first, second):
        a.status_bookmark(status.id)
        a.status_favourite(status.id)
    assert [s.id for s in a.bookmarks()] == [second.id, first.id]
    page = a.favourites(limit=1)
    assert [s.id for s in page] == [second.id]
    assert [s.id for s in a.fetch_next(page)] == [first.id]

    heard = b.notifications()
    marked = b.markers_set(["home", "notifications"], [second.id, heard[0].id])
    assert marked.home.last_read_id == second.id and marked.notifications.last_read_id == heard[0].id
    assert b.markers_get(["home", "notifications"]).notifications.last_read_id == heard[0].id

    assert a.preferences()["posting:default:visibility"] == "public" and a.custom_emojis() == []
    assert a.tag_follow("Lisboa").following is True and a.tag("lisboa").following is True
    assert [t.name for t in a.followed_tags()] == ["lisboa"]
    assert a.tag_unfollow("lisboa").following is False and a.followed_tags() == []


def test_mastodon_py_updates_the_profile_with_an_avatar(server, make_user):
    make_user("alice")
    a = signed_in(server, "alice")
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), "navy").save(buffer, "PNG")
    me = a.account_update_credentials(
        display_name="Alice A.", note="Trams & tiles", avatar=buffer.getvalue(), avatar_mime_type="image/png"
    )
    assert me.display_name == "Alice A." and me.note == "<p>Trams &amp; tiles</p>"
    assert me.source.note == "Trams & tiles" and me.avatar.startswith(f"{server}/media/")
    assert Image.open(io.BytesIO(requests.get(me.avatar, timeout=30).content)).size == (96, 96)
    assert a.account_verify_credentials().display_name == "Alice A."


def test_mastodon_py_goes_the_whole_journey(server, app):
    """tests/mastodon_journey.py, as .ci/cluster runs it through haproxy: its own accounts."""
    made = journey(server)
    bob = app.post_json("/api/token/", {"username": made["bob"], "password": "journey-password-1"}).json["access"]
    headers = {"Authorization": f"Bearer {bob}"}
    app.get(f"/api/posts/{made['deleted']}/", headers=headers, status=404)
    assert app.get(f"/api/posts/{made['reply']}/", headers=headers).json["in_reply_to"] == int(made["deleted"])
