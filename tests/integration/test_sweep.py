"""The scheduler's sweep re-enqueues what the queue lost, in the workers'
batches, and nothing while the queue still holds a backlog
(benchmarks/load.py found the storm)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cases.inbound import store_raw
from cases.migrate import upgrade
from config.settings import Settings
from service.app import build_app
from workers.scheduler import sweep


def test_the_sweep_waits_while_the_queue_holds_a_backlog(tmp_path: Path) -> None:
    app = build_app(Settings(home=tmp_path / "home", sweep_grace_seconds=60, worker_batch=2))
    upgrade(app.engine)
    now = app.clock()
    with app.sessions.begin() as session:
        for i in range(3):
            store_raw(session, "imap:test", f"1:{i}", f"Message-ID: <m{i}@x>\n\nhej {i}\n".encode(),
                      received_at=now - timedelta(minutes=5))
    sent: list[list[int]] = []

    busy = sweep(app, sent.append, sent.append, now=now,
                 waiting=lambda: {"ingest": 1200, "notify": 0})
    assert (busy.inbound, sent) == (0, [])

    drained = sweep(app, sent.append, sent.append, now=now,
                    waiting=lambda: {"ingest": 0, "notify": 0})
    # in the workers' batches, as the listener sends them (after an outage the
    # whole backlog comes this way)
    assert drained.inbound == 3 and sent == [[1, 2], [3]]

    fresh = sweep(app, sent.append, sent.append, now=now - timedelta(minutes=10))
    assert fresh.inbound == 0  # younger than the grace: left to the normal path
