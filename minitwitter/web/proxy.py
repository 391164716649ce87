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

The client's address (REMOTE_ADDR, which the per-address rate limits key on) comes from a
trusted peer's X-Forwarded-For: behind haproxy every request's peer is haproxy, and one
client's log-ins would count against everyone's. The right-most address of the list that
is not itself a trusted proxy is the client (what the proxies nearest the service added is
believed; what the client wrote at the left is not); a list with anything but addresses in
it is ignored whole. The peer stays in the environ as PEER.
"""

import functools
import ipaddress
import re

FORWARDED = "minitwitter.forwarded"  # in the environ: the request came through a trusted proxy
PEER = "minitwitter.peer"  # in the environ: the connection's address, when X-Forwarded-For replaced it
MAX_FORWARDED_FOR = 1024  # characters: a chain of a few dozen proxies at most
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
    return _among(peer, networks)


def _among(text, networks):
    """Whether an address is in one of the networks (not cached: X-Forwarded-For's addresses
    are the clients', too many to keep the peers' cache for)."""
    try:
        address = ipaddress.ip_address((text or "").split("%", 1)[0])
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def _address(text):
    """An address of X-Forwarded-For ("192.0.2.1", "2001:db8::1", "[2001:db8::1]") as its
    canonical text, or None."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _client(value, networks):
    """The client's address from a trusted peer's X-Forwarded-For, or None (absent, too
    long, or not a list of addresses): the right-most one not a trusted proxy, else the
    left-most (every hop was a proxy of ours)."""
    if not value or len(value) > MAX_FORWARDED_FOR:
        return None
    addresses = [_address(part) for part in value.split(",")]
    if not addresses or None in addresses:
        return None
    for address in reversed(addresses):
        if not _among(address, networks):
            return address
    return addresses[0]


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
            client = _client(environ.get("HTTP_X_FORWARDED_FOR", ""), self.networks)
            if client is not None:
                environ[PEER], environ["REMOTE_ADDR"] = environ.get("REMOTE_ADDR"), client
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
