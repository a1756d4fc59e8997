"""A private SpamAssassin ``spamd`` for the tests: Debian's package, its
shipped rules, local tests only (no network here), on a free port."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from tests.harness.process import ServerError, ServerProcess, free_port, port_open, run_as


def spamd_binary() -> str | None:
    return shutil.which("spamd") or ("/usr/sbin/spamd" if os.path.exists("/usr/sbin/spamd")
                                     else None)


class Spamd(ServerProcess):
    name = "spamd"
    host = "127.0.0.1"

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.log_path = self.root / "spamd.log"
        self.port = free_port()

    def url(self) -> str:
        return f"spamd://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        binary = spamd_binary()
        if binary is None:
            raise ServerError("spamd is not installed (apt-get install spamd spamassassin; "
                              "tests/run does it)")
        argv = [binary, "--local", f"--listen={self.host}:{self.port}", "--nouser-config",
                "--max-children=2", "--syslog=stderr", f"--pidfile={self.root / 'spamd.pid'}"]
        if os.geteuid() == 0:  # spamd refuses to serve as root
            who = run_as()
            argv += [f"--username={who.user}", f"--groupname={who.group}"]
        with open(self.log_path, "ab") as log:
            self._spawn(argv, stdout=log, stderr=log, cwd=self.root)
        deadline = time.monotonic() + timeout
        while not port_open(self.port, self.host):
            self._check_alive(self.log_path)
            if time.monotonic() > deadline:
                self.kill9()
                raise ServerError(f"spamd did not listen on {self.port} within {timeout} s")
            time.sleep(0.1)

