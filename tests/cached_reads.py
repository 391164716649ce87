"""The rule of minitwitter/web/response_cache.py, checked on every request the tests make.

A response stored whole is served until a version it depends on changes, so everything
its view read must be covered by a version: read through request.cache (a cached
entry's compute, or the misses of get_versioned) or right after request.cache.depend().
A view that reads anything else must call request.cache.uncovered(), and then its
response is not stored. This watches every SQL statement a @cached_response view runs:

- inside request.cache.cached(...) or request.cache.covered(...) (their compute): covered;
- otherwise it needs a version recorded since the previous statement: a get_versioned
  that missed (the caller reads the misses next) or a depend() (the caller reads what it
  covers next); one statement per version recorded;
- any other statement is uncovered, and if the response is stored anyway, that is a
  violation: conftest.py fails the test.

What is watched is one request (one attempt of it): the watch a miss starts ends with the
request, stored or not, so nothing carries over on the thread to a later request or test.
"""

import threading
from contextlib import contextmanager

import pytest
from pyramid.router import Router

from minitwitter.store.cache import Cache, RequestCache
from minitwitter.store.db import CountingCursor
from minitwitter.web import security


class CachedReads:
    def __init__(self):
        self._local = threading.local()
        self.violations = []  # (response key, [uncovered SQL])
        self.stored = 0  # responses stored while watched

    @property
    def _state(self):
        return getattr(self._local, "state", None)

    @contextmanager
    def installed(self):
        with pytest.MonkeyPatch.context() as patch:
            check = self
            get_response, set_response = Cache.get_response, Cache.set_response
            cached, get_versioned, depend = RequestCache.cached, RequestCache.get_versioned, RequestCache.depend
            covered = RequestCache.covered
            execute = CountingCursor.execute

            def watched_get_response(cache, key):
                hit = get_response(cache, key)
                # A miss: the view runs now, on this thread, until set_response (or not).
                check._local.state = {"depth": 0, "credit": 0, "uncovered": []} if hit is None else None
                return hit

            def watched_set_response(cache, key, deps, headers, body):
                state, check._local.state = check._state, None
                if state is not None:
                    check.stored += 1
                    if state["uncovered"]:
                        check.violations.append((key, state["uncovered"]))
                return set_response(cache, key, deps, headers, body)

            def watched_cached(request_cache, *args, **kwargs):
                state = check._state
                if state is None:
                    return cached(request_cache, *args, **kwargs)
                state["depth"] += 1
                try:
                    return cached(request_cache, *args, **kwargs)
                finally:
                    state["depth"] -= 1

            def watched_covered(request_cache, version_name, compute):
                state = check._state
                if state is None or state["depth"]:
                    return covered(request_cache, version_name, compute)
                # depend() first (a round trip, not a statement), then every read inside is covered
                try:
                    return covered(request_cache, version_name, lambda: watched_cached_compute(state, compute))
                finally:
                    state["credit"] = 0

            def watched_cached_compute(state, compute):
                state["depth"] += 1
                try:
                    return compute()
                finally:
                    state["depth"] -= 1

            def watched_get_versioned(request_cache, names, version_names=None):
                values, versions = get_versioned(request_cache, names, version_names)
                state = check._state
                if state is not None and state["depth"] == 0 and len(values) < len(names):
                    state["credit"] = 1
                return values, versions

            def watched_depend(request_cache, name):
                depend(request_cache, name)
                state = check._state
                if state is not None and state["depth"] == 0:
                    state["credit"] = 1

            def watched_execute(cursor, query, vars=None):
                state = check._state
                if state is not None and state["depth"] == 0:
                    if state["credit"]:
                        state["credit"] = 0
                    else:
                        state["uncovered"].append(query if isinstance(query, str) else query.decode())
                return execute(cursor, query, vars)

            invoke_request = Router.invoke_request

            def watched_invoke_request(router, request, *args, **kwargs):
                # A miss whose response is not stored (uncovered(), an error) ends here too.
                check._local.state = None
                try:
                    return invoke_request(router, request, *args, **kwargs)
                finally:
                    check._local.state = None

            session_generation = security._session_generation

            def watched_session_generation(request, user_id):
                # The token's check (a hit is looked up before it, response_cache.tween_factory):
                # it decides a 401 or not, and a 401 is never stored.
                state = check._state
                if state is None:
                    return session_generation(request, user_id)
                state["depth"] += 1
                try:
                    return session_generation(request, user_id)
                finally:
                    state["depth"] -= 1

            patch.setattr(Router, "invoke_request", watched_invoke_request)
            patch.setattr(security, "_session_generation", watched_session_generation)
            patch.setattr(Cache, "get_response", watched_get_response)
            patch.setattr(Cache, "set_response", watched_set_response)
            patch.setattr(RequestCache, "cached", watched_cached)
            patch.setattr(RequestCache, "get_versioned", watched_get_versioned)
            patch.setattr(RequestCache, "depend", watched_depend)
            patch.setattr(RequestCache, "covered", watched_covered)
            patch.setattr(CountingCursor, "execute", watched_execute)
            yield self

    def take_violations(self):
        found, self.violations = self.violations, []
        return found
