"""Whole responses of the hottest reads, per viewer, served in one Redis round trip.

`@cached_response` on a GET view: the first time a viewer asks for a URL, the view runs
as usual while request.cache records the version of everything it read (cache.py);
the rendered body is then stored under (viewer, URL) with those versions. Next time, a
Lua script checks every version and returns the body: no PostgreSQL, no rendering.
Any write that changed one of those things has bumped its version after its commit, so
a stale response is never served.

A view may only read through request.cache (shared fields, pages of ids) or after
request.cache.depend(name) (the viewer's own likes and follows: freshness.viewer).
Anything else it reads must call request.cache.uncovered(), and the response is not
stored. "Not found" is never stored either. The tests check this rule on every request
they make (tests/cached_reads.py): a response stored after an uncovered read fails them.
"""

import functools

import orjson

# Response headers a view sets that belong to the cached response.
KEPT_HEADERS = ("Link",)


def cached_response(view):
    @functools.wraps(view)
    def wrapper(request):
        key = f"response:{request.authenticated_userid}:{request.application_url}{request.path_qs}"
        response = request.response
        response.content_type = "application/json"
        response.charset = None
        hit = request.registry.cache.get_response(key)
        if hit is not None:
            head, response.body = hit
            response.headers.update(head["headers"])
            return response
        response.body = orjson.dumps(view(request))
        deps = request.cache.deps  # None for requests that do not fill the cache (cache.py)
        if deps is not None:
            headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
            request.registry.cache.set_response(key, deps, headers, response.body)
        return response

    return wrapper
