"""Pages: `page` and `page_size` (the older style), or an opaque `cursor` (keyset).

Every list query takes (before, offset, limit) and returns rows with a `key` column:
- page mode: before = +infinity, offset = (page - 1) * page_size;
- cursor mode: before = the key the cursor carries, offset = 0, so page 5,000 costs
  what page 1 costs.
A list in ascending order (a post's replies) takes (after, offset, limit) instead
(Page.ascending_params): the cursor's key is then a lower bound.
A request with neither is page 1 whose `next` link is a cursor; only a request that
asks for `page` gets page-number links.
limit is page_size + 1: the extra row says whether a next page exists.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlencode

import colander

from minitwitter.web.fields import Integer, Text

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000
MAX_KEY = 2**63 - 1
# A cursor is the key in base 36: opaque to clients, and every string of this pattern
# is a cursor the server accepts, so the OpenAPI document can say exactly what is valid.
CURSOR_PATTERN = r"^[0-9a-z]{1,12}$"  # keys up to 36**12 - 1 (4.7e18): far beyond any id
_CURSOR = re.compile(CURSOR_PATTERN)


def encode_cursor(key):
    digits = ""
    while True:
        key, digit = divmod(key, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[digit] + digits
        if key == 0:
            return digits


def decode_cursor(cursor):
    """The key a cursor carries, or None when it is not one of ours."""
    if not isinstance(cursor, str) or not _CURSOR.fullmatch(cursor):
        return None
    return int(cursor, 36)


def _cursor_validator(node, value):
    if decode_cursor(value) is None:
        raise colander.Invalid(node, "Invalid cursor: use the one from a `next` link")


class PageQuery(colander.MappingSchema):
    page = colander.SchemaNode(Integer(), validator=colander.Range(1, MAX_PAGE), missing=None)
    page_size = colander.SchemaNode(Integer(), validator=colander.Range(1, MAX_PAGE_SIZE), missing=DEFAULT_PAGE_SIZE)
    cursor = colander.SchemaNode(
        Text(allow_empty=True),
        validator=_cursor_validator,
        missing=None,
        json_schema={"pattern": CURSOR_PATTERN},
    )


class PageSchema(colander.MappingSchema):
    querystring = PageQuery()


class NumberedPageQuery(colander.MappingSchema):
    """Lists in an order no integer key follows (names, ranks) page by number only."""

    page = colander.SchemaNode(Integer(), validator=colander.Range(1, MAX_PAGE), missing=1)
    page_size = colander.SchemaNode(Integer(), validator=colander.Range(1, MAX_PAGE_SIZE), missing=DEFAULT_PAGE_SIZE)


class NumberedPageSchema(colander.MappingSchema):
    querystring = NumberedPageQuery()


@dataclass(frozen=True)
class Page:
    size: int
    number: int | None  # None in cursor mode
    before: int
    offset: int
    numbered_links: bool = False

    @property
    def limit(self):
        return self.size + 1

    @property
    def params(self):
        """Keyword arguments for a list query."""
        return {"before": self.before, "offset": self.offset, "limit": self.limit}

    @property
    def ascending_params(self):
        """Keyword arguments for a list in ascending key order (oldest first): its cursor
        carries the last key seen as a lower bound, `after`."""
        return {"after": self.before if self.number is None else 0, "offset": self.offset, "limit": self.limit}


def read_page(request):
    query = request.validated["querystring"]
    size = query["page_size"]
    if query["cursor"] is not None:
        return Page(size=size, number=None, before=decode_cursor(query["cursor"]), offset=0)
    number = query["page"] or 1
    return Page(size, number, before=MAX_KEY, offset=(number - 1) * size, numbered_links=query["page"] is not None)


def read_numbered_page(request):
    query = request.validated["querystring"]
    number, size = query["page"] or 1, query["page_size"]
    return Page(size, number, before=MAX_KEY, offset=(number - 1) * size, numbered_links=True)


def envelope(request, page, rows, results, count=None):
    """The page envelope, with next/previous links and a Link header.

    rows: what the list query returned (up to page.size + 1, each with a `key`);
    results: the rendered items of the first page.size rows.
    """
    has_next = len(rows) > page.size
    if not page.numbered_links:
        next_params = {"cursor": encode_cursor(rows[page.size - 1]["key"])} if has_next else None
        # A cursor walks forward only: a keyset cursor holds the last key of its page, and the
        # page before needs the first key of that one plus a query in the other direction for
        # every list. Clients keep the cursors they followed; page 1 is the link without one.
        previous_params = None
    else:
        next_params = {"page": page.number + 1} if has_next else None
        previous_params = {"page": page.number - 1} if page.number > 1 else None
    next_url = _url(request, page, next_params)
    previous_url = _url(request, page, previous_params)
    links = [f'<{url}>; rel="{rel}"' for rel, url in (("next", next_url), ("prev", previous_url)) if url]
    if links:
        request.response.headers["Link"] = ", ".join(links)
    return {
        "count": count,
        "page": page.number,
        "page_size": page.size,
        "next": next_url,
        "previous": previous_url,
        "results": results,
    }


def _url(request, page, params):
    if params is None:
        return None
    query = {k: v for k, v in request.GET.items() if k not in ("page", "cursor", "page_size")}
    query.update(params, page_size=page.size)
    return f"{request.path_url}/?{urlencode(query)}"
