"""Behind a proxy: the address people use, from the proxy's X-Forwarded-Proto and
X-Forwarded-Host, when the peer is one of `proxy.trusted` (loopback by default).

A TLS proxy in front (`make run`'s https port, haproxy in production) talks plain HTTP to
the service, so the service cannot tell from the connection that its clients asked for
https://host:port. The proxy says so in those headers, and this WSGI middleware, the
outermost, puts them where everything below reads the request's address (wsgi.url_scheme,
HTTP_HOST): the native face's absolute URLs (request.application_url), the Mastodon face's
(public_base below, instead of `public_url`), the cookies' Secure flag, the caches' keys.
From any other peer these headers (and X-Forwarded-For, -Port, -By, Forwarded) are removed
before anything reads them: a client cannot choose the URLs others are sent. (waitress,
which would drop them from every peer, lets them through to here: web/server.py.)
"""

import functools
import ipaddress
import re

FORWARDED = "minitwitter.forwarded"  # in the environ: the request came through a trusted proxy
# Removed from an untrusted peer's request, as waitress would (web/server.py lets them through).
_HEADERS = tuple(
    f"HTTP_{name}"
    for name in (
        "X_FORWARDED_PROTO",
        "X_FORWARDED_HOST",
        "X_FORWARDED_FOR",
        "X_FORWARDED_PORT",
        "X_FORWARDED_BY",
        "FORWARDED",
    )
)
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
)


@functools.lru_cache(maxsize=4096)  # the peers are few (proxies, load balancers): parsed once each
def _trusted(peer, networks):
    try:
        address = ipaddress.ip_address((peer or "").split("%", 1)[0])
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def _first(value):
    """The first of a list a chain of proxies made ("https, http"): the one nearest the client."""
    return value.split(",", 1)[0].strip()


class ForwardedHeaders:
    def __init__(self, app, networks):
        self.app, self.networks = app, tuple(networks)
        self.registry = getattr(app, "registry", None)

    def __call__(self, environ, start_response):
        if _trusted(environ.get("REMOTE_ADDR"), self.networks):
            proto = _first(environ.get("HTTP_X_FORWARDED_PROTO", "")).lower()
            host = _first(environ.get("HTTP_X_FORWARDED_HOST", ""))
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
                environ[FORWARDED] = True
            if host and len(host) <= 261 and _HOST.fullmatch(host):
                environ["HTTP_HOST"] = host
                environ[FORWARDED] = True
        else:
            for name in _HEADERS:
                environ.pop(name, None)
        return self.app(environ, start_response)


def public_base(request):
    """The service's address for absolute URLs the clients follow: the address the request
    was made to when a trusted proxy said it, else the `public_url` setting."""
    if request.environ.get(FORWARDED):
        return request.application_url
    return request.registry.settings["public_url"].rstrip("/")
