"""The spaCy pipeline's CPU a text against the size of the pieces a batch is
read in (classify.model.PIECE_CHARS), with the machine's cores all busy.

    .venv/bin/python benchmarks/pipe_pieces.py [--pieces 4000,1000000] [--rounds 2]
                                               [--batch 32] [--corpus DIR] [--json]

A worker reads a batch of up to 32 mails (SYNPUNKT_WORKER_BATCH), and
beside it another worker, PostgreSQL and the SMTP server are busy. Here
one process a core (``--processes``, default all) each read the same texts
in batches of 32 (``--batch``; ``run --once`` takes 64) through
``SpacyClassifier.cats`` in pieces of at most N characters (1000000: the
whole batch in one piece), three times over, and report the CPU a text and
the process's largest resident memory. The sizes take turns, ``--rounds`` times. Texts: the
side-by-side corpus's mail (``--corpus``, from ../shared/peers/
django-helpdesk/make_corpus.py) or else the corpus's e-mail texts; and the
corpus's SMS, which are short.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def texts_of(kind: str, corpus: str | None) -> list[str]:
    from classify import sensitive
    from classify.corpus import as_message, read
    from classify.recipe import corpus_files
    from classify.textprep import model_text
    from config.settings import Limits
    from ingest.message import Message
    from ingest.parse import parse

    if kind == "mail" and corpus:
        found = [parse(p.read_bytes(), Limits()) for p in sorted(Path(corpus).glob("*.eml"))]
        messages = [m for m in found if isinstance(m, Message)][:640]
    else:
        messages = [as_message(e) for e in read(corpus_files())
                    if (e.channel == "sms") == (kind == "sms")][:640]
    return [model_text(m.subject, m.text, sensitive.find(m.text)) for m in messages]


def one(kind: str, chars: int, corpus: str | None, batch: int) -> tuple[float, float]:
    """CPU ms a text and the largest RSS in MiB of this process (a child)."""
    from classify.model import SpacyClassifier
    from config.settings import Settings

    clf = SpacyClassifier(Settings().model_dir)
    texts = texts_of(kind, corpus)
    clf.cats(texts[:64], chars)
    start = time.process_time()
    for _ in range(3):
        for i in range(0, len(texts), batch):
            clf.cats(texts[i:i + batch], chars)
    return ((time.process_time() - start) * 1000 / (3 * len(texts)),
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pieces", default="4000,1000000", help="piece sizes in characters")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processes", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--batch", type=int, default=32, help="texts a call, as a worker's batch")
    parser.add_argument("--corpus", help="the side-by-side corpus's folder of .eml files")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "CHARS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(*one(args.child[0], int(args.child[1]), args.corpus, args.batch))
        return
    sizes = [int(s) for s in args.pieces.split(",")]
    figures: dict[str, dict[str, list[float]]] = {}
    memory: dict[str, dict[str, list[float]]] = {}
    for kind in ("mail", "sms"):
        for round_ in range(args.rounds):
            for chars in sizes:
                command = [sys.executable, __file__, "--child", kind, str(chars),
                           "--batch", str(args.batch)]
                command += ["--corpus", args.corpus] if args.corpus else []
                procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
                         for _ in range(args.processes)]
                answers = [p.communicate()[0].split() for p in procs]
                got = [float(ms) for ms, _ in answers]
                figures.setdefault(kind, {}).setdefault(str(chars), []).extend(got)
                memory.setdefault(kind, {}).setdefault(str(chars), []).extend(
                    float(rss) for _, rss in answers)
                print(f"{kind} round {round_ + 1}, pieces of {chars} characters: "
                      + ", ".join(f"{g:.2f}" for g in got) + " ms a text, largest RSS "
                      + ", ".join(f"{float(r):.0f}" for _, r in answers) + " MiB",
                      file=sys.stderr)
    summary = {kind: {chars: round(statistics.median(v), 3) for chars, v in by.items()}
               for kind, by in figures.items()}
    largest = {kind: {chars: round(max(v)) for chars, v in by.items()}
               for kind, by in memory.items()}
    if args.json:
        print(json.dumps({"command": " ".join(["benchmarks/pipe_pieces.py", *sys.argv[1:]]),
                          "processes": args.processes, "batch": args.batch,
                          "ms_per_text_median": summary, "largest_rss_mib": largest,
                          "runs": figures}))
        return
    for kind, by in summary.items():
        print(f"{kind}: " + ", ".join(f"pieces of {c}: {v:.2f} ms a text, "
                                      f"{largest[kind][c]} MiB" for c, v in by.items()))


if __name__ == "__main__":
    main()
