"""A Maildir drop folder as the funktionsbrevlåda (the embedded mode).

Messages are read from ``new/`` and ``cur/`` in key order; after their raw
bytes are committed to the database the caller acknowledges each one, which
moves the file into the ``.Behandlad`` folder (Maildir++). A crash between
the commit and the move is harmless: the next pass finds the key already
stored and only moves the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from config.errors import TransientError


@dataclass(frozen=True, slots=True)
class RawItem:
    key: str
    raw: bytes


class MaildirSource:
    def __init__(self, root: Path, processed_folder: str = "Behandlad",
                 name: str = "maildir") -> None:
        self.root = root
        self.name = name
        self.processed = root / f".{processed_folder}"

    def ensure(self) -> None:
        for folder in (self.root, self.processed):
            for sub in ("cur", "new", "tmp"):
                (folder / sub).mkdir(parents=True, exist_ok=True)

    def _files(self) -> list[Path]:
        found: list[Path] = []
        for sub in ("new", "cur"):
            folder = self.root / sub
            if folder.is_dir():
                found.extend(p for p in folder.iterdir() if p.is_file()
                             and not p.name.startswith("."))
        return sorted(found, key=lambda p: (_key(p.name), p.parent.name))

    def pending(self) -> Iterator[RawItem]:
        for path in self._files():
            try:
                raw = path.read_bytes()
            except FileNotFoundError:  # moved by another process meanwhile
                continue
            except OSError as exc:
                raise TransientError(f"kan inte läsa {path.name}: {exc.strerror}") from exc
            yield RawItem(_key(path.name), raw)

    def acknowledge(self, key: str) -> None:
        """Move the message with ``key`` to the processed folder, marked seen."""
        for sub in ("new", "cur"):
            folder = self.root / sub
            for path in folder.glob(f"{_glob_escape(key)}*") if folder.is_dir() else ():
                if _key(path.name) != key:
                    continue
                target = self.processed / "cur" / _seen(path.name)
                try:
                    os.replace(path, target)
                except FileNotFoundError:
                    continue


def _key(filename: str) -> str:
    return filename.split(":", 1)[0].split("!", 1)[0]


def _seen(filename: str) -> str:
    key, sep, info = filename.partition(":")
    if not sep:
        return f"{key}:2,S"
    flags = info[2:] if info.startswith("2,") else ""
    return f"{key}:2,{''.join(sorted(set(flags + 'S')))}"


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)
