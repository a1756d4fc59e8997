"""The admin's editing of routing.yaml and routines.yaml in the browser: the
same validation as at start-up (one line naming the file, the line and the
problem), a trial of a rules draft against the kommun's latest real cases
showing which would move, and saving with a versioned, attributed history."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import audit
from cases.models import ConfigVersion
from cases.queries import routed_cases
from classify.triage import Classifier
from config.errors import ConfigError
from config.kommun import Kommun
from config.routines import load_routines
from config.yamlfile import read_yaml
from ingest.message import Channel, Message
from routing.compare import Gold, Move, Score, moves, score
from routing.engine import route
from routing.load import load_rules
from routing.rules import RuleSet

FILES = ("routing.yaml", "routines.yaml")


@dataclass(frozen=True, slots=True)
class Trial:
    n: int
    before: Score
    after: Score
    moved: list[Move]


def check(kommun: Kommun, name: str, text: str) -> RuleSet | str | None:
    """Validate a draft of ``name``: the rules it makes (routing.yaml), None
    for a good routines.yaml, or the error as one line."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text, "utf-8")
        try:
            if name == "routing.yaml":
                return load_rules(path, kommun.organisation, kommun.routines.profiler)
            routines = load_routines(read_yaml(path))
            # The live rules must still name routines that exist.
            load_rules(kommun.directory / "routing.yaml", kommun.organisation,
                       routines.profiler)
        except ConfigError as exc:
            return f"{name}:{exc.line or '?'}: {exc.problem}"
    return None


def error_line(error: str, name: str) -> int | None:
    """The line number in a ``check`` error ("routing.yaml:353: …"), if any."""
    head = error.removeprefix(f"{name}:").split(":", 1)[0]
    return int(head) if head.isdigit() and int(head) > 0 else None


def trial(session: Session, kommun: Kommun, classifier: Classifier, draft: RuleSet,
          live: RuleSet, limit: int) -> Trial:
    """Route the latest ``limit`` cases with the live and the draft rules; each
    case's present destination (with the registrator's moves) is the answer."""
    cases = routed_cases(session, limit)
    messages = [Message(channel=Channel(c.channel), sender=c.sender, display_name=None,
                        subject=c.subject, text=c.text) for c in cases]
    golds = [Gold(c.diarienummer, c.enhet, c.extern) for c in cases]
    triages = classifier.classify_many(messages) if messages else []
    before = [route(live, m, t) for m, t in zip(messages, triages, strict=True)]
    after = [route(draft, m, t) for m, t in zip(messages, triages, strict=True)]
    return Trial(len(cases), score(golds, before), score(golds, after),
                 moves(golds, before, after))


def save(session: Session, kommun: Kommun, name: str, text: str, actor: str, note: str,
         now: datetime) -> str:
    """Write the file atomically and record the version; returns the version."""
    path = kommun.directory / name
    version = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    if not session.scalar(select(ConfigVersion.id).where(ConfigVersion.file == name)):
        old = path.read_text("utf-8")  # the version before the first save from the web
        session.add(ConfigVersion(file=name, content=old, saved_by="(fil)", saved_at=now,
                                  version=hashlib.sha256(old.encode()).hexdigest()[:12],
                                  note="så som filen såg ut innan den ändrades i webben"))
    session.add(ConfigVersion(file=name, version=version, content=text, saved_by=actor,
                              saved_at=now, note=note))
    audit.record(session, actor, "config.saved", at=now, file=name, version=version, note=note)
    session.flush()
    tmp = path.with_name(f".{name}.tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)
    return version


def history(session: Session, name: str, limit: int = 20) -> list[ConfigVersion]:
    return list(session.scalars(select(ConfigVersion).where(ConfigVersion.file == name)
                                .order_by(ConfigVersion.id.desc()).limit(limit)))
