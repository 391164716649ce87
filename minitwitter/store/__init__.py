"""Storage: the transaction door (tx.py: a Store per process, a Tx per request or task), the
connection pool and replicas (db.py), the named queries (sql/), the Redis cache and the
media files."""
