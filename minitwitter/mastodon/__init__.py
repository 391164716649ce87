"""The Mastodon face: a subset of Mastodon's client API (docs/MASTODON.md) beside the
native one, on the same processes, over the same domain functions and named SQL.

    errors.py    Mastodon's error shapes on its routes (a tween over the shared ingress)
    common.py    absolute URLs, input as Mastodon clients send it, scope checks
    oauth.py     apps, the authorize pages (pages.py: CSRF, ticket), tokens, revocation
    instance.py  instance v1/v2, host-meta, NodeInfo, RFC 8414 metadata
    accounts.py  verify_credentials, update_credentials, lookup, an account
    statuses.py  post, read, edit, delete; context; favourite, reblog, bookmark; who did
    relationships.py  follow, block, mute and undo; relationships; followers, following
    notifications.py  the native notifications in Mastodon's types; dismiss, clear
    timelines.py home, public, tag timelines; an account's statuses
    media.py     uploads ahead of a status: post, read, describe
    search.py    accounts, hashtags and statuses, over the native search
    lists.py     bookmarks, favourites, markers, preferences, custom emojis, followed tags
    reports.py   file a report (the native one: domain/reports.py)
    paging.py    Mastodon's pages: max_id, since_id, min_id, limit; the Link header
    entities.py  Mastodon's entities from minitwitter's rows (and their schemas)
    openapi.py   the face in /api/openapi.json (tag "Mastodon"), from what each view declares

Its OAuth tokens authenticate requests to /api/v1/ and /api/v2/ through the shared security
policy (web/security.py), beside the native JWTs. Routes are declared without a trailing
slash: the ingress drops one, so /api/v1/instance/ is the same route. A method a route has
no view for is a 405 (errors.method_not_allowed, added to every route below).

A new route, documented (the app refuses to start while a view of ROUTES declares nothing,
and tests/test_openapi.py checks every route and method is in the document):

1. add it to ROUTES (`("mastodon_lists", "/api/v1/lists")`);
2. give its view_config `openapi=Operation(...)` (openapi.py): a summary, the success's
   schema (an entity's ref, `array(ref)`), the scope (None: public), `query=` and `body=`
   as JSON Schemas (openapi.ID_IN for an id, FLAG for a boolean, an array schema for
   `name[]`), `page=True` for a Mastodon page, `errors=` beyond the rules (a path id: 404;
   a token: 401, 403, 422; a write: 429). A route whose path parameter is one of a few words
   (`{action:...}`) takes `openapi=Each("action", {word: Operation(...)})`;
3. a new entity: `NAME = entity("Name", "what it is", field=schema, ...)` beside the function
   that builds it (entities.py); every field required, no other: the test suite checks every
   answer it sees against the document (tests/documented.py);
4. run .ci/schemathesis (it reads the document: no list to update), and mind
   schemathesis.toml if a rule of the route cannot be stated in the document.
"""

from pyramid.security import NO_PERMISSION_REQUIRED

from minitwitter.mastodon.errors import method_not_allowed

ROUTES = [
    ("mastodon_apps", "/api/v1/apps"),
    ("mastodon_app_credentials", "/api/v1/apps/verify_credentials"),
    ("mastodon_authorize", "/oauth/authorize"),
    ("mastodon_token", "/oauth/token"),
    ("mastodon_revoke", "/oauth/revoke"),
    ("mastodon_instance_v1", "/api/v1/instance"),
    ("mastodon_instance_v2", "/api/v2/instance"),
    ("mastodon_host_meta", "/.well-known/host-meta"),
    ("mastodon_nodeinfo_links", "/.well-known/nodeinfo"),
    ("mastodon_nodeinfo", "/nodeinfo/2.0"),
    ("mastodon_oauth_metadata", "/.well-known/oauth-authorization-server"),
    ("mastodon_missing_image", "/avatars/original/missing.png"),
    ("mastodon_verify_credentials", "/api/v1/accounts/verify_credentials"),
    ("mastodon_account_lookup", "/api/v1/accounts/lookup"),
    ("mastodon_relationships", "/api/v1/accounts/relationships"),
    ("mastodon_account_search", "/api/v1/accounts/search"),
    ("mastodon_update_credentials", "/api/v1/accounts/update_credentials"),
    ("mastodon_account", "/api/v1/accounts/{id}"),
    ("mastodon_account_action", "/api/v1/accounts/{id}/{action:(?:un)?(?:follow|block|mute)}"),
    ("mastodon_account_follows", "/api/v1/accounts/{id}/{list:followers|following}"),
    ("mastodon_account_statuses", "/api/v1/accounts/{id}/statuses"),
    ("mastodon_notifications", "/api/v1/notifications"),
    ("mastodon_notifications_clear", "/api/v1/notifications/clear"),
    ("mastodon_notification", "/api/v1/notifications/{id}"),
    ("mastodon_notification_dismiss", "/api/v1/notifications/{id}/dismiss"),
    ("mastodon_timeline_home", "/api/v1/timelines/home"),
    ("mastodon_timeline_public", "/api/v1/timelines/public"),
    ("mastodon_timeline_tag", "/api/v1/timelines/tag/{hashtag}"),
    ("mastodon_statuses", "/api/v1/statuses"),
    ("mastodon_status", "/api/v1/statuses/{id}"),
    ("mastodon_status_context", "/api/v1/statuses/{id}/context"),
    ("mastodon_status_action", "/api/v1/statuses/{id}/{action:(?:un)?(?:favourite|reblog|bookmark)}"),
    ("mastodon_status_accounts", "/api/v1/statuses/{id}/{list:favourited_by|reblogged_by}"),
    ("mastodon_media_v1", "/api/v1/media"),
    ("mastodon_media_v2", "/api/v2/media"),
    ("mastodon_media", "/api/v1/media/{id}"),
    ("mastodon_search", "/api/v2/search"),
    ("mastodon_bookmarks", "/api/v1/bookmarks"),
    ("mastodon_favourites", "/api/v1/favourites"),
    ("mastodon_markers", "/api/v1/markers"),
    ("mastodon_preferences", "/api/v1/preferences"),
    ("mastodon_custom_emojis", "/api/v1/custom_emojis"),
    ("mastodon_followed_tags", "/api/v1/followed_tags"),
    ("mastodon_tag", "/api/v1/tags/{name}"),
    ("mastodon_tag_follow", "/api/v1/tags/{name}/{action:follow|unfollow}"),
    ("mastodon_reports", "/api/v1/reports"),
]


def includeme(config):
    for name, pattern in ROUTES:
        config.add_route(name, pattern)
        # A method no view of the route takes: 405 (the views, with a request_method, come first).
        config.add_view(method_not_allowed, route_name=name, permission=NO_PERMISSION_REQUIRED)
    # Over the transaction's tween: every error body made below it (its 503 too) is rewritten.
    config.add_tween(
        "minitwitter.mastodon.errors.tween_factory",
        over="minitwitter.web.transaction.tween_factory",
        under="minitwitter.web.observability.tween_factory",
    )
    config.include(".instance")  # its counts, kept a minute per app
    config.include(".openapi")  # its operations in /api/openapi.json, from what each view declares
    config.scan(__name__)
