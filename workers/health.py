"""A health file per long-running process, so a silent stop is visible.

Each file holds the process's state and the time of its last successful
poll; ``synpunkt health`` reads them and fails when one is too old.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Health:
    name: str
    state: str  # "connecting", "idle", "polling", "reconnecting", "stopped"
    last_success: datetime | None
    updated: datetime
    pid: int
    detail: str = ""


class HealthFile:
    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self.path = folder / f"{re.sub(r'[^A-Za-z0-9_.@-]+', '_', name)}.json"
        self.last_success: datetime | None = None

    def report(self, state: str, now: datetime, *, success: bool = False,
               detail: str = "") -> None:
        if success:
            self.last_success = now
        record = Health(self.name, state, self.last_success, now, os.getpid(), detail)
        data = {k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in asdict(record).items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False))
        os.replace(tmp, self.path)


def read_all(folder: Path) -> list[Health]:
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text())
            out.append(Health(
                name=data["name"], state=data["state"],
                last_success=datetime.fromisoformat(data["last_success"])
                if data.get("last_success") else None,
                updated=datetime.fromisoformat(data["updated"]), pid=int(data["pid"]),
                detail=data.get("detail", ""),
            ))
        except (OSError, ValueError, KeyError):
            continue
    return out
