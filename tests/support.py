"""Helpers the tests share: the mail fixtures and running the real command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).parent / "fixtures" / "mail"


def manifest() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = yaml.safe_load((FIXTURES / "manifest.yaml").read_text("utf-8"))
    return entries


def synpunkt_cmd() -> str:
    found = Path(sys.executable).parent / "synpunkt"
    return str(found) if found.exists() else (shutil.which("synpunkt") or "synpunkt")


def run_cli(*args: str, home: Path, env: dict[str, str] | None = None,
            check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SYNPUNKT_")}
    full_env["SYNPUNKT_HOME"] = str(home)
    full_env.update(env or {})
    proc = subprocess.run([synpunkt_cmd(), *args], env=full_env, capture_output=True,
                          text=True, timeout=300, input=stdin.decode() if stdin else None)
    if check and proc.returncode != 0:
        raise AssertionError(f"synpunkt {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class FixedClassifier:
    """The classifier seam with a triage chosen by the test, so that routing,
    the register and the outbox are tested without depending on the model."""

    def __init__(self, triage: Any) -> None:
        self.triage = triage

    def classify(self, message: Any) -> Any:
        return self.triage

    def classify_many(self, messages: list[Any]) -> list[Any]:
        return [self.triage for _ in messages]



@contextmanager
def serve_web(app: Any, enqueue: Any = None) -> Iterator[str]:
    """`synpunkt web`'s application on a free loopback port, in this process."""
    import threading
    import time

    import uvicorn

    from review.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(
        create_app(app, enqueue or (lambda _inbound_id: None)), host="127.0.0.1", port=port,
        log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "web server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
