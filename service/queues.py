"""The work queues as the web and the health report see them: how many
messages wait in each (the broker itself is built in ``workers.broker``)."""

from __future__ import annotations

NAMESPACE = "synpunkt"
QUEUES = ("ingest", "notify")


def queue_depth(redis_url: str) -> dict[str, int]:
    """Messages waiting in each of our dramatiq queues (not those in a worker's hands)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    try:
        return {q: int(client.llen(f"{NAMESPACE}:{q}")) for q in QUEUES}
    finally:
        client.close()
