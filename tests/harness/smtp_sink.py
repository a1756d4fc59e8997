"""A real SMTP server for tests: accepts mail and writes every message to a directory.

    python tests/harness/smtp_sink.py --port N --dir D --control C [--auth user:pw]
        [--tls starttls|implicit --cert CERT --key KEY] [--host H]

Runs until SIGTERM/SIGINT. Prints "ready" on stdout once it listens on 127.0.0.1:N.

Each accepted message becomes ``D/<time_ns>-<counter>.eml`` (the bytes exactly as
received after dot-unstuffing), written atomically (``D/.tmp/`` + rename), next to
a ``.json`` file with the envelope (written first, so an ``.eml`` always has one).
File names sort by arrival. Then one line ``{"name": …, "rcpt_tos": […]}`` is
appended to ``D/.arrivals.jsonl``: a reader that follows the sink (the load
benchmark) reads what is new instead of listing a folder of 100,000 files.
The files are not fsynced: the sink stands for the far end, whose durability is
not under test, and a killed process loses nothing the kernel has.

Behaviour is switched through files in C, so a test in another process can change
it while the sink runs (read at every command):

* ``C/reply.json`` ``{"code": 451, "text": "4.3.0 Try again later", "at": "DATA"}``
  makes the sink answer that reply to every MAIL, RCPT or DATA (``at``) instead of
  accepting. No file: accept.
* ``C/hold.json`` ``{"at": "RCPT"}`` makes the sink wait, before answering every
  RCPT (``at``: RCPT), or after storing each message and before answering its
  end of DATA (``at``: DATA), for as long as the file exists: a client can be
  killed there, before or after its point of no return.

With ``--auth user:pw`` the sink offers AUTH PLAIN and LOGIN without TLS and
refuses MAIL (530) until the client has authenticated with exactly that pair.
With ``--tls starttls`` it offers STARTTLS and refuses everything else (530)
until the client has started it; with ``--tls implicit`` it speaks TLS from
the first byte (SMTPS). The envelope's ``.json`` says whether the message
came over TLS.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import ssl
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

REPLY_FILE = "reply.json"
HOLD_FILE = "hold.json"
ARRIVALS = ".arrivals.jsonl"
_COUNTER = itertools.count()


def _control_reply(control: Path, stage: str) -> str | None:
    try:
        data = json.loads((control / REPLY_FILE).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if str(data.get("at", "DATA")).upper() != stage:
        return None
    return f"{int(data['code'])} {data.get('text') or 'Refused by the test sink'}"


async def _hold(control: Path, stage: str) -> None:
    while True:
        try:
            data = json.loads((control / HOLD_FILE).read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return
        if str(data.get("at", "")).upper() != stage:
            return
        await asyncio.sleep(0.05)


class SinkHandler:
    def __init__(self, directory: Path, control: Path) -> None:
        self.directory = directory
        self.control = control
        self.tmp = directory / ".tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.arrivals = os.open(directory / ARRIVALS, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                                0o644)

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        refused = _control_reply(self.control, "MAIL")
        if refused:
            return refused
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        refused = _control_reply(self.control, "RCPT")
        if refused:
            return refused
        await _hold(self.control, "RCPT")
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        refused = _control_reply(self.control, "DATA")
        if refused:
            return refused
        content = envelope.original_content or b""
        name = f"{time.time_ns():020d}-{next(_COUNTER):06d}"
        meta: dict[str, Any] = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "mail_options": list(envelope.mail_options),
            "peer": list(session.peer) if isinstance(session.peer, tuple) else session.peer,
            "authenticated": bool(session.authenticated),
            # STARTTLS sets the session's; SMTPS is TLS below the protocol
            "tls": session.ssl is not None or (
                server.transport is not None
                and server.transport.get_extra_info("ssl_object") is not None),
        }
        for suffix, blob in ((".json", json.dumps(meta).encode()), (".eml", content)):
            tmp = self.tmp / (name + suffix)
            tmp.write_bytes(blob)
            os.rename(tmp, self.directory / (name + suffix))
        line = json.dumps({"name": name, "rcpt_tos": meta["rcpt_tos"]}) + "\n"
        os.write(self.arrivals, line.encode())  # one write to an O_APPEND file: whole lines
        await _hold(self.control, "DATA")
        return "250 2.0.0 OK: queued as " + name


class Authenticator:
    def __init__(self, user: str, password: str) -> None:
        self.user = user.encode()
        self.password = password.encode()

    def __call__(self, server: SMTP, session: Session, envelope: Envelope,
                 mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == self.user and auth_data.password == self.password)
        return AuthResult(success=ok, handled=False)


async def serve(port: int, directory: Path, control: Path, auth: tuple[str, str] | None,
                tls: str | None = None, context: ssl.SSLContext | None = None,
                host: str = "127.0.0.1") -> None:
    handler = SinkHandler(directory, control)
    authenticator = Authenticator(*auth) if auth else None
    loop = asyncio.get_running_loop()
    starttls = context if tls == "starttls" else None

    def factory() -> SMTP:
        return SMTP(handler, hostname="sink.test", enable_SMTPUTF8=True, decode_data=False,
                    authenticator=authenticator, auth_required=auth is not None,
                    auth_require_tls=False, tls_context=starttls,
                    require_starttls=starttls is not None, loop=loop)

    server = await loop.create_server(factory, host=host, port=port,
                                      ssl=context if tls == "implicit" else None)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--control", type=Path, required=True)
    parser.add_argument("--auth", help="user:password; require AUTH PLAIN/LOGIN")
    parser.add_argument("--tls", choices=["starttls", "implicit"])
    parser.add_argument("--cert", type=Path, help="PEM certificate, with --tls")
    parser.add_argument("--key", type=Path, help="PEM private key, with --tls")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    args = parser.parse_args(argv)
    context = None
    if args.tls is not None:
        if args.cert is None or args.key is None:
            parser.error("--tls needs --cert and --key")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
    auth: tuple[str, str] | None = None
    if args.auth is not None:
        user, sep, password = args.auth.partition(":")
        if not sep:
            parser.error("--auth needs user:password")
        auth = (user, password)
    args.dir.mkdir(parents=True, exist_ok=True)
    args.control.mkdir(parents=True, exist_ok=True)
    # aiosmtpd warns that AUTH without TLS is insecure: that is the point of a test sink.
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    asyncio.run(serve(args.port, args.dir, args.control, auth, args.tls, context, args.host))
    return 0


if __name__ == "__main__":
    sys.exit(main())
