"""An idle worker looks at the ingest queue, where a citizen's receipt waits,
every SYNPUNKT_WORKER_POLL_MS, and at its other queues (notify and the delay
queues) at most about once a second: counted in the fetches a real Redis runs."""

from __future__ import annotations

import time
from pathlib import Path

import dramatiq
import redis

from tests.harness.redis_server import RedisServer
from workers.broker import QUIET_POLL_MS, make_broker

POLL_MS = 100  # the setting's default


def _fetches(client: redis.Redis) -> int:
    """Lua calls so far: dramatiq's Redis broker fetches with one script call."""
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k in ("cmdstat_evalsha",
                                                                   "cmdstat_eval"))


def test_an_idle_worker_polls_the_quiet_queues_slowly(tmp_path: Path) -> None:
    with RedisServer(tmp_path / "redis") as server:
        broker = make_broker(server.url(0), lambda *_: None)
        for queue in ("ingest", "notify"):  # the queues the workers consume
            dramatiq.actor(lambda: None, actor_name=f"{queue}.idle", queue_name=queue,
                           broker=broker)
        worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=POLL_MS)
        worker.start()
        client = redis.Redis.from_url(server.url(0))
        try:
            time.sleep(2)  # every consumer backed off to its pace
            before, began = _fetches(client), time.monotonic()
            time.sleep(5)
            per_second = (_fetches(client) - before) / (time.monotonic() - began)
            paces = {c.queue_name: c.consumer.timeout for c in worker.consumers.values()}
        finally:
            worker.stop()
            client.close()
    assert paces == {"ingest": POLL_MS, "ingest.DQ": QUIET_POLL_MS,
                     "notify": QUIET_POLL_MS, "notify.DQ": QUIET_POLL_MS}
    # ingest at its pace (about 13 a second with dramatiq's jitter), the
    # three others about 1.3 each; all four at 100 ms would be about 50
    assert 5 <= per_second <= 25, per_second
