"""The authorize pages: plain HTML forms that work without JavaScript, in a popup or a full
page, and what keeps them safe.

- CSRF (double submit, signed): the first page sets a random cookie (`mt_oauth_csrf`,
  HttpOnly, SameSite=Lax, Path=/oauth); each form carries its HMAC (jwt.secret's key); a POST
  without the cookie or with another value is refused (403). A page of another site can
  neither read the cookie nor forge the field.
- The ticket: after the log-in form, the approve form carries a signed ticket (a JWT of its
  own type and audience, never an access token) naming the account, its session generation,
  the authorize request and the CSRF cookie, for 10 minutes: approving needs no session
  kept on the server.
- No-store, no framing (clickjacking of the approve button), no referrer; no
  Cross-Origin-Opener-Policy: a client opening the page in a popup keeps window.opener.
"""

import datetime
import hashlib
import hmac
import html
import secrets

import jwt
from pyramid.response import Response

from minitwitter.domain.oauth import CODE_SECONDS

CSRF_COOKIE = "mt_oauth_csrf"
CSRF_FIELD = "csrf_token"
TICKET_TYPE = "oauth_ticket"
# The authorize request's parameters a form carries from page to page.
CARRIED = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")
HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    # No form-action: browsers apply it to the redirect after the approve form, which goes
    # to the app's redirect_uri (any origin, or an app's own scheme).
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _key(request, purpose):
    return hmac.new(request.registry.settings["jwt.secret"].encode(), purpose.encode(), hashlib.sha256).digest()


# CSRF


def csrf_cookie(request):
    """(the request's CSRF cookie if it is one of ours, else a new one that page() sets; new?)"""
    if getattr(request, "oauth_csrf", None) is None:
        value = request.cookies.get(CSRF_COOKIE, "")
        ours = 32 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum()
        request.oauth_csrf = (value, False) if ours else (secrets.token_urlsafe(32), True)
    return request.oauth_csrf


def csrf_field(request, cookie):
    return hmac.new(_key(request, "oauth-csrf"), cookie.encode(), hashlib.sha256).hexdigest()


def csrf_holds(request, field):
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not isinstance(field, str):
        return False
    return hmac.compare_digest(csrf_field(request, cookie), field)


# The ticket between the log-in and the approve forms


def _ticket_audience(request):
    return request.registry.settings["jwt.audience"] + "-oauth-ticket"


def make_ticket(request, user_id, generation, params):
    now = datetime.datetime.now(datetime.UTC)
    claims = {
        "typ": TICKET_TYPE,
        "sub": str(user_id),
        "gen": generation,
        "req": {k: params.get(k) for k in CARRIED},
        "csrf": hashlib.sha256(request.cookies.get(CSRF_COOKIE, "").encode()).hexdigest(),
        "iat": now,
        "exp": now + datetime.timedelta(seconds=CODE_SECONDS),
        "iss": request.registry.settings["jwt.issuer"],
        "aud": _ticket_audience(request),
    }
    return jwt.encode(claims, request.registry.settings["jwt.secret"], algorithm="HS256")


def read_ticket(request, ticket):
    """(user id, generation, the authorize request's params), or None for a ticket that is
    not ours, expired, or made under another CSRF cookie."""
    settings = request.registry.settings
    try:
        claims = jwt.decode(
            ticket or "",
            settings["jwt.secret"],
            algorithms=["HS256"],
            audience=_ticket_audience(request),
            issuer=settings["jwt.issuer"],
            options={"require": ["exp", "iat", "iss", "aud", "sub", "typ"]},
        )
        cookie = hashlib.sha256(request.cookies.get(CSRF_COOKIE, "").encode()).hexdigest()
        if claims["typ"] != TICKET_TYPE or not hmac.compare_digest(claims["csrf"], cookie):
            return None
        return int(claims["sub"]), int(claims["gen"]), dict(claims["req"])
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
        return None


# Pages

STYLE = """body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#222}
label{display:block;margin:.8rem 0 .2rem}
input[type=text],input[type=password]{width:100%;padding:.4rem;box-sizing:border-box}
button{margin:1rem .5rem 0 0;padding:.5rem 1rem}.error{color:#a00;border:1px solid #a00;padding:.5rem}
code,input.code{font-family:monospace;font-size:1.1rem;width:100%}"""


def page(request, title, body, status=200, headers=None):
    """An HTML page with the pages' headers, (re)setting the CSRF cookie when it is new."""
    text = (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )
    response = Response(text, status=status, content_type="text/html", charset="utf-8")
    response.headers.update({**HEADERS, **(headers or {})})
    cookie, new = csrf_cookie(request)
    if new:
        response.set_cookie(
            CSRF_COOKIE,
            cookie,
            path="/oauth",
            httponly=True,
            samesite="Lax",
            secure=request.scheme == "https",
            max_age=3600,
        )
    return response


def _hidden(name, value):
    return f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'


def _carried(params):
    return "".join(_hidden(k, params[k]) for k in CARRIED if params.get(k) is not None)


def _error(message):
    return f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""


def login_page(request, app, params, error=None, login="", status=200, headers=None):
    cookie, _ = csrf_cookie(request)
    body = (
        f"<p><strong>{html.escape(app['name'])}</strong> asks to use your minitwitter account. "
        "Log in first.</p>"
        f"{_error(error)}"
        '<form method="post" action="/oauth/authorize">'
        f"{_hidden(CSRF_FIELD, csrf_field(request, cookie))}{_hidden('step', 'login')}{_carried(params)}"
        '<label for="login">Username or email</label>'
        f'<input type="text" id="login" name="login" value="{html.escape(login)}" autocomplete="username" required>'
        '<label for="password">Password</label>'
        '<input type="password" id="password" name="password" autocomplete="current-password" required>'
        '<button type="submit">Log in</button></form>'
    )
    return page(request, "Log in", body, status, headers)


def approve_page(request, app, params, username, scopes, ticket):
    cookie, _ = csrf_cookie(request)
    items = "".join(f"<li><code>{html.escape(s)}</code></li>" for s in scopes)
    body = (
        f"<p><strong>{html.escape(app['name'])}</strong> would like to use the account "
        f"<strong>@{html.escape(username)}</strong> with these permissions:</p><ul>{items}</ul>"
        '<form method="post" action="/oauth/authorize">'
        f"{_hidden(CSRF_FIELD, csrf_field(request, cookie))}{_hidden('step', 'approve')}"
        f"{_hidden('ticket', ticket)}"
        '<button type="submit" name="decision" value="approve">Authorize</button>'
        '<button type="submit" name="decision" value="deny">Deny</button></form>'
    )
    return page(request, "Authorize " + app["name"], body)


def code_page(request, app, code):
    body = (
        f"<p>Copy this code and paste it into <strong>{html.escape(app['name'])}</strong>:</p>"
        f'<p><input class="code" id="code" name="code" type="text" readonly value="{html.escape(code)}"></p>'
    )
    return page(request, "Authorization code", body)


def error_page(request, message, status=400, headers=None):
    return page(request, "Cannot authorize", _error(message), status, headers)
