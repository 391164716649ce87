"""The worker: the Celery app and its tasks, and the transactional outbox."""
