"""Search: no write of its own, and which query answers a post search.

Posts are found through their full-text column and their hashtag links, both kept by
PostgreSQL in the writing transaction (migrations/); every post, edit and delete bumps
freshness.SEARCH (posts.py), the one version every cached page of results shares.
parse() below reads the query (api/search.py has its schemas); sql/search.sql holds the
queries.
"""

import re
from dataclasses import dataclass

from minitwitter.domain import freshness, hashtags
from minitwitter.domain.safety import viewer_page

# A search query's length (both faces: api/search.py, mastodon/search.py).
MAX_QUERY_LENGTH = 200
_LIKE_SPECIAL = re.compile(r"([\\%_])")
# A "quoted phrase" (an unclosed quote runs to the end of q) or a run of other non-space
# characters.
_TERM = re.compile(r'"([^"]*)"?|([^\s"]+)')
# The default text search parser makes words of letters and digits only; a term without
# one (e.g. "%" or "<->") can never match, so it is dropped rather than searched for.
_HAS_WORD = re.compile(r"[^\W_]")


@dataclass(frozen=True)
class Terms:
    text: str  # the websearch_to_tsquery input: each word and phrase in double quotes, AND-ed
    tags: list  # normalized tag names, sorted, each once

    def __bool__(self):
        return bool(self.text or self.tags)


def parse(q):
    """Words, "phrases" and #tags of a search query.

    A whole term `#name` that is a valid tag matches that tag exactly (post_hashtags);
    anything else is text. Terms are double-quoted for websearch_to_tsquery: inside quotes
    its operators (or, -) are words, and the quotes themselves cannot occur in a term.
    """
    words, tags = [], set()
    for match in _TERM.finditer(q):
        phrase, word = match.groups()
        tag = hashtags.normalize(word) if word and word.startswith("#") else None
        if tag is not None:
            tags.add(tag)
        elif _HAS_WORD.search(term := phrase if phrase is not None else word):
            words.append(f'"{term}"')
    return Terms(text=" ".join(words), tags=sorted(tags))


def like_prefix(text):
    """A LIKE pattern for strings starting with text: its % _ and \\ match only themselves
    (the user and tag searches, sql/search.sql)."""
    return _LIKE_SPECIAL.sub(r"\\\1", text) + "%"


def post_keys(tx, viewer, q, order, page):
    """The rows (keys) of one page of posts matching the query `q` as `viewer` sees them, cached.

    Tags pick the query: a tag's links are an exact, index-ordered list, so a query with
    tags walks them (newest first) and checks the words on each post; words alone use the
    full-text index. order=relevance ranks the words' matches and pages by number.
    """
    terms, relevance = parse(q), order == "relevance"

    def compute(hidden):
        queries, db = tx.queries.search, tx.db
        if not terms:  # only operators and punctuation: nothing can match
            return []
        if relevance and terms.text:
            return list(
                queries.search_posts_by_relevance(
                    db, query=terms.text, tags=terms.tags, hidden=hidden, offset=page.offset, limit=page.limit
                )
            )
        if terms.tags:
            return list(
                queries.search_tagged_posts(db, tags=terms.tags, query=terms.text, hidden=hidden, **page.params)
            )
        return list(queries.search_posts(db, query=terms.text, hidden=hidden, **page.params))

    # Any post, edit or delete may change any result: pages share one version (and, for a
    # viewer who hides somebody, are their own: domain/safety.viewer_page).
    return viewer_page(tx, viewer, freshness.SEARCH, page, compute, name=f"search:{order}:{q}")
