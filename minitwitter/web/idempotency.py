"""Idempotency-Key on POST /api/posts/ (as Stripe and the IETF draft describe it).

Same key and same body: the first answer again and no second post. Same key, another
body: 422. While the first request holds the key: 409. Keys live 24 hours. The key is
saved in the transaction that creates the post, under a transaction-scoped advisory
lock, so it exists exactly when the post does and two retries never both create.
A request saves its key here (finish); the beat job worker/tasks.purge_idempotency_keys
forgets the old ones.
"""

import hashlib
import re

from multipart import MultipartPart
from psycopg2.extras import Json

from minitwitter.web.errors import field_error, http_error

HEADER = "Idempotency-Key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII


def begin(request, text, in_reply_to=None):
    """None to go on creating, or the stored answer to replay (status already set)."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _KEY.fullmatch(key):
        raise field_error(HEADER, "Must be 1 to 255 visible ASCII characters", location="header")
    user_id, queries = request.authenticated_userid, request.queries.idempotency
    if not queries.try_lock(request.db, user_id=user_id, key=key):
        raise http_error(409, "A request with this Idempotency-Key is in progress", headers={"Retry-After": "1"})
    sha = _fingerprint(request, text if in_reply_to is None else f"{text}\x00in_reply_to={in_reply_to}")
    stored = queries.get_response(request.db, user_id=user_id, key=key)
    if stored is None:
        request.idempotency = (key, sha)  # for finish(); a retry's fresh request decides again
        return None
    if stored["request_sha"] != sha:
        raise field_error(HEADER, "Already used for a different request", location="header", code=422)
    request.response.status = stored["status"]
    request.response.headers["Idempotent-Replayed"] = "true"
    return stored["response"]


def finish(request, status, body):
    """Save the answer under the request's key, if it came with one."""
    pending = getattr(request, "idempotency", None)
    if pending:
        key, sha = pending
        request.queries.idempotency.save_response(
            request.db,
            user_id=request.authenticated_userid,
            key=key,
            request_sha=sha,
            status=status,
            response=Json(body),
        )


def _fingerprint(request, text):
    digest = hashlib.sha256(text.encode())
    upload = request.POST.get("image") if request.content_type == "multipart/form-data" else None
    if isinstance(upload, MultipartPart):
        digest.update(upload.raw)
    return digest.hexdigest()
