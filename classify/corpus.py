"""The labelled corpus (labels.md shape): loading, validating, splitting.

    python -m classify.corpus check FILE.jsonl...     validate and print counts
    python -m classify.corpus export SPLIT OUT.jsonl  write the train/dev/test split
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from config.organisation import Organisation, load_organisation
from config.settings import SHIPPED_CONFIG
from config.yamlfile import read_yaml
from ingest.message import Channel, Message

DATA = Path(__file__).resolve().parent / "data"
CATEGORIES = ("klagomal", "synpunkt", "berom")
FLAGS = ("overklagande", "felanmalan", "allvarlig_handelse", "extern", "medborgarforslag",
         "sekretess", "valfardsbrott")
ASPECTS = ("bemotande", "handlaggning", "kvalitet", "tillganglighet", "information", "avgift",
           "trygghet")
CHANNELS = ("email", "sms", "webform", "muntlig")
FIELDS = ("id", "channel", "from", "subject", "text", "category", "enhet", "flags", "extern",
          "aspects")


@dataclass(frozen=True, slots=True)
class Example:
    id: str
    channel: str
    sender: str
    subject: str
    text: str
    category: str
    enhet: str
    flags: tuple[str, ...]
    extern: str | None
    aspects: tuple[str, ...]

    @property
    def split(self) -> str:
        """A fixed split by id: 80 % train, 10 % dev, 10 % test."""
        bucket = int(hashlib.sha256(self.id.encode()).hexdigest()[:8], 16) % 10
        return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


def as_message(ex: Example) -> Message:
    """The example as the message it stands for."""
    return Message(channel=Channel(ex.channel), sender=ex.sender or None, display_name=None,
                   subject=ex.subject, text=ex.text)


def organisation() -> Organisation:
    return load_organisation(read_yaml(SHIPPED_CONFIG / "organisation.yaml"))


def validate(record: dict[str, object], org: Organisation) -> list[str]:
    """Problems with one JSON record, empty when it is valid."""
    problems = []
    missing = [f for f in FIELDS if f not in record]
    extra = [f for f in record if f not in FIELDS]
    if missing or extra:
        return [f"missing {missing}, unknown {extra}"]
    enheter = {e.id for _, _, e in org.enheter()}
    externa = {x.id for x in org.externa_instanser}
    flags, aspects = record["flags"], record["aspects"]
    if not isinstance(record["text"], str) or len(record["text"].strip()) < 3:
        problems.append("empty text")
    if record["channel"] not in CHANNELS:
        problems.append(f"channel {record['channel']!r}")
    if record["category"] not in CATEGORIES:
        problems.append(f"category {record['category']!r}")
    if record["enhet"] not in enheter:
        problems.append(f"enhet {record['enhet']!r}")
    if not isinstance(flags, list) or any(f not in FLAGS for f in flags):
        problems.append(f"flags {flags!r}")
    if not isinstance(aspects, list) or any(a not in ASPECTS for a in aspects):
        problems.append(f"aspects {aspects!r}")
    ext = record["extern"]
    if ext is not None and ext not in externa:
        problems.append(f"extern {ext!r}")
    if isinstance(flags, list) and (("extern" in flags) != (ext is not None)):
        problems.append("flag extern and field extern disagree")
    if ext is not None and record["enhet"] != "registrator":
        problems.append("an extern matter has enhet registrator")
    if not isinstance(record["subject"], str) or not isinstance(record["from"], str):
        problems.append("subject and from are strings (may be empty)")
    return problems


def read(paths: Iterable[Path]) -> Iterator[Example]:
    for path in paths:
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{n}: not JSON: {exc}") from None
            yield Example(str(r.get("id") or f"{path.stem}:{n}"), r.get("channel") or "email",
                          r.get("from") or "", r.get("subject") or "", r["text"],
                          r["category"], r.get("enhet") or "registrator",
                          tuple(r.get("flags") or ()), r.get("extern"),
                          tuple(r.get("aspects") or ()))


def check(paths: list[Path]) -> int:
    org = organisation()
    bad = 0
    ids: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = {k: Counter() for k in
                                       ("category", "enhet", "flag", "extern", "aspect", "channel")}
    for path in paths:
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                print(f"{path}:{n}: not JSON: {exc}")
                bad += 1
                continue
            for problem in validate(record, org):
                print(f"{path}:{n}: {record.get('id')}: {problem}")
                bad += 1
            ids[str(record.get("id"))] += 1
            counts["category"][str(record.get("category"))] += 1
            counts["enhet"][str(record.get("enhet"))] += 1
            counts["channel"][str(record.get("channel"))] += 1
            counts["extern"].update([str(record["extern"])] if record.get("extern") else [])
            counts["flag"].update(record.get("flags") or [])
            counts["aspect"].update(record.get("aspects") or [])
    for ident, n in ids.items():
        if n > 1:
            print(f"duplicate id {ident} ({n} times)")
            bad += 1
    print(f"{sum(ids.values())} records, {bad} problems")
    for name, counter in counts.items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in counter.most_common()))
    return 1 if bad else 0


def export(split: str, out: Path) -> int:
    parts = sorted((DATA / "parts").glob("*.jsonl"))
    rows = [e for e in read(parts) if e.split == split]
    out.write_text("".join(json.dumps({
        "id": e.id, "channel": e.channel, "from": e.sender, "subject": e.subject,
        "text": e.text, "category": e.category, "enhet": e.enhet, "flags": list(e.flags),
        "extern": e.extern, "aspects": list(e.aspects)}, ensure_ascii=False) + "\n"
        for e in rows), "utf-8")
    print(f"{len(rows)} examples of the {split} split in {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "check":
        raise SystemExit(check([Path(p) for p in sys.argv[2:]]))
    if len(sys.argv) == 4 and sys.argv[1] == "export" and sys.argv[2] in ("train", "dev", "test"):
        raise SystemExit(export(sys.argv[2], Path(sys.argv[3])))
    print(__doc__)
    raise SystemExit(2)
