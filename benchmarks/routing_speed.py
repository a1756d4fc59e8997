"""Rule engine speed: decisions per second with Ekby's rules, on one core.

    .venv/bin/python benchmarks/routing_speed.py [--repeat 5] [--mails DIR] [--json]

Every corpus message is classified first (not timed); then three figures:
- `engine`: `decide()` on prepared facts: the rules alone, as the issue asks;
- `route`: `route()` as the workers call it, including the text preparation
  (tokens, lemmas, wildcard hits) that the rules need;
- `route (SMS)`: the same on the SMS messages only.
The reference in the same run is `classify_many()` on the same messages: the
ratio says what routing adds to the classification every message gets anyway.
``--mails DIR``: the .eml files of a folder instead of the corpus (the
side-by-side corpus's mails are longer: 50-300 words).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classify.corpus import as_message, read  # noqa: E402
from classify.model import SpacyClassifier  # noqa: E402
from classify.recipe import corpus_files  # noqa: E402
from config.kommun import load_kommun  # noqa: E402
from config.settings import Settings  # noqa: E402
from ingest.message import Message  # noqa: E402
from ingest.parse import parse  # noqa: E402
from routing.conditions import Facts  # noqa: E402
from routing.engine import decide, route  # noqa: E402
from routing.load import load_kommun_rules  # noqa: E402


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def _mails(folder: Path, settings: Settings) -> list[Message]:
    parsed = [parse(p.read_bytes(), settings.limits) for p in sorted(folder.glob("*.eml"))]
    return [m for m in parsed if isinstance(m, Message)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mails", type=Path, metavar="DIR",
                        help="a folder of .eml files to route instead of the corpus")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    settings = Settings()
    rules = load_kommun_rules(load_kommun(settings.config))
    clf = SpacyClassifier(settings.model_dir)
    messages = (_mails(args.mails, settings) if args.mails
                else [as_message(e) for e in read(corpus_files())])
    t0 = time.perf_counter()
    triages = clf.classify_many(messages)
    classify_rate = _rate(len(messages), time.perf_counter() - t0)
    pairs = list(zip(messages, triages, strict=True)) * args.repeat
    sms = [(m, t) for m, t in pairs if m.channel == "sms"]
    for m, t in pairs[:500]:
        route(rules, m, t)  # warm the word caches, as a running worker has them

    facts = [(Facts.of(m, t, rules.vocabulary), t.review_reasons) for m, t in pairs]
    t0 = time.perf_counter()
    for f, reasons in facts:
        decide(rules, f, reasons)
    engine = _rate(len(facts), time.perf_counter() - t0)
    t0 = time.perf_counter()
    for m, t in pairs:
        route(rules, m, t)
    full = _rate(len(pairs), time.perf_counter() - t0)
    t0 = time.perf_counter()
    for m, t in sms:
        route(rules, m, t)
    short = _rate(len(sms), time.perf_counter() - t0)

    figures = {"messages": len(pairs), "rules": len(rules.rules),
               "engine_per_s": round(engine), "route_per_s": round(full),
               "route_sms_per_s": round(short), "classify_per_s": round(classify_rate),
               "route_vs_classify": round(full / classify_rate, 1)}
    if args.json:
        print(json.dumps(figures))
        return
    source = args.mails or "korpusen"
    print(f"{len(rules.rules)} regler, {len(pairs)} beslut ({source} × {args.repeat}), en kärna:")
    print(f"  engine (decide, färdiga fakta): {engine:10,.0f} beslut/s")
    print(f"  route (med textförberedelse):   {full:10,.0f} beslut/s")
    print(f"  route, bara SMS:                {short:10,.0f} beslut/s")
    print(f"  referens classify_many:         {classify_rate:10,.0f} meddelanden/s "
          f"(route är {full / classify_rate:.1f} gånger snabbare)")


if __name__ == "__main__":
    main()
