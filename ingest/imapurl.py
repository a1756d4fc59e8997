"""SYNPUNKT_IMAP_URL: one or more mailboxes, each a URL.

``imaps://user:pw@host:993/INBOX``  TLS from the start
``imap://user:pw@host:143/INBOX``   STARTTLS (required unless the host is loopback)
Query options: ``auth=xoauth2`` (Microsoft 365: the password part is unused
and a token comes from the token hook), ``processed=Behandlad`` (the folder
stored mail is moved to), ``starttls=yes|no``. User info is percent-encoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from config.settings import LOOPBACK_HOSTS


@dataclass(frozen=True, slots=True)
class ImapAccount:
    host: str
    port: int
    username: str
    password: str | None
    folder: str
    implicit_tls: bool
    starttls: bool
    xoauth2: bool
    processed_folder: str

    @property
    def source(self) -> str:
        """The stable name of this mailbox: inbound.source and its checkpoint key."""
        return f"imap:{self.username}@{self.host}/{self.folder}"[:100]

    def __repr__(self) -> str:  # never print the password
        return f"ImapAccount({self.source!r}, port={self.port}, tls={self.implicit_tls})"


def parse_imap_urls(value: str, processed_folder: str = "Behandlad") -> list[ImapAccount]:
    return [parse_imap_url(u, processed_folder) for u in re.split(r"[\s,]+", value.strip()) if u]


def parse_imap_url(url: str, processed_folder: str = "Behandlad") -> ImapAccount:
    parts = urlsplit(url)
    if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
        raise ValueError("SYNPUNKT_IMAP_URL ska se ut som imaps://användare:lösenord@värd:port/INBOX")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - {"auth", "processed", "starttls"}
    if unknown:
        raise ValueError(f"SYNPUNKT_IMAP_URL: okänt alternativ {sorted(unknown)[0]!r}")
    implicit_tls = parts.scheme == "imaps"
    loopback = parts.hostname in LOOPBACK_HOSTS
    starttls_opt = query.get("starttls", "").lower()
    starttls = not implicit_tls and (starttls_opt in ("yes", "1", "true") or
                                     (not loopback and starttls_opt not in ("no", "0", "false")))
    if not implicit_tls and not starttls and not loopback:
        raise ValueError("SYNPUNKT_IMAP_URL: okrypterad IMAP är bara tillåten mot loopback")
    xoauth2 = query.get("auth", "").lower() == "xoauth2"
    password = unquote(parts.password) if parts.password else None
    if not xoauth2 and password is None:
        raise ValueError("SYNPUNKT_IMAP_URL: lösenord saknas (eller ange ?auth=xoauth2)")
    return ImapAccount(
        host=parts.hostname,
        port=parts.port or (993 if implicit_tls else 143),
        username=unquote(parts.username),
        password=password,
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        implicit_tls=implicit_tls,
        starttls=starttls,
        xoauth2=xoauth2,
        processed_folder=query.get("processed", processed_folder),
    )
