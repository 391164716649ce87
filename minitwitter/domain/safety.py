"""Blocks and mutes: block, unblock, mute, unmute (idempotent), and what a viewer does not see.

- block: safety.block; a new block ends the follows between the two accounts, both ways,
  in the same transaction, through domain/follows.ended (counts, feeds and
  followed_by_me go stale as for any unfollow). Blocking yourself is Invalid.
- mute: safety.mute; nothing else changes, and the muted account is not told.
- unblock, unmute: remove the row; follows ended by the block stay ended.
- stale, when something changed: freshness.safety of both accounts of a block (each one's
  hidden set), of the muter only for a mute.
- every one of them first locks the two accounts (domain.lock_accounts: NotFound when the
  other is gone, as when it is being deleted); a block and an unblock first take the
  pair's lock (lock_pair), as a follow and an unfollow of the two do: so a block and a
  follow racing each other run one after the other, and no follow stands beside a block.
- A block either way refuses follows and the actions on the other's posts (like, reply,
  repost, bookmark): Forbidden, naming the field (refuse_blocked, refuse_blocked_post:
  domain/blocked.py, which domain/follows.py uses too, below this module that ends follows).
  Their INSERTs test it themselves (migrations/0011: blocked_between), so a write that
  wrote asks why only when it wrote nothing: the common case costs no extra statement.

Suspended accounts are in every viewer's hidden set: profiles.suspended(tx), one set for
all, cached under freshness.SUSPENDED (domain/moderation.py writes it).

Reads: `hidden(tx, viewer)` is the viewer's hidden set, cached under freshness.safety(viewer);
`viewer_page` filters a list with it in SQL. A viewer who hides nobody (the common case)
reads the shared cached pages as before; one who hides somebody reads their own page from
PostgreSQL (the list query with the ids as an array). Their pages are not put in the page
cache: it would hold one copy per such viewer, and their whole response (response_cache.py,
per viewer already) is cached under the list's version and their safety version anyway.
"""

import hashlib

from minitwitter.domain import Invalid, follows, freshness, lock_accounts, lock_pair
from minitwitter.domain.freshness import cached_page
from minitwitter.domain.profiles import suspended


def block(tx, blocker_id, blocked_id):
    """True when this is a new block."""
    added = _change(tx, "block", blocker_id, blocked_id)
    if added:
        follows.ended(tx, blocker_id, blocked_id)
        follows.ended(tx, blocked_id, blocker_id)
    return added


def unblock(tx, blocker_id, blocked_id):
    """True when there was a block to remove."""
    return _change(tx, "unblock", blocker_id, blocked_id)


def mute(tx, muter_id, muted_id):
    """True when this is a new mute."""
    return _change(tx, "mute", muter_id, muted_id)


def unmute(tx, muter_id, muted_id):
    """True when there was a mute to remove."""
    return _change(tx, "unmute", muter_id, muted_id)


def _change(tx, verb, user_id, other_id):
    """safety.<verb> (block, unblock, mute, unmute) by `user_id` of `other_id`: True when it
    changed a row; then the hidden sets it changed are stale (both sides' for a block)."""
    if user_id == other_id:
        raise Invalid(f"You cannot {verb} yourself", field="id")
    if verb.endswith("block"):
        lock_pair(tx, user_id, other_id)
    else:
        lock_accounts(tx, user_id, [other_id])
    changed = bool(getattr(tx.queries.safety, verb)(tx.db, user_id=user_id, other_id=other_id))
    if changed:
        sides = (user_id, other_id) if verb.endswith("block") else (user_id,)
        tx.stale(*(freshness.safety(side) for side in sides))
    return changed


def hiding(tx, viewer):
    """{"blocked": [ids], "muted": [ids]}: the accounts `viewer` blocks or that block
    them, and those they mute; cached under freshness.safety(viewer), which every block,
    unblock (of either side), mute and unmute (of the viewer) bumps."""

    def compute():
        rows = list(tx.queries.safety.hidden(tx.db, user_id=viewer))
        return {
            "blocked": sorted({r["user_id"] for r in rows if r["blocked"]}),
            "muted": sorted({r["user_id"] for r in rows if not r["blocked"]}),
        }

    return tx.cache.cached(f"hidden:{viewer}", compute, version_name=freshness.safety(viewer))


def personal(tx, viewer):
    """The accounts the viewer hides themselves (blocked either way, or muted), sorted."""
    found = hiding(tx, viewer)
    return sorted({*found["blocked"], *found["muted"]})


def hidden(tx, viewer):
    """The viewer's hidden set: the ids of every account whose posts, reposts and
    notifications the viewer does not see (blocked either way, muted, or suspended), sorted."""
    return sorted({*personal(tx, viewer), *suspended(tx)})


def viewer_page(tx, viewer, version_name, page, compute, name=None):
    """The rows of one page of a list as the viewer sees it: compute(hidden), the list
    query given the viewer's hidden set (the suspended accounts only, for most viewers).
    With no hidden set of their own, the page every such viewer shares
    (freshness.cached_page), named after the suspended set it left out (a suspension or a
    lift is a new set: a new page, whatever the list's version); else the viewer's own page,
    read from PostgreSQL under the list's version (see above)."""
    banned = suspended(tx)
    ids = sorted({*personal(tx, viewer), *banned})
    if len(ids) > len(banned):
        return tx.cache.covered(version_name, lambda: list(compute(ids)))
    if banned:
        digest = hashlib.blake2b(",".join(map(str, banned)).encode(), digest_size=8).hexdigest()
        name = f"{name or version_name}~{digest}"
    return cached_page(tx, version_name, page, lambda: compute(ids), name=name)


def reply_rows(tx, viewer, post_id, page):
    """One page of the replies to `post_id`, oldest first, as the viewer sees them (the
    native replies list and the Mastodon face's context read the same page)."""
    return viewer_page(
        tx,
        viewer,
        freshness.replies(post_id),
        page,
        lambda ids: tx.queries.posts.list_replies(tx.db, post_id=post_id, hidden=ids, **page.ascending_params),
    )
