"""Search: no write of its own, and which query answers a post search.

Posts are found through their full-text column and their hashtag links, both kept by
PostgreSQL in the writing transaction (migrations/); every post, edit and delete bumps
freshness.SEARCH (posts.py), the one version every cached page of results shares.
minitwitter/search.py parses the query; sql/search.sql holds the queries.
"""

from minitwitter.api import search
from minitwitter.domain import freshness
from minitwitter.domain.safety import viewer_page


def post_keys(request, q, order, page):
    """The rows (keys) of one page of posts matching the query `q`, cached.

    Tags pick the query: a tag's links are an exact, index-ordered list, so a query with
    tags walks them (newest first) and checks the words on each post; words alone use the
    full-text index. order=relevance ranks the words' matches and pages by number.
    """
    terms, relevance = search.parse(q), order == "relevance"

    def compute(hidden):
        queries, db = request.queries.search, request.db
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
    return viewer_page(request, freshness.SEARCH, page, compute, name=f"search:{order}:{q}")
