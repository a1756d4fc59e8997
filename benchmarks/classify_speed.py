"""Classifier speed, the shipped model beside an earlier one, in one run.

    .venv/bin/python benchmarks/classify_speed.py [--against COMMIT] [--repeat 5]

`classify_many()` is everything a message goes through: sensitive-span
rules, masking, lemmas, the spaCy pipeline and the linear model, calibration, the familiarity
check and language detection. It runs over the corpus's SMS texts and over
the real yardstick's texts (longer), on one core, for the model in
classify/model/ and for the model ``--against`` shipped (checked out with
`git archive` into a scratch folder; default: the model before issue 21).
The raw figure runs only the spaCy pipeline on already prepared texts (since
issue 21 the category is not in it: compare `classify_many`). The line
"now, BLIS" is the shipped model on thinc's default matrix products (BLIS),
as the classifier ran before it took numpy's (classify.model.load_pipeline).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classify.corpus import as_message, read  # noqa: E402
from classify.model import SpacyClassifier  # noqa: E402
from classify.recipe import corpus_files  # noqa: E402
from classify.textprep import model_text  # noqa: E402
from classify.train import REAL_YARDSTICK  # noqa: E402
from config.settings import Settings  # noqa: E402
from ingest.message import Message  # noqa: E402


def model_at(commit: str, into: Path) -> Path:
    """classify/model/ as ``commit`` shipped it."""
    archive = subprocess.run(["git", "archive", commit, "classify/model"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "classify" / "model"


def speed(clf: SpacyClassifier, messages: list[Message]) -> tuple[float, float]:
    prepared = [model_text(m.subject, m.text, mode=clf.textprep) for m in messages]
    clf.classify_many(messages[:200])  # warm up (lingua's models load on first use)
    t0 = time.perf_counter()
    list(clf.nlp.pipe(prepared, batch_size=256))
    raw = len(prepared) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    clf.classify_many(messages)
    return raw, len(messages) / (time.perf_counter() - t0)


def on_blis(clf: SpacyClassifier) -> SpacyClassifier:
    """``clf`` with its spaCy pipeline loaded again on thinc's default ops."""
    import spacy

    clf.nlp = spacy.load(Settings().model_dir / "nlp")
    return clf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", default="4fc4aeb", help="the commit of the earlier model")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    sets = {"sms": [as_message(e) for e in read(corpus_files()) if e.channel == "sms"]}
    if REAL_YARDSTICK.is_file():
        sets["real"] = [as_message(e) for e in read([REAL_YARDSTICK])]
    with tempfile.TemporaryDirectory(prefix="synpunkt-speed-") as tmp:
        models = {"now": SpacyClassifier(Settings().model_dir),
                  "now, BLIS": on_blis(SpacyClassifier(Settings().model_dir)),
                  args.against: SpacyClassifier(model_at(args.against, Path(tmp)))}
        for name, texts in sets.items():
            messages = texts * args.repeat
            avg = sum(len(m.text) for m in messages) / len(messages)
            print(f"{len(messages)} {name} texts (average {avg:.0f} characters), one core:")
            for label, clf in models.items():
                raw, full = speed(clf, messages)
                print(f"  {label:>9} {clf.version}: classify_many {full:7.0f} messages/s "
                      f"(raw nlp.pipe {raw:7.0f} texts/s)")


if __name__ == "__main__":
    main()
