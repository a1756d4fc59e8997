"""An idle worker looks at the ingest queue, where a citizen's receipt waits,
every SYNPUNKT_WORKER_POLL_MS, and at its other queues (notify and the delay
queues) at most about once a second: counted in the fetches a real Redis runs."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import dramatiq
import redis

from tests.harness.redis_server import RedisServer
from workers.broker import QUIET_POLL_MS, make_broker
from workers.production import start_worker

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
        worker = start_worker(broker, threads=1, poll_ms=POLL_MS)  # as the workers do
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


def _wakeups(thread_ids: list[int]) -> int:
    """Voluntary context switches of these threads of this process so far."""
    total = 0
    for tid in thread_ids:
        status = Path(f"/proc/self/task/{tid}/status").read_text()
        total += int(status.split("voluntary_ctxt_switches:")[1].split()[0])
    return total


def test_an_idle_workers_threads_wake_once_a_second(tmp_path: Path) -> None:
    """dramatiq wakes each idle worker thread every worker_timeout (the poll,
    100 ms) only to see whether it is to stop; ours wake once a second, and
    a message is still taken at once."""
    done = threading.Event()
    with RedisServer(tmp_path / "redis") as server:
        broker = make_broker(server.url(0), lambda *_: None)
        ping = dramatiq.actor(lambda: done.set(), actor_name="ingest.ping", queue_name="ingest",
                              broker=broker)
        worker = start_worker(broker, threads=4, poll_ms=POLL_MS)
        try:
            threads = [t.native_id for t in worker.workers if t.native_id is not None]
            time.sleep(1.5)
            before, began = _wakeups(threads), time.monotonic()
            time.sleep(4)
            per_thread_second = ((_wakeups(threads) - before)
                                 / (time.monotonic() - began) / len(threads))
            sent = time.monotonic()
            ping.send()
            assert done.wait(5)
            taken_after = time.monotonic() - sent
        finally:
            worker.stop()
    assert len(threads) == 4
    assert per_thread_second <= 3, per_thread_second  # at 100 ms: about 10
    assert taken_after < 1.0, taken_after  # the consumer's own poll, not the threads'
