"""A content filter the kommun runs, asked about each mail the screen let
through: SpamAssassin's spamd (the SPAMC protocol over TCP) or rspamd (its
HTTP API), given as SYNPUNKT_SPAM_FILTER_URL ``spamd://host:783`` or
``rspamd://host:11333``. Their own thresholds decide, unless
SYNPUNKT_SPAM_SCORE sets one. Trouble reaching it is a TransientError: the
pipeline then lets the mail through (a citizen is never kept waiting for a
filter) and says so in the log."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from config.errors import PermanentError, TransientError

if TYPE_CHECKING:
    import httpx

_SPAMD_ANSWER = re.compile(rb"^SPAMD/\d+\.\d+\s+(\d+)\s+(\S+)")
_SPAMD_SPAM = re.compile(rb"^Spam:\s*(\w+)\s*;\s*(-?[\d.]+)\s*/\s*(-?[\d.]+)", re.IGNORECASE | re.M)


@dataclass(frozen=True, slots=True)
class Verdict:
    spam: bool
    score: float
    threshold: float
    filter: str

    @property
    def detail(self) -> str:
        return f"skräppost enligt {self.filter} ({self.score:g} av {self.threshold:g})"


class SpamFilter(Protocol):
    def check(self, raw: bytes) -> Verdict: ...


class Spamd:
    """SpamAssassin's spamd: ``CHECK SPAMC/1.5``, answered with ``Spam: True ; 7.1 / 5.0``."""

    name = "SpamAssassin"

    def __init__(self, host: str, port: int, timeout: float, score: float | None) -> None:
        self.host, self.port, self.timeout, self.score = host, port, timeout, score

    def check(self, raw: bytes) -> Verdict:
        request = (b"CHECK SPAMC/1.5\r\nContent-length: " + str(len(raw)).encode()
                   + b"\r\nUser: synpunkt\r\n\r\n" + raw)
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                sock.sendall(request)
                sock.shutdown(socket.SHUT_WR)
                answer = _read_all(sock)
        except OSError as exc:
            raise TransientError(f"spamd: {type(exc).__name__}") from exc
        status = _SPAMD_ANSWER.match(answer)
        if status is None or status.group(1) != b"0":
            raise TransientError(f"spamd svarade inte som väntat: {answer[:80]!r}")
        found = _SPAMD_SPAM.search(answer)
        if found is None:
            raise TransientError("spamd gav inget Spam:-svar")
        score, threshold = float(found.group(2)), float(found.group(3))
        limit = self.score if self.score is not None else threshold
        return Verdict(score >= limit, score, limit, self.name)


class Rspamd:
    """rspamd's HTTP API: POST /checkv2, answered with its action and score."""

    name = "rspamd"
    SPAM_ACTIONS = frozenset({"reject", "add header", "rewrite subject"})

    def __init__(self, base_url: str, timeout: float, score: float | None,
                 transport: httpx.BaseTransport | None = None) -> None:
        import httpx  # only where rspamd is asked

        self.base_url, self.score = base_url.rstrip("/"), score
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def check(self, raw: bytes) -> Verdict:
        import httpx

        try:
            response = self._client.post(f"{self.base_url}/checkv2", content=raw)
            response.raise_for_status()
            doc = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TransientError(f"rspamd: {type(exc).__name__}") from exc
        score = float(doc.get("score", 0.0))
        if self.score is not None:
            return Verdict(score >= self.score, score, self.score, self.name)
        threshold = float(doc.get("required_score", 15.0))
        return Verdict(doc.get("action") in self.SPAM_ACTIONS, score, threshold, self.name)


def _read_all(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def make_spam_filter(url: str, timeout: float, score: float | None) -> SpamFilter:
    """From ``spamd://host[:783]`` or ``rspamd://host[:11333]`` (http:// and
    https:// also mean rspamd). PermanentError for anything else."""
    parts = urlsplit(url)
    if parts.scheme == "spamd" and parts.hostname:
        return Spamd(parts.hostname, parts.port or 783, timeout, score)
    if parts.scheme in ("rspamd", "http", "https") and parts.hostname:
        scheme = "https" if parts.scheme == "https" else "http"
        netloc = parts.netloc if parts.port or parts.scheme != "rspamd" else (
            f"{parts.netloc}:11333")
        return Rspamd(f"{scheme}://{netloc}{parts.path}", timeout, score)
    raise PermanentError("SYNPUNKT_SPAM_FILTER_URL ska se ut som spamd://värd:783 eller "
                         "rspamd://värd:11333")
