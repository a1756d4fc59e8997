"""The SMTP sink as the tests drive it: ``tests/harness/smtp_sink.py`` (aiosmtpd)
started in its own process group, switched through files, its mail read back
from its directory."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.harness.process import HOST, ServerError, ServerProcess, free_port, log_tail
from tests.harness.tls import self_signed_cert

SMTP_SINK_SCRIPT = Path(__file__).with_name("smtp_sink.py")


@dataclass(frozen=True)
class Delivery:
    """One message the sink accepted."""

    name: str
    mail_from: str | None
    rcpt_tos: list[str]
    raw: bytes
    authenticated: bool
    tls: bool = False  # came over STARTTLS or SMTPS


class SmtpSink(ServerProcess):
    """``tests/harness/smtp_sink.py`` (aiosmtpd) in its own process: accepts and stores mail.

    Messages land in ``root/messages`` as ``<time_ns>-<n>.eml`` (+ ``.json``
    envelope). Behaviour is switched with files in ``root/control``, so
    ``set_reply`` works from any process that knows ``control_dir``.
    """

    name = "smtp sink"
    host = HOST

    def __init__(self, root: Path, *, auth: tuple[str, str] | None = None,
                 port: int | None = None, tls: str | None = None,
                 host: str = HOST) -> None:
        """``tls``: "starttls" (offered and required) or "implicit" (SMTPS),
        with ``tests.harness.tls``'s certificate; ``host``: the address it
        listens on (another loopback address than 127.0.0.1 is "off
        loopback" to Synpunkt's settings)."""
        super().__init__()
        self.tls = tls
        self.host = host
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
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Start the sink and wait (≤ timeout) for its "ready" line."""
        began = time.monotonic()
        argv = [sys.executable, str(SMTP_SINK_SCRIPT), "--port", str(self.port),
                "--dir", str(self.messages_dir), "--control", str(self.control_dir)]
        if self.auth is not None:
            argv += ["--auth", f"{self.auth[0]}:{self.auth[1]}"]
        if self.tls is not None:
            cert, key = self_signed_cert()
            argv += ["--tls", self.tls, "--cert", str(cert), "--key", str(key)]
        if self.host != HOST:
            argv += ["--host", self.host]
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
                                  f"{timeout} s" + log_tail(self.log_path))
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
                                eml.read_bytes(), bool(meta.get("authenticated")),
                                bool(meta.get("tls"))))
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
