"""PostgreSQL for tests: a private cluster on a free port, and scratch
databases on any server."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from tests.harness.process import HOST, ServerError, ServerProcess, free_port, log_tail


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` with initdb and postgres, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    return found[-1].parent if found else None


class PostgresServer(ServerProcess):
    """A private PostgreSQL cluster (initdb once, then ``postgres`` in the
    foreground) on a free port, trust auth, fsync off. As root it runs as the
    ``postgres`` user (initdb through ``runuser``, the server through ``setpriv``,
    which execs), in a private ``/tmp/synpunkt-pg-*``
    directory that user can reach; ``stop()`` is a fast shutdown (SIGINT: open
    sessions are cut), ``start()`` again comes back on the same port."""

    name = "postgres"
    host = HOST

    def __init__(self, *, port: int | None = None) -> None:
        super().__init__()
        self.bin = postgres_bin()
        if self.bin is None:
            raise ServerError("PostgreSQL is not installed (apt-get install postgresql)")
        self.dir = Path(tempfile.mkdtemp(prefix="synpunkt-pg-", dir="/tmp"))
        weakref.finalize(self, shutil.rmtree, self.dir, True)
        self._prefix: list[str] = []  # initdb
        self._exec_as: list[str] = []  # the server: setpriv execs, so signals reach it
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._prefix = ["runuser", "-u", "postgres", "--"]
            self._exec_as = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                             "--init-groups"]
        self.data = self.dir / "data"
        self.log_path = self.dir / "postgres.log"
        self._port = port or free_port()

    @property
    def port(self) -> int:
        return self._port

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"

    def start(self, timeout: float = 30.0) -> None:
        assert self.bin is not None
        began = time.monotonic()
        if not (self.data / "PG_VERSION").exists():
            subprocess.run([*self._prefix, str(self.bin / "initdb"), "-D", str(self.data),
                            "-U", "postgres", "--auth=trust", "-E", "UTF8",
                            "--locale=C.UTF-8", "--no-sync"],
                           check=True, capture_output=True, timeout=120)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the server's stderr
        with log:
            self._spawn([*self._exec_as, str(self.bin / "postgres"), "-D", str(self.data),
                         "-p", str(self.port), "-k", str(self.dir),
                         "-c", f"listen_addresses={self.host}", "-c", "fsync=off",
                         "-c", "max_connections=200"], stdout=log, stderr=log)
        deadline = began + timeout
        while not self._ready():
            self._check_alive(self.log_path)
            if time.monotonic() > deadline:
                self.kill9()
                raise ServerError(f"postgres did not accept connections on {self.port} "
                                  f"within {timeout} s" + log_tail(self.log_path))
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - began

    def _ready(self) -> bool:
        assert self.bin is not None
        done = subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", self.host,
                               "-p", str(self.port)], capture_output=True, timeout=10)
        return done.returncode == 0

    def stop(self, timeout: float = 10.0) -> None:
        """Fast shutdown: SIGINT to the postmaster cuts every session; what is
        left after ``timeout`` is SIGTERMed and then SIGKILLed by the group."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=timeout)
        super().stop()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server at ``server_url``,
    yielded as its URL and dropped afterwards (sessions still open are cut)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{os.urandom(6).hex()}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
