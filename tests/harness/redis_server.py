"""Redis for tests: the URL of the one to use (a configured or local server,
one database per pytest-xdist worker), FLUSHDB, and a private ``redis-server``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.harness.process import HOST, ServerError, ServerProcess, free_port, log_tail

DEFAULT_REDIS_DB = 15


def _redis_pings(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def redis_url(host: str = HOST, port: int = 6379) -> str | None:
    """Where tests find Redis: ``SYNPUNKT_TEST_REDIS_URL`` if set, else
    ``redis://host:port/N`` (N = ``SYNPUNKT_TEST_REDIS_DB``, default 15) when that
    server answers PING; None when neither (start a ``RedisServer`` then).
    """
    env = os.environ.get("SYNPUNKT_TEST_REDIS_URL")
    if env:
        return _per_worker(env)
    db = int(os.environ.get("SYNPUNKT_TEST_REDIS_DB", str(DEFAULT_REDIS_DB)))
    if _redis_pings(host, port):
        return _per_worker(f"redis://{host}:{port}/{db}")
    return None


def _per_worker(url: str) -> str:
    """Under pytest-xdist each worker gets its own database, counting down from
    the configured one (gw0 keeps it), so one worker's FLUSHDB never empties
    another's queues."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    base, _, db = url.rpartition("/")
    number = int(db) if db.isdigit() else 0
    return f"{base}/{(number - int(worker[2:])) % 16}"


def flush_redis_db(url: str) -> None:
    """FLUSHDB the database the URL names (the tests' own DB, never 0 by default)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


class RedisServer(ServerProcess):
    """A private ``redis-server`` (no persistence) on a free port; start() again reuses it."""

    name = "redis-server"
    host = HOST

    def __init__(self, root: Path, *, port: int | None = None) -> None:
        super().__init__()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_path = self.root / "redis.log"
        self._port = port or free_port()

    @property
    def port(self) -> int:
        return self._port

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def start(self, timeout: float = 10.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerError("redis-server is not installed (apt-get install redis-server)")
        began = time.monotonic()
        argv = [binary, "--port", str(self.port), "--bind", self.host, "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--dir", str(self.root),
                "--logfile", str(self.log_path)]
        self._spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.root)
        deadline = began + timeout
        while not _redis_pings(self.host, self.port, timeout=0.2):
            self._check_alive(self.log_path)
            if time.monotonic() > deadline:
                self.kill9()
                raise ServerError(f"redis-server did not answer PING on {self.port} within "
                                  f"{timeout} s" + log_tail(self.log_path))
            time.sleep(0.01)
        self.startup_seconds = time.monotonic() - began
