"""Storage: the connection pool, replicas and the request's transaction, the named
queries (sql/), the Redis cache and the media files."""
