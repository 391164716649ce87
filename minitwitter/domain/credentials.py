"""Credentials: JWT access and refresh tokens (RFC 8725) and bcrypt passwords.

- One algorithm, HS256, pinned on decode; exp, iat, iss, aud, sub and a token type
  ("typ": "access" or "refresh") are required, so the two kinds never stand in for
  each other.
- An access token is verified from its claims, and its account once: the account must
  exist and be in the session generation the token carries (claim `gen`; a password
  change or reset adds one, users.session_generation), and not be suspended (domain/
  moderation.py: the token answers 401 "This account is suspended"). A token verified is remembered
  until it expires (most requests come from a client that sent the same token a moment
  ago), and its account checked again at most every jwt.recheck_seconds (5): so after a
  password change, a reset, a suspension or a deletion, the account's access tokens stop working at once
  in the process that made the change (forget_user), at once in every other one that hears
  the bump of freshness.session(id) (its near cache's tracking connection: `sessions`
  below), and within that interval in one that does not: one indexed lookup per token,
  process and interval, none per request.
- Refresh tokens rotate; their state lives in the refresh_tokens table (domain/accounts.py).
- The Mastodon face's OAuth access tokens are opaque and stored (hashed, domain/oauth.py):
  verify_stored remembers them the same way, so forget_user ends them with the JWTs.

No HTTP here: the security policy that reads a request's bearer token is web/security.py,
which keeps one Tokens and one Passwords on the registry for both faces.
"""

import datetime
import math
import time
import unicodedata
import uuid

import bcrypt
import jwt

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
BCRYPT_MAX_BYTES = 72
VERIFIED_TOKENS_MAX = 10_000
MAX_USER_ID = 2**63 - 1  # users.id is a BIGINT


class Tokens:
    def __init__(self, settings):
        self.secret = settings["jwt.secret"]
        self.issuer = settings["jwt.issuer"]
        self.audience = settings["jwt.audience"]
        self.access_ttl = settings["jwt.access_ttl"]
        self.refresh_ttl = settings["jwt.refresh_ttl"]
        self.recheck_seconds = settings["jwt.recheck_seconds"]
        # access token -> (its claims, when its account was last checked: time.monotonic(),
        # the sessions' epoch then)
        self._verified = {}
        # Set by web/response_cache.py: the near cache when it tracks Redis, else its Redis
        # versions (web/near_cache.VersionedSessions): epoch(user_id) before an account is
        # checked, then ended(user_id, epoch): whether its sessions were ended
        # (freshness.session bumped, by any process) since. None: rechecks only.
        self.sessions = None

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

    def access(self, user_id, generation=0):
        return self._encode(user_id, ACCESS, self.access_ttl, gen=generation)

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
            if not 1 <= claims["user_id"] <= MAX_USER_ID:
                raise ValueError("sub out of range")
            claims["gen"] = claims.get("gen", 0)  # tokens made before generations: the first
            if type(claims["gen"]) is not int:
                raise ValueError("gen is not an integer")
            if typ == REFRESH:
                claims["jti"] = uuid.UUID(claims["jti"])
                claims["fam"] = uuid.UUID(claims["fam"])
        except (TypeError, ValueError) as e:
            raise jwt.InvalidTokenError("malformed claims") from e
        return claims

    def verify_access(self, token, session_generation):
        """decode(token, ACCESS) for an account that exists and is still in the token's
        generation (session_generation(id) -> int, None for no account, or SUSPENDED for a
        suspended one), remembered until the token expires and its account asked again every
        recheck_seconds."""
        claims = self.remembered(token)
        if claims is not None:
            return claims
        now = time.monotonic()
        claims = self.decode(token, ACCESS)
        epoch = self._epoch(claims["user_id"])  # before the account is read
        generation = session_generation(claims["user_id"])
        if generation is None:
            self._verified.pop(token, None)
            raise jwt.InvalidTokenError(NO_ACCOUNT)
        if generation is SUSPENDED:
            self._verified.pop(token, None)
            raise jwt.InvalidTokenError(SUSPENDED)
        if claims["gen"] != generation:
            self._verified.pop(token, None)
            raise jwt.InvalidTokenError(ENDED)
        if len(self._verified) >= VERIFIED_TOKENS_MAX:
            self._verified.clear()  # bounded memory; the next requests verify again
        self._verified[token] = (claims, now, epoch)
        return claims

    def verify_stored(self, token_hash, lookup):
        """The claims of a token kept in the database (the Mastodon face's OAuth tokens,
        domain/oauth.py), by its hash: lookup() -> claims with a user_id (None for an app
        token), or None when the token does not work. Remembered as an access token is, and
        asked again every recheck_seconds: so a revocation ends it at once in this process
        (forget) and within that interval in the others; a password change, a reset, a
        suspension or a deletion at once in every process (forget_user, `sessions`)."""
        key = ("stored", token_hash)
        claims = self.remembered(key)
        if claims is not None:
            return claims
        now, epoch = time.monotonic(), self._epoch()
        claims = lookup()
        if claims is None:
            self._verified.pop(key, None)
            raise jwt.InvalidTokenError(NOT_STORED)
        if epoch is None and claims["user_id"] is not None:
            # Sessions asked of Redis per account, known only now: an end between the lookup
            # and this read is caught at the recheck (recheck_seconds), as without them.
            epoch = self._epoch(claims["user_id"])
        claims = {**claims, "exp": math.inf}  # stored tokens do not expire
        if len(self._verified) >= VERIFIED_TOKENS_MAX:
            self._verified.clear()
        self._verified[key] = (claims, now, epoch)
        return claims

    def forget_stored(self, token_hash):
        """Stop trusting a stored token remembered as verified (it was revoked)."""
        self._verified.pop(("stored", token_hash), None)

    def remembered(self, token):
        """The claims of a token verified (verify_access) and still trusted: not expired, its
        account checked within recheck_seconds; else None."""
        remembered = self._verified.get(token)
        if remembered is None:
            return None
        claims, checked, epoch = remembered
        if claims["exp"] > time.time() and time.monotonic() - checked < self.recheck_seconds:
            user_id = claims["user_id"]
            if user_id is None or self.sessions is None or not self.sessions.ended(user_id, epoch):
                return claims
        return None

    def _epoch(self, user_id=None):
        return self.sessions.epoch(user_id) if self.sessions is not None else 0

    def forget(self, token):
        """Stop trusting a token remembered as verified (its account is gone)."""
        self._verified.pop(token, None)

    def forget_user(self, user_id):
        """Stop trusting every remembered token of an account (its sessions ended)."""
        for token in [t for t, (claims, *_) in list(self._verified.items()) if claims["user_id"] == user_id]:
            self._verified.pop(token, None)

    @staticmethod
    def new_id():
        return uuid.uuid4()


class Passwords:
    def __init__(self, rounds):
        self.rounds = rounds
        # Login checks unknown users against this hash, so both paths cost one bcrypt.
        self.dummy_hash = self.hash("not a real password")

    # Passwords are hashed in NFC, so one typed as "e" + U+0301 on one keyboard and as "é" on
    # another is the same password (NIST SP 800-63B 5.1.1.2). Hashes made before that held the
    # bytes as typed: check() tries those too when they differ.

    def hash(self, password):
        return bcrypt.hashpw(unicodedata.normalize("NFC", password).encode(), bcrypt.gensalt(self.rounds)).decode()

    def check(self, password, password_hash):
        candidates = dict.fromkeys([unicodedata.normalize("NFC", password), password])
        stored = (password_hash or self.dummy_hash).encode()
        return any(
            bcrypt.checkpw(data, stored) for data in (c.encode() for c in candidates) if len(data) <= BCRYPT_MAX_BYTES
        )


NO_ACCOUNT = "no such account"
SUSPENDED = "This account is suspended"  # its tokens stop (401), log-in and refresh answer 403
NOT_STORED = "no such token, revoked, or its sessions ended"
ENDED = "sessions ended"


def token_error(kind, exc):
    """What is wrong with a token, in the API's words (PyJWT's name claims and libraries)."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return f"The {kind} token has expired" + (": refresh it" if kind == ACCESS else ": log in again")
    if str(exc) == SUSPENDED:
        return SUSPENDED
    if str(exc) == NO_ACCOUNT:
        return f"The account of this {kind} token no longer exists"
    if str(exc) == ENDED:
        return f"The {kind} token was issued before the account's password changed: log in again"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return f"The {kind} token is not valid yet"
    return f"The {kind} token is not valid: log in again" if kind == REFRESH else f"The {kind} token is not valid"
