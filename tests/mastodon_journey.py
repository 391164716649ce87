"""The whole journey of a real Mastodon client library, Mastodon.py (PyPI, the `test` extra),
against any minitwitter: in-process (tests/test_mastodon_client.py), under `make run`, or
through `make cluster`'s haproxy (.ci/cluster), where each request may reach another API
process and reads go to a replica.

    .venv/bin/python tests/mastodon_journey.py http://127.0.0.1:6680

It signs up two people of its own through the native API (names unique to the run, so it
can run again on the same database), registers an app, signs both in by filling the
authorize pages' forms (as a program would: fetch the page, read its form, post it), and
posts with an image, replies, favourites, boosts, follows, reads the home and tag
timelines and the notifications, searches, walks pages next and previous, deletes and
revokes. Every check is an assert: the first that fails ends it (exit status 1).
"""

import io
import secrets
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from mastodon import Mastodon, MastodonNotFoundError, MastodonUnauthorizedError
from PIL import Image

SCOPES = ["read", "write", "follow", "push"]
CALLBACK = "http://127.0.0.1:9/callback"  # never called: the redirect is read, not followed
PASSWORD = "journey-password-1"


class Forms(HTMLParser):
    """The forms of a page: [{"action", "fields": {name: value}, "buttons": {name: [values]}}]."""

    def __init__(self, text):
        super().__init__()
        self.forms = []
        self.inputs = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": {}, "buttons": {}})
        elif tag == "input" and attrs.get("name"):
            if self.forms:
                self.forms[-1]["fields"][attrs["name"]] = attrs.get("value", "")
            self.inputs[attrs["name"]] = attrs.get("value", "")
        elif tag == "button" and attrs.get("name") and self.forms:
            self.forms[-1]["buttons"].setdefault(attrs["name"], []).append(attrs.get("value", ""))


def sign_in(url, login, password, decision="approve"):
    """What a person does in the browser, done by a program: the log-in form, then the
    approve form. The last response (a redirect, not followed, or the code's page)."""
    browser = requests.Session()
    page = browser.get(url, timeout=30)
    assert page.status_code == 200, page.text
    [form] = Forms(page.text).forms
    fields = {**form["fields"], "login": login, "password": password}
    page = browser.post(urljoin(url, form["action"]), data=fields, timeout=30)
    assert page.status_code == 200, page.text
    [form] = Forms(page.text).forms
    assert decision in form["buttons"]["decision"]
    return browser.post(
        urljoin(url, form["action"]), data={**form["fields"], "decision": decision}, allow_redirects=False, timeout=30
    )


def sign_up(base, username, password=PASSWORD):
    """An account made through the native API: its id."""
    body = {"email": f"{username}@example.com", "username": username, "password": password}
    made = requests.post(f"{base}/api/users/", json=body, timeout=30)
    assert made.status_code == 201, made.text
    return made.json()["id"]


def signed_in(base, login, password=PASSWORD, scopes=SCOPES, app=None):
    """A Mastodon.py client signed in as `login` through the redirect flow. `app`: the
    (client_id, client_secret) of an app registered already (one is made otherwise)."""
    client_id, client_secret = app or Mastodon.create_app(
        "journey", scopes=scopes, redirect_uris=CALLBACK, website="https://journey.example", api_base_url=base
    )
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base)
    url = api.auth_request_url(redirect_uris=CALLBACK, scopes=scopes, state="s-42", allow_http=True)
    assert url.startswith(f"{base}/oauth/authorize?"), url  # from the RFC 8414 document, through the proxy
    answer = sign_in(url, login, password)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["s-42"]
    api.log_in(code=query["code"][0], redirect_uri=CALLBACK, scopes=scopes, allow_http=True)
    return api


def journey(base, names=None):
    """The journey against `base` (no trailing slash); `names`: two usernames to sign up
    (unique ones otherwise). What it made, for a caller to check on the native side."""
    run = secrets.token_hex(4)
    alice_name, bob_name = names or (f"mpa{run}", f"mpb{run}")
    tag = f"journey{run}"
    alice_id, bob_id = sign_up(base, alice_name), sign_up(base, bob_name)

    app = Mastodon.create_app(
        "journey", scopes=SCOPES, redirect_uris=CALLBACK, website="https://journey.example", api_base_url=base
    )
    a, b = signed_in(base, alice_name, app=app), signed_in(base, f"{bob_name}@example.com", app=app)
    assert a.retrieve_mastodon_version() == "4.3.0" and a.mastodon_api_version == 2
    me = a.account_verify_credentials()
    assert str(me.id) == str(alice_id) and me.username == me.acct == alice_name
    assert b.instance_v2().configuration.statuses.max_characters == 280

    # Follow; a status with an image; a reply, a favourite, a boost.
    assert b.account_follow(alice_id).following is True
    assert b.account_relationships([alice_id])[0].following is True  # read on a replica after the write
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), "teal").save(buffer, "PNG")
    media = a.media_post(buffer.getvalue(), mime_type="image/png", description="A teal square")
    assert media.type == "image" and media.meta.original.width == 640 and media.url.startswith(f"{base}/media/")
    assert a.media_update(media, description="Teal").description == "Teal"
    first = a.status_post(f"Hello #{tag}, @{bob_name} & <friends>", media_ids=[media], idempotency_key=f"k-{run}")
    again = a.status_post(f"Hello #{tag}, @{bob_name} & <friends>", media_ids=[media], idempotency_key=f"k-{run}")
    assert again.id == first.id  # a retry through another process
    assert first.url == f"{base}/@{alice_name}/{first.id}" and "&lt;friends&gt;" in first.content
    assert [t.name for t in first.tags] == [tag] and [str(m.id) for m in first.mentions] == [str(bob_id)]
    [attached] = first.media_attachments
    assert attached.id == media.id and attached.description == "Teal"
    image = requests.get(b.status(first.id).media_attachments[0].url, timeout=30)
    assert image.status_code == 200 and Image.open(io.BytesIO(image.content)).size == (640, 480)

    reply = b.status_post(f"@{alice_name} hi back", in_reply_to_id=first.id)
    assert str(reply.in_reply_to_id) == str(first.id) and str(reply.in_reply_to_account_id) == str(alice_id)
    assert b.status_favourite(first.id).favourited is True
    boost = b.status_reblog(first.id)
    assert boost.reblog.id == first.id and str(boost.account.id) == str(bob_id)
    seen = b.status(first.id)
    assert (seen.favourites_count, seen.reblogs_count, seen.replies_count) == (1, 1, 1)
    assert seen.favourited and seen.reblogged
    assert [s.id for s in a.status_context(first.id).descendants] == [reply.id]

    # Bob's home: his boost shows alice's status once, at the boost (as the native feed does).
    assert [s.id for s in b.timeline_home(limit=40)] == [boost.id, reply.id]
    heard = a.notifications()
    assert [n.type for n in heard] == ["reblog", "favourite", "mention", "follow"], [n.type for n in heard]
    assert all(n.account.username == bob_name for n in heard) and heard[2].status.id == reply.id
    assert [n.type for n in a.notifications(types=["favourite"])] == ["favourite"]

    # Search: the status by its words, the tag, the account.
    assert [s.id for s in b.search_v2(f"hello {tag}", result_type="statuses").statuses] == [first.id]
    assert [t.name for t in b.search_v2(f"#{tag}", result_type="hashtags").hashtags] == [tag]
    assert [acct.username for acct in b.search_v2(f"@{alice_name}", result_type="accounts").accounts] == [alice_name]

    # Pages, through the Link header: next, and previous back.
    more = [a.status_post(f"page {i} #{tag}") for i in range(5)]
    everything = [s.id for s in b.timeline_home(limit=40)]
    assert everything == [*[s.id for s in reversed(more)], boost.id, reply.id]
    page = b.timeline_home(limit=3)
    walked = [s.id for s in page]
    pages = [page]
    while (page := b.fetch_next(page)) is not None and page:
        walked.extend(s.id for s in page)
        pages.append(page)
    assert walked == everything and [len(p) for p in pages] == [3, 3, 1]
    assert [s.id for s in b.fetch_previous(pages[1])] == [s.id for s in pages[0]]
    newer = a.status_post(f"newer #{tag}")
    assert [s.id for s in b.fetch_previous(pages[0])] == [newer.id]  # a refresh: just what is new
    tagged = b.timeline_hashtag(tag, limit=4)
    assert [s.id for s in tagged] == [newer.id, *[s.id for s in reversed(more[2:])]]
    assert [s.id for s in b.fetch_next(tagged)] == [more[1].id, more[0].id, first.id]

    # Undo, delete, revoke.
    assert b.status_unfavourite(first.id).favourited is False
    assert b.status_unreblog(first.id).reblogged is False
    assert a.status_delete(first.id).id == first.id
    try:
        b.status(first.id)
        raise AssertionError("a deleted status is still served")
    except MastodonNotFoundError:
        pass
    assert b.status(reply.id).in_reply_to_id == first.id  # the reply stays, naming what it answered
    assert b.account_unfollow(alice_id).following is False
    token = a.access_token
    a.revoke_access_token(allow_http=True)
    for _ in range(4):  # whichever process serves it: revoked at once in every one
        try:
            Mastodon(access_token=token, api_base_url=base).account_verify_credentials()
            raise AssertionError("a revoked token still works")
        except MastodonUnauthorizedError:
            pass
    assert str(b.account_verify_credentials().id) == str(bob_id), "another token of the app still works"
    return {"alice": alice_name, "bob": bob_name, "deleted": first.id, "reply": reply.id, "newer": newer.id}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} BASE (http://host:port of a minitwitter)")
    made = journey(sys.argv[1].rstrip("/"))
    print(f"Mastodon.py journey: ok {made}")
