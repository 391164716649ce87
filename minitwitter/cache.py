"""Redis: a cache that degrades to a miss when Redis is down or slow.

Every call has a timeout (settings: redis.timeout). A Redis failure is logged and
answered as a miss (reads) or ignored (writes, deletes), so the request is served
from PostgreSQL instead of failing.
"""

import logging
import time

import orjson
import redis

log = logging.getLogger(__name__)


class Cache:
    # After a failure, skip Redis for this many seconds instead of paying the
    # timeout on every request while it is down.
    BACKOFF_SECONDS = 1.0

    def __init__(self, url, timeout):
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry_on_timeout=False,
            health_check_interval=30,
        )
        self._down_until = 0.0

    def _call(self, default, method, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return default
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except redis.RedisError as e:
            self._down_until = time.monotonic() + self.BACKOFF_SECONDS
            log.warning("redis %s failed, serving without cache: %s", method, e)
            return default

    def get_json(self, key):
        raw = self._call(None, "get", key)
        return None if raw is None else orjson.loads(raw)

    def set_json(self, key, value, ttl):
        self._call(None, "set", key, orjson.dumps(value), ex=ttl)

    def delete(self, *keys):
        if keys:
            self._call(None, "delete", *keys)

    def ping(self):
        """True when Redis answers (health checks bypass the back-off)."""
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False


def includeme(config):
    settings = config.registry.settings
    config.registry.cache = Cache(settings["redis.url"], settings["redis.timeout"])
    config.add_request_method(lambda request: request.registry.cache, "cache", reify=True)
