"""Authentication: JWT access and refresh tokens (RFC 8725) and bcrypt passwords.

- One algorithm, HS256, pinned on decode; exp, iat, iss, aud, sub and a token type
  ("typ": "access" or "refresh") are required, so the two kinds never stand in for
  each other.
- An access token is verified from its claims alone: no database hit per request, and
  a token already verified is remembered until it expires (most requests come from a
  client that sent the same token a moment ago).
- Refresh tokens rotate; their state lives in the refresh_tokens table (views/auth.py).
"""

import datetime
import time
import uuid

import bcrypt
import jwt
from pyramid.security import Allowed, Denied

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
BCRYPT_MAX_BYTES = 72
VERIFIED_TOKENS_MAX = 10_000


class Tokens:
    def __init__(self, settings):
        self.secret = settings["jwt.secret"]
        self.issuer = settings["jwt.issuer"]
        self.audience = settings["jwt.audience"]
        self.access_ttl = settings["jwt.access_ttl"]
        self.refresh_ttl = settings["jwt.refresh_ttl"]
        self._verified = {}  # access token -> its claims, for tokens that passed decode()

    def _encode(self, user_id, typ, ttl, **extra):
        now = datetime.datetime.now(datetime.UTC)
        claims = {
            "sub": str(user_id),
            "typ": typ,
            "iat": now,
            "exp": now + datetime.timedelta(seconds=ttl),
            "iss": self.issuer,
            "aud": self.audience,
            **extra,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def access(self, user_id):
        return self._encode(user_id, ACCESS, self.access_ttl)

    def refresh(self, user_id, jti, family):
        return self._encode(user_id, REFRESH, self.refresh_ttl, jti=str(jti), fam=str(family))

    def refresh_expiry(self):
        return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=self.refresh_ttl)

    def decode(self, token, typ):
        """Return the claims of a valid token of type `typ`, or raise jwt.InvalidTokenError."""
        required = ["exp", "iat", "iss", "aud", "sub", "typ"]
        if typ == REFRESH:
            required += ["jti", "fam"]
        claims = jwt.decode(
            token,
            self.secret,
            algorithms=[ALGORITHM],
            audience=self.audience,
            issuer=self.issuer,
            options={"require": required},
        )
        if claims["typ"] != typ:
            raise jwt.InvalidTokenError(f"not an {typ} token")
        try:
            claims["user_id"] = int(claims["sub"])
            if typ == REFRESH:
                claims["jti"] = uuid.UUID(claims["jti"])
                claims["fam"] = uuid.UUID(claims["fam"])
        except (TypeError, ValueError) as e:
            raise jwt.InvalidTokenError("malformed claims") from e
        return claims

    def verify_access(self, token):
        """decode(token, ACCESS), remembered until the token expires."""
        claims = self._verified.get(token)
        if claims is None or claims["exp"] <= time.time():
            claims = self.decode(token, ACCESS)
            if len(self._verified) >= VERIFIED_TOKENS_MAX:
                self._verified.clear()  # bounded memory; the next requests verify again
            self._verified[token] = claims
        return claims

    @staticmethod
    def new_id():
        return uuid.uuid4()


class Passwords:
    def __init__(self, rounds):
        self.rounds = rounds
        # Login checks unknown users against this hash, so both paths cost one bcrypt.
        self.dummy_hash = self.hash("not a real password")

    def hash(self, password):
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.rounds)).decode()

    def check(self, password, password_hash):
        data = password.encode()
        if len(data) > BCRYPT_MAX_BYTES:
            return False
        return bcrypt.checkpw(data, (password_hash or self.dummy_hash).encode())


class JWTSecurityPolicy:
    """request.identity is the access token's claims, or None."""

    def identity(self, request):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            return request.registry.tokens.verify_access(token.strip())
        except jwt.InvalidTokenError as e:
            request.environ["minitwitter.auth_error"] = f"Invalid token: {e}"
            return None

    def authenticated_userid(self, request):
        identity = request.identity
        return identity["user_id"] if identity else None

    def permits(self, request, context, permission):
        if request.identity is not None:
            return Allowed("authenticated")
        return Denied("authentication required")

    def remember(self, request, userid, **kw):
        return []

    def forget(self, request, **kw):
        return []


def includeme(config):
    settings = config.registry.settings
    config.registry.tokens = Tokens(settings)
    config.registry.passwords = Passwords(settings["bcrypt.rounds"])
    config.set_security_policy(JWTSecurityPolicy())
    # Secure by default: every view needs a valid access token unless it says otherwise.
    config.set_default_permission("authenticated")
