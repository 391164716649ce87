"""Pages: `page` and `page_size` (the older style), or an opaque `cursor` (keyset).

Every list query takes (before, offset, limit) and returns rows with a `key` column:
- page mode: before = +infinity, offset = (page - 1) * page_size;
- cursor mode: before = the key the cursor carries, offset = 0, so page 5,000 costs
  what page 1 costs.
A request with neither is page 1 whose `next` link is a cursor; only a request that
asks for `page` gets page-number links.
limit is page_size + 1: the extra row says whether a next page exists.
"""

import base64
import binascii
import re
from dataclasses import dataclass
from urllib.parse import urlencode

import colander

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000
MAX_KEY = 2**63 - 1
_CURSOR = re.compile(r"k(\d{1,19})")


def encode_cursor(key):
    return base64.urlsafe_b64encode(f"k{key}".encode()).decode().rstrip("=")


def decode_cursor(cursor):
    """The key a cursor carries, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    match = _CURSOR.fullmatch(raw)
    if not match or not 0 < int(match.group(1)) <= MAX_KEY:
        return None
    return int(match.group(1))


def _cursor_validator(node, value):
    if decode_cursor(value) is None:
        raise colander.Invalid(node, "Invalid cursor: use the one from a `next` link")


class PageQuery(colander.MappingSchema):
    page = colander.SchemaNode(colander.Integer(), validator=colander.Range(1, MAX_PAGE), missing=None)
    page_size = colander.SchemaNode(
        colander.Integer(), validator=colander.Range(1, MAX_PAGE_SIZE), missing=DEFAULT_PAGE_SIZE
    )
    cursor = colander.SchemaNode(
        colander.String(), validator=colander.All(colander.Length(max=64), _cursor_validator), missing=None
    )


class PageSchema(colander.MappingSchema):
    querystring = PageQuery()


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


def read_page(request):
    query = request.validated["querystring"]
    size = query["page_size"]
    if query["cursor"] is not None:
        return Page(size=size, number=None, before=decode_cursor(query["cursor"]), offset=0)
    number = query["page"] or 1
    return Page(size, number, before=MAX_KEY, offset=(number - 1) * size, numbered_links=query["page"] is not None)


def envelope(request, page, rows, results, count=None):
    """The page envelope, with next/previous links and a Link header.

    rows: what the list query returned (up to page.size + 1, each with a `key`);
    results: the rendered items of the first page.size rows.
    """
    has_next = len(rows) > page.size
    if not page.numbered_links:
        next_params = {"cursor": encode_cursor(rows[page.size - 1]["key"])} if has_next else None
        previous_params = None  # a cursor only walks forward; page 1 is the link without one
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
