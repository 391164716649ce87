"""Search input: the query schemas (LIKE prefixes: domain/search.like_prefix; q is parsed
into words, "phrases" and #tags by domain/search.parse). Nothing the user types reaches SQL
or tsquery syntax: terms become parameters (sql/search.sql says how they are combined)."""

import unicodedata

import colander

from minitwitter.api.schemas import trimmed_pattern
from minitwitter.domain.search import MAX_QUERY_LENGTH, like_prefix  # noqa: F401  (the views use like_prefix)
from minitwitter.web.errors import field_error
from minitwitter.web.fields import Integer, Text
from minitwitter.web.pagination import MAX_KEY, MAX_PAGE, MAX_PAGE_SIZE, Page, PageQuery

PREFIX_LIMIT = 10
ORDERS = ("newest", "relevance")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _query_validator(node, value):
    if not 1 <= len(value) <= MAX_QUERY_LENGTH:
        raise colander.Invalid(node, f"Must be 1 to {MAX_QUERY_LENGTH} characters")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise colander.Invalid(node, "Must not contain NUL or other control characters")


def _q():
    # Every control character is refused in q (tabs and newlines too, unlike post text).
    pattern = trimmed_pattern(MAX_QUERY_LENGTH, r"\x00-\x1f\x7f-\x9f")
    return colander.SchemaNode(Text(), preparer=_strip, validator=_query_validator, json_schema={"pattern": pattern})


class PostSearchQuery(PageQuery):
    q = _q()
    order = colander.SchemaNode(Text(), validator=colander.OneOf(ORDERS), missing="newest")


class PostSearchSchema(colander.MappingSchema):
    querystring = PostSearchQuery()


class PrefixQuery(colander.MappingSchema):
    q = _q()
    page = colander.SchemaNode(Integer(), validator=colander.Range(1, MAX_PAGE), missing=1)
    page_size = colander.SchemaNode(Integer(), validator=colander.Range(1, MAX_PAGE_SIZE), missing=PREFIX_LIMIT)


class PrefixSchema(colander.MappingSchema):
    querystring = PrefixQuery()


def relevance_page(request):
    """Relevance pages go by number: an opaque cursor carries one id, not a rank."""
    query = request.validated["querystring"]
    if query["cursor"] is not None:
        raise field_error("cursor", "order=relevance pages by `page`, not by cursor", location="querystring")
    number = query["page"] or 1
    size = query["page_size"]
    return Page(size, number, before=MAX_KEY, offset=(number - 1) * size, numbered_links=True)
