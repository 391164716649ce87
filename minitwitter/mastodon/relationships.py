"""Follows, blocks and mutes (docs.joinmastodon.org/methods/accounts), over the native
writes (domain/follows.py, domain/safety.py):

POST /api/v1/accounts/:id/follow, unfollow       write:follows   a Relationship
POST /api/v1/accounts/:id/block, unblock         write:blocks    a Relationship
POST /api/v1/accounts/:id/mute, unmute           write:mutes     a Relationship
GET  /api/v1/accounts/relationships?id[]=        read:follows    Relationships, in the order asked
GET  /api/v1/accounts/:id/followers, following   read:accounts   Accounts, newest follow first,
                                                                 paged by max_id (Link header)

(The legacy `follow` scope covers the follows, blocks and mutes: domain/oauth.satisfies.)
Relationships and the lists are read from PostgreSQL each time, as the native lists are.
"""

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from minitwitter.domain import Invalid, follows, safety
from minitwitter.domain.credentials import MAX_USER_ID
from minitwitter.domain.profiles import suspended
from minitwitter.mastodon import entities
from minitwitter.mastodon.accounts import user_id_or_404
from minitwitter.mastodon.common import LANGUAGE, flag, id_list, param_list, require
from minitwitter.mastodon.entities import ACCOUNT
from minitwitter.mastodon.errors import MastodonError
from minitwitter.mastodon.openapi import BOOL, FLAG, ID, Each, Operation, array, entity, nullable
from minitwitter.mastodon.paging import link_header, read_window
from minitwitter.web.pagination import MAX_KEY

VIEW = {"permission": NO_PERMISSION_REQUIRED, "renderer": "json"}
ACTIONS = {
    "follow": (follows.follow, "write:follows"),
    "unfollow": (follows.unfollow, "write:follows"),
    "block": (safety.block, "write:blocks"),
    "unblock": (safety.unblock, "write:blocks"),
    "mute": (safety.mute, "write:mutes"),
    "unmute": (safety.unmute, "write:mutes"),
}
MAX_IDS = 40  # ids a relationships request may ask about


RELATIONSHIP = entity(
    "Relationship",
    "How I stand with an account",
    id=ID,
    following=BOOL,
    showing_reblogs=BOOL,
    notifying=BOOL,
    languages=nullable({"type": "array", "items": {"type": "string"}}),
    followed_by=BOOL,
    blocking=BOOL,
    blocked_by=BOOL,
    muting=BOOL,
    muting_notifications=BOOL,
    requested=BOOL,
    requested_by=BOOL,
    domain_blocking=BOOL,
    endorsed=BOOL,
    note={"type": "string"},
)
# What Mastodon.py and others send with a follow: accepted, not kept.
FOLLOW_BODY = {
    "reblogs": FLAG,
    "notify": FLAG,
    "languages": {"type": ["array", "null"], "items": {"type": "string", "pattern": f"^{LANGUAGE.pattern}$"}},
}


def relationship(row):
    """The Relationship entity of a relationships row (sql/mastodon.sql)."""
    return {
        "id": str(row["id"]),
        "following": row["following"],
        "showing_reblogs": row["following"],
        "notifying": False,
        "languages": None,
        "followed_by": row["followed_by"],
        "blocking": row["blocking"],
        "blocked_by": row["blocked_by"],
        "muting": row["muting"],
        "muting_notifications": row["muting"],
        "requested": False,
        "requested_by": False,
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


def relationships(request, me, ids):
    """A suspended account is left out, as an unknown one (Mastodon's way)."""
    banned = set(suspended(request.tx))
    rows = request.queries.mastodon.relationships(request.db, viewer_id=me, ids=[i for i in ids if i not in banned])
    return [relationship(r) for r in rows]


@view_config(
    route_name="mastodon_account_action",
    request_method="POST",
    openapi=Each(
        "action",
        {
            name: Operation(
                f"{name.capitalize()} an account: the relationship",
                RELATIONSHIP,
                scope,
                body=FOLLOW_BODY if name == "follow" else {},
                errors={403, 404, 422},  # across a block; no such account; yourself
            )
            for name, (_write, scope) in ACTIONS.items()
        },
    ),
    **VIEW,
)
def action(request):
    write, scope = ACTIONS[request.matchdict["action"]]
    me = require(request, scope)["user_id"]
    user_id = user_id_or_404(request)
    if request.matchdict["action"] == "follow":  # accepted, not kept: refused when not what they must be
        flag(request, "reblogs")
        flag(request, "notify")
        if any(not LANGUAGE.fullmatch(code) for code in param_list(request, "languages")):
            raise MastodonError(422, "Validation failed: languages must be ISO 639 codes")
    try:
        write(request.tx, me, user_id)
    except Invalid as e:  # yourself
        raise MastodonError(422, f"Validation failed: {e.message}") from e
    return relationships(request, me, [user_id])[0]


@view_config(
    route_name="mastodon_relationships",
    request_method="GET",
    openapi=Operation(
        "My relationships with these accounts, in the order asked (unknown ids left out)",
        array(RELATIONSHIP),
        "read:follows",
        # As on Mastodon, an id that is no account's (not digits, too large) is left out: any text.
        query={"id": {"type": "array", "items": {"type": ["string", "integer"]}, "maxItems": MAX_IDS}},
    ),
    **VIEW,
)
def list_relationships(request):
    me = require(request, "read:follows")["user_id"]
    raw = id_list(request, "id")
    if len(raw) > MAX_IDS:
        raise MastodonError(422, f"Validation failed: id[] takes at most {MAX_IDS} ids")
    ids = [int(i) for i in raw if i.isascii() and i.isdigit() and 0 < int(i) <= MAX_USER_ID]
    return relationships(request, me, list(dict.fromkeys(ids)))  # unknown ids: left out, as Mastodon does


@view_config(
    route_name="mastodon_account_follows",
    request_method="GET",
    openapi=Each(
        "list",
        {
            name: Operation(f"An account's {name}, newest follow first", array(ACCOUNT), "read:accounts", page=True)
            for name in ("followers", "following")
        },
    ),
    **VIEW,
)
def list_follows(request):
    me = require(request, "read:accounts")["user_id"]
    user_id = user_id_or_404(request)
    window = read_window(request)
    q = request.queries.follows
    query = q.list_followers if request.matchdict["list"] == "followers" else q.list_following
    rows = list(
        query(
            request.db, user_id=user_id, viewer_id=me, before=window.max_id or MAX_KEY, offset=0, limit=window.limit + 1
        )
    )
    page = rows[: window.limit]
    link_header(request, [r["key"] for r in page], more=len(rows) > window.limit)
    banned = set(suspended(request.tx))  # as the native followers and following
    return [entities.account(request, r) for r in page if r["id"] not in banned]
