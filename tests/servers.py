"""Real servers for tests: a private Dovecot (IMAP/IMAPS), an SMTP sink, and Redis.

Every server runs as a separate process in its own process group, on a free
port on 127.0.0.1, with all its files under a directory the test gives it
(pytest's ``tmp_path``). ``stop()`` kills the whole group (SIGTERM, then SIGKILL),
``kill9()`` SIGKILLs it at once, ``start()`` again comes back on the same port.
Use them as context managers, or call ``close()`` in a ``finally``/fixture
teardown; any group still alive when the interpreter exits is SIGKILLed.

No pytest in here: the fixtures live in the tests.

Dovecot (``dovecot -F -c FILE``; 2.3 syntax, verified with 2.3.19.1; the 2.4
config is written from the upgrade notes and was never started here): as root it
runs as ``nobody:nogroup`` through ``setpriv``, so everything it touches must be
reachable by that user. pytest's ``/tmp/pytest-of-root`` is mode 0700, so as root
the instance's files go to a private ``/tmp/synpunkt-dovecot-*`` directory instead
(``Dovecot.dir``; a symlink ``<root>/instance`` points at it, and ``close()``
removes it).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Self
from urllib.parse import quote

if TYPE_CHECKING:
    from imapclient import IMAPClient

HOST = "127.0.0.1"
SMTP_SINK_SCRIPT = Path(__file__).with_name("smtp_sink.py")
DEFAULT_REDIS_DB = 15

# ---------------------------------------------------------------------------
# ports and process groups


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (the sockets are held until all are picked)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(port: int, host: str = HOST, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


_LIVE_GROUPS: set[int] = set()


@atexit.register
def _kill_leftover_groups() -> None:
    for pgid in list(_LIVE_GROUPS):
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)


def _group_alive(pgid: int, *, besides: int | None = None) -> bool:
    """True while a process (not a zombie) of the group, other than ``besides``, is alive.

    Zombies count as gone: children orphaned by a killed master are reaped by PID 1,
    which here can take seconds. Without /proc, ``besides`` is ignored.
    """
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit() or entry.name == str(besides):
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2:].split()
        # fields: state ppid pgrp ...
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


def _wait_group_gone(pgid: int, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return True
        time.sleep(0.01)
    return not _group_alive(pgid)


class ServerError(RuntimeError):
    """A server did not start (the message includes the end of its log)."""


class _Process:
    """One server process started in its own process group."""

    name = "server"
    # Dovecot's master sleeps up to 1 s after SIGTERM waiting for children that are
    # already gone; once only the leader is left it is SIGKILLed instead.
    _kill_lone_leader = False

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self.startup_seconds: float | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _spawn(self, argv: Sequence[str], *, stdout: int | IO[Any] | None,
               stderr: int | IO[Any] | None, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        if self.running:
            raise ServerError(f"{self.name} is already running (pid {self.pid})")
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=stderr, cwd=cwd, start_new_session=True)
        self._proc = proc
        _LIVE_GROUPS.add(proc.pid)
        return proc

    def _signal_group(self, sig: int) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._proc.pid, sig)

    def _reap(self, deadline: float) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        _wait_group_gone(proc.pid, deadline)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the whole process group; SIGKILL what is left after ``timeout``.

        SIGTERM is repeated every 0.1 s: a child forked a moment ago (Dovecot forks a
        login process per connection) can lose a signal that arrives before it has
        installed its handlers, and would then keep its master waiting.
        """
        proc = self._proc
        if proc is None:
            return
        deadline = time.monotonic() + timeout
        next_term = 0.0
        while True:
            now = time.monotonic()
            if now >= next_term:
                self._signal_group(signal.SIGTERM)
                next_term = now + 0.1
            if proc.poll() is not None and not _group_alive(proc.pid):
                break
            if (self._kill_lone_leader and proc.poll() is None
                    and not _group_alive(proc.pid, besides=proc.pid)):
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            if now >= deadline:
                self._signal_group(signal.SIGKILL)
                self._reap(time.monotonic() + 5.0)
                break
            time.sleep(0.005)
        self._forget()

    def kill9(self) -> None:
        """SIGKILL the whole process group at once (a crash, as far as clients can tell)."""
        if self._proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self._reap(time.monotonic() + 5.0)
        self._forget()

    def _forget(self) -> None:
        proc = self._proc
        if proc is None:
            return
        proc.poll()
        if proc.returncode is None:  # cannot happen after SIGKILL, but never leak
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        _LIVE_GROUPS.discard(proc.pid)
        self._proc = None

    def _check_alive(self, log: Path | None) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is not None:
            code = proc.returncode
            self._signal_group(signal.SIGKILL)  # children it may have left behind
            self._reap(time.monotonic() + 5.0)
            self._forget()
            raise ServerError(f"{self.name} exited with {code} while starting"
                              + _log_tail(log))

    def close(self) -> None:
        self.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


def _log_tail(*logs: Path | None, lines: int = 30) -> str:
    out = []
    for log in logs:
        if log is not None and log.exists():
            text = log.read_text("utf-8", "replace").splitlines()[-lines:]
            out.append(f"\n--- {log} ---\n" + "\n".join(text))
    return "".join(out)


# ---------------------------------------------------------------------------
# Dovecot


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


@dataclass(frozen=True)
class _RunAs:
    uid: int
    gid: int
    user: str
    group: str

    @property
    def prefix(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--clear-groups"]


def _run_as() -> _RunAs:
    if os.geteuid() == 0:
        user = pwd.getpwnam("nobody")
        group = "nogroup"
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            gid = user.pw_gid
            group = grp.getgrgid(gid).gr_name
        return _RunAs(user.pw_uid, gid, user.pw_name, group)
    uid, gid = os.getuid(), os.getgid()
    return _RunAs(uid, gid, pwd.getpwuid(uid).pw_name, grp.getgrgid(gid).gr_name)


def _reachable(path: Path, who: _RunAs) -> bool:
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


_CERT_CACHE: Path | None = None


def _self_signed_cert() -> tuple[Path, Path]:
    """(cert, key) for CN=localhost, SAN DNS:localhost,IP:127.0.0.1; made once per process."""
    global _CERT_CACHE
    if _CERT_CACHE is None or not (_CERT_CACHE / "cert.pem").exists():
        cache = Path(tempfile.mkdtemp(prefix="synpunkt-cert-"))
        atexit.register(shutil.rmtree, cache, True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "7",
             "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(cache / "key.pem"), "-out", str(cache / "cert.pem")],
            check=True, capture_output=True, timeout=60)
        _CERT_CACHE = cache
    return _CERT_CACHE / "cert.pem", _CERT_CACHE / "key.pem"


_APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")
# Longest socket name Dovecot puts in base_dir is ~25 bytes; sun_path holds 107.
_MAX_BASE_DIR = 75


class Dovecot(_Process):
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
        self._as = _run_as()
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
        cert, key = _self_signed_cert()
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
        v = self.version or (2, 3)
        d = self.dir
        common_services = f"""
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {HOST}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # The auth process cannot connect here, so it disables its failure penalty
  # (otherwise a wrong password delays this IP's next logins by 2, 4, ... 15 s).
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
namespace inbox {{
  inbox = yes
  separator = {self.separator}
  mailbox {self.processed_folder} {{
    auto = subscribe
  }}
}}
"""
        if v[:2] >= (2, 4):
            # Written from the 2.3 -> 2.4 upgrade notes; only 2.3 was started here.
            return f"""dovecot_config_version = 2.4.0
dovecot_storage_version = 2.4.0
# Written by tests/servers.py for Dovecot {".".join(map(str, v))}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = {HOST}
auth_allow_cleartext = yes
auth_failure_delay = 0
default_internal_user = {self._as.user}
default_internal_group = {self._as.group}
default_login_user = {self._as.user}
mail_driver = maildir
mail_path = ~/Maildir
mail_home = {d}/mail/%{{user | domain}}/%{{user | username}}
mail_uid = {self._as.uid}
mail_gid = {self._as.gid}
mail_max_userip_connections = 100
ssl = yes
ssl_server_cert_file = {d}/cert.pem
ssl_server_key_file = {d}/key.pem
passdb passwd-file {{
  passwd_file_path = {d}/users
}}
userdb passwd-file {{
  passwd_file_path = {d}/users
}}
""" + common_services
        oauth2 = ""
        if self.oauth2_introspection_url:
            (d / "dovecot-oauth2.conf.ext").write_text(
                "introspection_mode = auth\n"
                f"introspection_url = {self.oauth2_introspection_url}\n"
                "username_attribute = mail\n", "utf-8")
            oauth2 = f"""auth_mechanisms = plain login xoauth2 oauthbearer
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {d}/dovecot-oauth2.conf.ext
}}
"""
        return f"""# Written by tests/servers.py for Dovecot {".".join(map(str, v))}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = {HOST}
disable_plaintext_auth = no
auth_failure_delay = 0
default_internal_user = {self._as.user}
default_internal_group = {self._as.group}
default_login_user = {self._as.user}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100
ssl = yes
ssl_cert = <{d}/cert.pem
ssl_key = <{d}/key.pem
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
  default_fields = uid={self._as.uid} gid={self._as.gid} home={d}/mail/%d/%n
}}
""" + oauth2 + common_services

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
                                  f"within {timeout} s" + _log_tail(self.log_path, stderr_log))
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


# ---------------------------------------------------------------------------
# SMTP sink


@dataclass(frozen=True)
class Delivery:
    """One message the sink accepted."""

    name: str
    mail_from: str | None
    rcpt_tos: list[str]
    raw: bytes
    authenticated: bool


class SmtpSink(_Process):
    """``tests/smtp_sink.py`` (aiosmtpd) in its own process: accepts and stores mail.

    Messages land in ``root/messages`` as ``<time_ns>-<n>.eml`` (+ ``.json``
    envelope). Behaviour is switched with files in ``root/control``, so
    ``set_reply`` works from any process that knows ``control_dir``.
    """

    name = "smtp sink"
    host = HOST

    def __init__(self, root: Path, *, auth: tuple[str, str] | None = None,
                 port: int | None = None) -> None:
        super().__init__()
        self.root = Path(root)
        self.messages_dir = self.root / "messages"
        self.control_dir = self.root / "control"
        self.log_path = self.root / "smtp_sink.log"
        for d in (self.messages_dir, self.control_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self._port = port or free_port()

    @property
    def port(self) -> int:
        return self._port

    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start the sink and wait (≤ timeout) for its "ready" line."""
        began = time.monotonic()
        argv = [sys.executable, str(SMTP_SINK_SCRIPT), "--port", str(self.port),
                "--dir", str(self.messages_dir), "--control", str(self.control_dir)]
        if self.auth is not None:
            argv += ["--auth", f"{self.auth[0]}:{self.auth[1]}"]
        with open(self.log_path, "ab") as err:
            proc = self._spawn(argv, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        deadline = began + timeout
        os.set_blocking(proc.stdout.fileno(), False)
        buffered = b""
        while b"ready\n" not in buffered:
            self._check_alive(self.log_path)
            if time.monotonic() > deadline:
                self.kill9()
                raise ServerError(f"smtp sink did not get ready on {self.port} within "
                                  f"{timeout} s" + _log_tail(self.log_path))
            chunk = proc.stdout.read()
            if chunk:
                buffered += chunk
            else:
                time.sleep(0.01)
        self.startup_seconds = time.monotonic() - began

    def set_reply(self, code: int | None, text: str = "", at: str = "DATA") -> None:
        """Answer ``code text`` to every ``at`` (MAIL, RCPT or DATA); None: accept again."""
        target = self.control_dir / "reply.json"
        if code is None:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
            return
        if at.upper() not in ("MAIL", "RCPT", "DATA"):
            raise ValueError(f"at must be MAIL, RCPT or DATA, not {at!r}")
        if not text:
            text = ("4.3.0 Temporary failure (test sink)" if 400 <= code < 500
                    else "5.7.1 Refused (test sink)")
        tmp = self.control_dir / "reply.json.tmp"
        tmp.write_text(json.dumps({"code": code, "text": text, "at": at.upper()}), "utf-8")
        tmp.replace(target)

    def hold(self, at: str | None) -> None:
        """Wait before answering each RCPT (``at="RCPT"``), or after storing
        each message before answering its end of DATA (``at="DATA"``); None:
        answer again."""
        target = self.control_dir / "hold.json"
        if at is None:
            target.unlink(missing_ok=True)
            return
        if at.upper() not in ("RCPT", "DATA"):
            raise ValueError(f"at must be RCPT or DATA, not {at!r}")
        tmp = self.control_dir / "hold.json.tmp"
        tmp.write_text(json.dumps({"at": at.upper()}), "utf-8")
        tmp.replace(target)

    def deliveries(self) -> list[Delivery]:
        out = []
        for eml in sorted(self.messages_dir.glob("*.eml")):
            meta: dict[str, Any] = {}
            with contextlib.suppress(FileNotFoundError, ValueError):
                meta = json.loads(eml.with_suffix(".json").read_text("utf-8"))
            out.append(Delivery(eml.stem, meta.get("mail_from"), list(meta.get("rcpt_tos", [])),
                                eml.read_bytes(), bool(meta.get("authenticated"))))
        return out

    def messages(self) -> list[bytes]:
        """Every accepted message, in order of arrival."""
        return [eml.read_bytes() for eml in sorted(self.messages_dir.glob("*.eml"))]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[bytes]:
        """Poll until at least ``count`` messages arrived; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages()
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.01)

    def clear(self) -> None:
        for f in self.messages_dir.iterdir():
            if f.is_file():
                f.unlink()


# ---------------------------------------------------------------------------
# Redis


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


class RedisServer(_Process):
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
                                  f"{timeout} s" + _log_tail(self.log_path))
            time.sleep(0.01)
        self.startup_seconds = time.monotonic() - began


# ---------------------------------------------------------------------------
# PostgreSQL


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` with initdb and postgres, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    return found[-1].parent if found else None


class PostgresServer(_Process):
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
                                  f"within {timeout} s" + _log_tail(self.log_path))
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

