"""Rate limits in Redis (fixed windows), with Mastodon's figures as defaults:

    ratelimit.login  = 25/300    per IP and per account   (POST /api/token/)
    ratelimit.signup = 5/1800    per IP                    (POST /api/users/)
    ratelimit.writes = 300/300   per account               (any authenticated write)
    ratelimit.password_reset = 5/900  per IP and per email (POST /api/password_reset/)

Every password check counts against the account's log-in limit: a log-in, a password change
(its current_password) and an account deletion (its password) share one count per account,
so no route guesses a password faster than log-in does. A key made of a username or an
email is folded as the account lookups fold it (domain/accounts.py: limit_key, PostgreSQL's
lower()), so no spelling that finds an account is counted apart from it.

Over a limit: 429 with Retry-After; every limited answer carries X-RateLimit-Limit,
-Remaining and -Reset. Redis down: the limiter fails open (and logs), since refusing
every login because a cache is away would be worse than a burst getting through.
"""

import logging
import math
import time

from pyramid.httpexceptions import HTTPTooManyRequests

from minitwitter.web.errors import http_error

log = logging.getLogger(__name__)

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def parse(value):
    """ "25/300" -> (25, 300): so many requests per so many seconds."""
    count, seconds = (int(part) for part in str(value).split("/"))
    if count < 1 or seconds < 1:
        raise ValueError(f"bad rate limit {value!r}: want N/SECONDS")
    return count, seconds


def check(request, name, subject):
    """Count one request of `subject` against limit `name`; raise a 429 when over it."""
    if request.environ.get("retry.attempt"):  # a deadlocked write run again (db.py): counted once
        request.response.headers.update(request.environ.get("minitwitter.ratelimit", {}))
        return
    count_limit, seconds = parse(request.registry.settings[f"ratelimit.{name}"])
    now = time.time()
    window = int(now // seconds)
    count = request.registry.cache.hit_window(f"rl:{name}:{subject}:{window}", seconds)
    if count is None:
        log.warning("rate limit %s not checked (Redis unavailable): failing open", name)
        return
    reset = (window + 1) * seconds
    headers = {
        "X-RateLimit-Limit": str(count_limit),
        "X-RateLimit-Remaining": str(max(0, count_limit - count)),
        "X-RateLimit-Reset": str(reset),
    }
    if count > count_limit:
        retry = max(1, math.ceil(reset - now))
        raise http_error(
            429, f"Too many requests ({name}); retry in {retry} s", headers={**headers, "Retry-After": str(retry)}
        )
    request.response.headers.update(headers)
    request.environ["minitwitter.ratelimit"] = headers  # the environ: what a retry's fresh request shares


def tween_factory(handler, registry):
    def limit_writes(request):
        if request.method in WRITE_METHODS and request.identity is not None:
            try:
                check(request, "writes", request.identity["user_id"])
            except HTTPTooManyRequests as response:  # answered here, above the exception views
                return response
        return handler(request)

    return limit_writes


def includeme(config):
    for name in ("login", "signup", "writes", "password_reset"):
        parse(config.registry.settings[f"ratelimit.{name}"])  # refuse to start on a typo
    config.add_tween("minitwitter.web.ratelimit.tween_factory", under="minitwitter.web.ingress.tween_factory")
