"""Coverage-guided fuzzing of the mail intake with atheris (libFuzzer).

    .venv/bin/pip install -e '.[test,fuzz]'
    .venv/bin/python benchmarks/fuzz.py --seconds 600 [--json] [--crashes DIR] [--seed N]

Every input goes through what a mail meets in Synpunkt before a person
sees it: parse (with the limits), the automatic-mail screen, and, when it
has a sender, the mottagningsbevis rendered to bytes and read back
(tests/mutations.py: check_one). A crash is any exception, or a receipt with
a header that is not ours or not on one line.

The seed corpus is the project's fixture mails (tests/fixtures/mail). The
mutator mixes the structure-aware mutations of tests/mutations.py (bit flips,
truncation, duplicated or removed headers, garbled boundaries, encoded-words,
CR/LF insertion) with libFuzzer's own, and libFuzzer keeps what reaches new
code in Synpunkt, the stdlib e-mail package and flufl.bounce.

Each distinct crash (exception type and place) is saved once under the
crash folder as ``crash-<signature>.eml``; the job keeps going after a crash
and exits 1 at the end when there was any, 0 otherwise. The figures
(executions, executions per second, distinct crashes, corpus size) are
printed at the end, as one JSON object with --json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import atheris  # type: ignore[import-untyped]  # noqa: E402

with atheris.instrument_imports(include=["ingest", "notify", "flufl", "email"]):
    from tests import mutations
    mutations.check_one(mutations.seed_mails()[0])  # import everything it reaches, instrumented


@dataclass
class Figures:
    seconds: float
    executions: int = 0
    executions_per_second: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    distinct_crashes: int = 0
    crash_folder: str = ""
    crashes: list[str] = field(default_factory=list)
    seed: int = 0
    corpus_files: int = 0  # the seeds plus what libFuzzer kept for new coverage


class Job:
    def __init__(self, seconds: float, crashes: Path, seed: int, as_json: bool,
                 corpus: Path) -> None:
        self.figures = Figures(seconds=seconds, crash_folder=str(crashes), seed=seed)
        self.corpus = corpus
        self.crashes = crashes
        self.as_json = as_json
        self.seen: set[str] = set()
        self.rnd = random.Random(seed)
        self.start = time.monotonic()
        self.deadline = self.start + seconds

    def test_one_input(self, data: bytes) -> None:
        f = self.figures
        f.executions += 1
        try:
            outcome = mutations.check_one(data)
        except Exception as exc:  # the finding: record it and keep fuzzing
            self._crash(data, exc)
        else:
            f.outcomes[outcome] = f.outcomes.get(outcome, 0) + 1
        if f.executions % 256 == 0 and time.monotonic() >= self.deadline:
            self.finish()

    def mutate(self, data: bytes, max_size: int, seed: int) -> bytes:
        rnd = random.Random(seed ^ self.rnd.getrandbits(32))
        if not data or rnd.random() < 0.15:
            data = rnd.choice(mutations.seed_mails())
        out = (mutations.mutate(data, rnd, rounds=3) if rnd.random() < 0.7
               else atheris.Mutate(data, max_size))
        return out[:max_size]

    def _crash(self, data: bytes, exc: Exception) -> None:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
        signature = hashlib.sha256(where.encode()).hexdigest()[:12]
        if signature in self.seen:
            return
        self.seen.add(signature)
        self.crashes.mkdir(parents=True, exist_ok=True)
        (self.crashes / f"crash-{signature}.eml").write_bytes(data)
        (self.crashes / f"crash-{signature}.txt").write_text(
            "".join(traceback.format_exception(exc)), "utf-8")
        self.figures.crashes.append(f"{where}: {str(exc)[:200]}")
        self.figures.distinct_crashes = len(self.seen)

    def finish(self) -> None:
        f = self.figures
        took = time.monotonic() - self.start
        f.executions_per_second = round(f.executions / took, 1) if took else 0.0
        f.corpus_files = sum(1 for _ in self.corpus.iterdir())
        if self.as_json:
            print(json.dumps(asdict(f), ensure_ascii=False))
        else:
            print(f"{f.executions} körningar på {took:.0f} s ({f.executions_per_second}/s), "
                  f"utfall {f.outcomes}, korpus {f.corpus_files} filer, "
                  f"{f.distinct_crashes} olika krascher"
                  + (f" (sparade i {f.crash_folder})" if f.crashes else ""))
            for crash in f.crashes:
                print(f"  {crash}")
        sys.stdout.flush()
        os._exit(1 if f.crashes else 0)  # libFuzzer owns the process: leave at once


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Exit status: 0 without crashes, 1 with.")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to fuzz")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--crashes", type=Path, default=ROOT / "var" / "fuzz-crashes",
                        help="where crashing inputs are saved (default var/fuzz-crashes)")
    parser.add_argument("--seed", type=int, default=20261124, help="seed of the mutator")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # no log line per mutated mail
    with tempfile.TemporaryDirectory(prefix="synpunkt-fuzz-") as corpus:
        job = Job(args.seconds, args.crashes.resolve(), args.seed, args.json, Path(corpus))
        for i, raw in enumerate(mutations.seed_mails()):
            Path(corpus, f"seed-{i:03d}.eml").write_bytes(raw)
        atheris.Setup([sys.argv[0], corpus, f"-seed={args.seed}", "-max_len=65536",
                       f"-max_total_time={int(args.seconds) + 60}", "-print_final_stats=0"],
                      job.test_one_input, custom_mutator=job.mutate)
        atheris.Fuzz()
        job.finish()


if __name__ == "__main__":
    main()
