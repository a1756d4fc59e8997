"""The private stack that benchmarks measure Synpunkt's processes on:
load.py's stack (private Dovecot and SMTP sink) with a private Redis, on a
scratch database on the machine's PostgreSQL (SYNPUNKT_TEST_POSTGRES_URL or
127.0.0.1:5432); everything removed afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.harness.postgres import scratch_database
from tests.harness.redis_server import RedisServer
from tests.stack import Stack, running_stack


@contextlib.contextmanager
def private_stack(name: str, env: dict[str, str]) -> Iterator[tuple[Stack, RedisServer, Path]]:
    """The stack, its Redis and its scratch folder; ``name`` names the
    folder and the database, ``env`` is the processes' settings."""
    server = os.environ.get("SYNPUNKT_TEST_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    tmp = Path(tempfile.mkdtemp(prefix=f"synpunkt-{name}-"))
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, tmp, True)
        pg = cleanup.enter_context(scratch_database(server, f"synpunkt_{name}"))
        redis = RedisServer(tmp / "redis")
        redis.start()
        cleanup.callback(redis.stop)
        yield cleanup.enter_context(running_stack(tmp, pg, redis.url(0), env)), redis, tmp
