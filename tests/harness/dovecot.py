"""A private Dovecot (IMAP/IMAPS) for tests, with its own config, users, mail and TLS cert.

``dovecot -F -c FILE``; the config is written by ``tests/harness/dovecot_config.py``
(2.3 syntax, verified with 2.3.19.1; the 2.4 config is written from the upgrade
notes and was never started here). As root it runs as ``nobody:nogroup`` through
``setpriv``, so everything it touches must be reachable by that user. pytest's
``/tmp/pytest-of-root`` is mode 0700, so as root the instance's files go to a
private ``/tmp/synpunkt-dovecot-*`` directory instead (``Dovecot.dir``; a symlink
``<root>/instance`` points at it, and ``close()`` removes it).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from tests.harness.dovecot_config import config_text
from tests.harness.process import (
    HOST,
    RunAs,
    ServerError,
    ServerProcess,
    free_ports,
    log_tail,
    run_as,
)
from tests.harness.tls import self_signed_cert

if TYPE_CHECKING:
    from imapclient import IMAPClient


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


@functools.cache
def dovecot_version() -> tuple[int, ...] | None:
    """(2, 3, 19, 1) for "2.3.19.1 (9b53102964)"; None without Dovecot."""
    binary = dovecot_binary()
    if binary is None:
        return None
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.match(r"\s*(\d+(?:\.\d+)*)", out)
    return tuple(int(p) for p in match.group(1).split(".")) if match else None


def dovecot_available() -> bool:
    """Dovecot and openssl are installed (and setpriv when running as root)."""
    if dovecot_binary() is None or shutil.which("openssl") is None:
        return False
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return False
    return dovecot_version() is not None


def dovecot_missing_reason() -> str:
    missing = [tool for tool, ok in (("dovecot (apt-get install dovecot-imapd)",
                                      dovecot_binary() is not None),
                                     ("openssl", shutil.which("openssl") is not None),
                                     ("setpriv (util-linux)", os.geteuid() != 0
                                      or shutil.which("setpriv") is not None)) if not ok]
    return "missing: " + ", ".join(missing) if missing else "dovecot --version failed"


def _reachable(path: Path, who: RunAs) -> bool:
    """Can ``who`` traverse every directory down to ``path``?"""
    for part in (path, *path.parents):
        st = part.stat()
        if st.st_uid == who.uid:
            bit = stat.S_IXUSR
        elif st.st_gid == who.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")
# Longest socket name Dovecot puts in base_dir is ~25 bytes; sun_path holds 107.
_MAX_BASE_DIR = 75


class Dovecot(ServerProcess):
    """A private Dovecot IMAP server with its own config, users, mail and TLS cert.

    Users are virtual (passwd-file, PLAIN passwords); mail is Maildir under
    ``dir/mail/<domain>/<user>/Maildir``. The INBOX namespace auto-creates and
    subscribes ``processed_folder`` ("Behandlad", separator "/").
    """

    name = "dovecot"
    _kill_lone_leader = True
    host = HOST
    processed_folder = "Behandlad"
    separator = "/"

    def __init__(self, root: Path, *, port: int | None = None,
                 imaps_port: int | None = None,
                 oauth2_introspection_url: str | None = None) -> None:
        """``oauth2_introspection_url``: also accept XOAUTH2/OAUTHBEARER, checking each
        token by GET to this URL with ``Authorization: Bearer``; the JSON answer's
        ``mail`` names the user (as Microsoft Graph's /me does). Dovecot 2.3 only."""
        super().__init__()
        self.oauth2_introspection_url = oauth2_introspection_url
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.version = dovecot_version()
        if self.version is None:
            raise ServerError(f"Dovecot is not usable here: {dovecot_missing_reason()}")
        self._as = run_as()
        self._private_dir: Path | None = None
        directory = self.root.resolve()
        if (not _reachable(directory, self._as) or len(str(directory / "run")) > _MAX_BASE_DIR
                or re.search(r'[\s"\'#{}<>%$\\]', str(directory))):
            directory = Path(tempfile.mkdtemp(prefix="synpunkt-dovecot-",
                                              dir=self._public_tmp()))
            self._private_dir = directory
            weakref.finalize(self, shutil.rmtree, directory, True)
            link = self.root / "instance"
            with contextlib.suppress(OSError):
                link.unlink()
            with contextlib.suppress(OSError):
                link.symlink_to(directory, target_is_directory=True)
        self.dir = directory
        ports = free_ports(2)
        self._port = port or ports[0]
        self._imaps_port = imaps_port or ports[1]
        self._users: dict[str, str] = {}
        for sub in ("mail", "state", "run"):
            (self.dir / sub).mkdir(exist_ok=True)
        cert, key = self_signed_cert()
        shutil.copyfile(cert, self.cafile)
        shutil.copyfile(key, self.dir / "key.pem")
        os.chmod(self.dir / "key.pem", 0o600)
        self._write_users()
        self.config_path.write_text(self._config(), "utf-8")
        self._own(self.dir)

    def _public_tmp(self) -> str:
        for candidate in (tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"):
            path = Path(candidate)
            if path.is_dir() and _reachable(path, self._as) and os.access(path, os.W_OK):
                return candidate
        raise ServerError(f"no temp dir that {self._as.user} can reach")

    # -- properties

    @property
    def port(self) -> int:
        return self._port

    @property
    def imaps_port(self) -> int:
        return self._imaps_port

    @property
    def cafile(self) -> Path:
        """The self-signed certificate (PEM): trust it for IMAPS."""
        return self.dir / "cert.pem"

    @property
    def config_path(self) -> Path:
        return self.dir / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.dir / "dovecot.log"

    @property
    def base_dir(self) -> Path:
        return self.dir / "run"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly this server's certificate."""
        return ssl.create_default_context(cafile=str(self.cafile))

    def url(self, user: str, password: str, folder: str = "INBOX", tls: bool = False) -> str:
        userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}"
        scheme, port = ("imaps", self.imaps_port) if tls else ("imap", self.port)
        return f"{scheme}://{userinfo}@{self.host}:{port}/{quote(folder, safe='/')}"

    # -- users and config

    def add_user(self, name: str, password: str) -> None:
        """Add (or change) a user; best before ``start()``.

        While running it takes up to 1 s: Dovecot's auth process re-stats the
        passwd-file at most once per wall-clock second, so this waits for the next
        second (and gives the file a new mtime) before the change is certain to be seen.
        """
        for value in (name, password):
            if not value or any(c in value for c in ":\r\n\0"):
                raise ValueError(f"unusable in a passwd-file: {value!r}")
        self._users[name] = password
        self._write_users()
        if self.running:
            now = time.time()
            time.sleep(1.0 - now % 1.0 + 0.01)

    def _write_users(self) -> None:
        lines = "".join(f"{n}:{{PLAIN}}{p}::::::\n" for n, p in self._users.items())
        target = self.dir / "users"
        tmp = self.dir / "users.tmp"
        tmp.write_text(lines, "utf-8")
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileNotFoundError):  # a new mtime, even within a second
            old = int(target.stat().st_mtime)
            stamp = max(time.time(), old + 1.0)
            os.utime(tmp, (stamp, stamp))
        self._own(tmp)
        tmp.replace(target)

    def _own(self, path: Path) -> None:
        if os.geteuid() != 0:
            return
        targets = [path]
        if path.is_dir():
            targets += list(path.rglob("*"))
        for target in targets:
            os.lchown(target, self._as.uid, self._as.gid)

    def _config(self) -> str:
        return config_text(directory=self.dir, version=self.version, who=self._as,
                           port=self.port, imaps_port=self.imaps_port, separator=self.separator,
                           processed_folder=self.processed_folder,
                           oauth2_introspection_url=self.oauth2_introspection_url)

    # -- lifecycle

    def start(self, timeout: float = 10.0) -> None:
        """Start ``dovecot -F``; wait (≤ timeout) for the greeting on both ports (IMAPS
        through TLS with ``cafile``, so a broken certificate fails here)."""
        binary = dovecot_binary()
        if binary is None:
            raise ServerError(f"Dovecot is not usable here: {dovecot_missing_reason()}")
        began = time.monotonic()
        # A previous run's base_dir (master.pid, sockets) can make the master refuse to
        # start, and a master killed while it held state/instances.lock leaves that
        # dotlock behind: the next master then waits on it, silently, for many seconds.
        shutil.rmtree(self.base_dir, ignore_errors=True)
        for lock in (self.dir / "state").glob("*.lock"):
            lock.unlink(missing_ok=True)
        self.base_dir.mkdir()
        self._own(self.base_dir)
        self.config_path.write_text(self._config(), "utf-8")
        self._own(self.config_path)
        stderr_log = self.dir / "dovecot.stderr"
        with open(stderr_log, "ab") as err:
            self._spawn([*self._as.prefix, binary, "-F", "-c", str(self.config_path)],
                        stdout=err, stderr=err)
        deadline = began + timeout
        while True:
            self._check_alive(self.log_path)
            if self._greets(self.port) and self._greets(self.imaps_port, tls=True):
                break
            if time.monotonic() > deadline:
                self.kill9()
                raise ServerError(f"Dovecot did not answer on {self.port}/{self.imaps_port} "
                                  f"within {timeout} s" + log_tail(self.log_path, stderr_log))
            time.sleep(0.01)
        self.startup_seconds = time.monotonic() - began

    def _greets(self, port: int, tls: bool = False) -> bool:
        """Does the port answer with an IMAP greeting (after a TLS handshake)?"""
        try:
            with socket.create_connection((self.host, port), timeout=1.0) as raw:
                if not tls:
                    return raw.recv(256).startswith(b"* OK")
                with self.ssl_context().wrap_socket(raw, server_hostname="localhost") as s:
                    return s.recv(256).startswith(b"* OK")
        except OSError:  # includes ssl.SSLError
            return False

    def restart(self, timeout: float = 10.0) -> None:
        """Stop, clear the stale runtime state and start again on the same ports."""
        self.stop()
        self.start(timeout)

    def close(self) -> None:
        """Stop, and remove the private directory if one was used."""
        self.stop()
        if self._private_dir is not None:
            shutil.rmtree(self._private_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                (self.root / "instance").unlink()

    # -- IMAP conveniences (imapclient)

    def client(self, user: str, password: str, tls: bool = False,
               timeout: float = 10.0) -> IMAPClient:
        """A logged-in imapclient connection (plain port, or IMAPS trusting ``cafile``)."""
        from imapclient import IMAPClient

        if tls:
            c = IMAPClient(self.host, self.imaps_port, ssl=True,
                           ssl_context=self.ssl_context(), timeout=timeout)
        else:
            c = IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        try:
            c.login(user, password)
        except BaseException:
            with contextlib.suppress(Exception):
                c.shutdown()
            raise
        return c

    @contextlib.contextmanager
    def session(self, user: str, password: str, tls: bool = False) -> Iterator[IMAPClient]:
        """``with dovecot.session(u, p) as c:`` — logs out (or just closes) afterwards."""
        c = self.client(user, password, tls=tls)
        try:
            yield c
        finally:
            try:
                c.logout()
            except Exception:
                with contextlib.suppress(Exception):
                    c.shutdown()

    def append(self, user: str, password: str, raw: bytes, folder: str = "INBOX") -> int:
        """APPEND over the plain port; returns the UID from APPENDUID."""
        with self.session(user, password) as c:
            response = c.append(folder, raw)
        found = _APPENDUID.search(response if isinstance(response, bytes) else b"")
        if not found:
            raise ServerError(f"APPEND answered without APPENDUID: {response!r}")
        return int(found.group(2))

    def append_many(self, user: str, password: str, raws: list[bytes],
                    folder: str = "INBOX") -> None:
        """APPEND each of ``raws`` in turn over one connection: a mailbox
        filled before a test, without a login (and Dovecot's new imap
        process) for every mail."""
        with self.session(user, password) as c:
            for raw in raws:
                c.append(folder, raw)

    def count(self, user: str, password: str, folder: str = "INBOX") -> int:
        with self.session(user, password) as c:
            status = c.folder_status(folder, ["MESSAGES"])
        return int(status[b"MESSAGES"])

    def fetch_all(self, user: str, password: str, folder: str = "INBOX") -> list[bytes]:
        """Every message in the folder, by UID, without setting \\Seen."""
        with self.session(user, password) as c:
            c.select_folder(folder, readonly=True)
            uids = sorted(int(u) for u in c.search("ALL"))
            if not uids:
                return []
            data = c.fetch(uids, ["BODY.PEEK[]"])
        return [bytes(data[uid][b"BODY[]"]) for uid in uids]
