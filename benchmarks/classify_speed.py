"""Classifier speed on SMS-length texts, next to raw `nlp.pipe` on the same texts.

    .venv/bin/python benchmarks/classify_speed.py [--repeat 5]

`classify_many()` is everything a message goes through: sensitive-span
rules, masking, lemmas, the four classifiers, thresholds and language
detection. The raw figure runs only the spaCy pipeline on already prepared
texts. Both run in this one process (one core).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classify.corpus import read  # noqa: E402
from classify.model import SpacyClassifier  # noqa: E402
from classify.textprep import model_text  # noqa: E402
from classify.train import as_message, corpus_files  # noqa: E402
from config.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    clf = SpacyClassifier(Settings().model_dir)
    sms = [e for e in read(corpus_files()) if e.channel == "sms"]
    messages = [as_message(e) for e in sms] * args.repeat
    prepared = [model_text(m.subject, m.text, mode=clf.textprep) for m in messages]
    clf.classify_many(messages[:200])  # warm up (language models load lazily)
    t0 = time.perf_counter()
    list(clf.nlp.pipe(prepared, batch_size=256))
    raw = len(prepared) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    clf.classify_many(messages)
    full = len(messages) / (time.perf_counter() - t0)
    avg = sum(len(m.text) for m in messages) / len(messages)
    print(f"{len(messages)} SMS texts (average {avg:.0f} characters), one core:")
    print(f"  raw nlp.pipe (4 classifiers)          {raw:8.0f} texts/s")
    print(f"  classify_many (everything)            {full:8.0f} messages/s"
          f"   ratio {full / raw:.2f}")


if __name__ == "__main__":
    main()
