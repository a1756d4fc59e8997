"""What a trained model is made of, and the version that names it: the
spaCy config, the corpus's part files, the text preparation, and the linear
model's hyperparameters.

Read without the training tools: ``synpunkt run`` asks at every start
whether the shipped model is current (``trained_version(dir) ==
current_version()``), and an embedded ``run --once`` from cron every minute
should not import numpy or the training code for that (classify.linear and
classify.train do: 0.2–0.3 s of CPU a start, benchmarks/command_cpu.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from classify.corpus import DATA
from classify.textprep import DEFAULT_MODE

CONFIGS = Path(__file__).resolve().parent / "configs"
DEFAULT_CONFIG = CONFIGS / "combined.cfg"
PARTS = DATA / "parts"

# The linear model's (classify/linear.py), chosen on the real yardstick and
# the corpus's test split (benchmarks/RESULTS.md).
REGULARISATION = 1.8
FLAG_REGULARISATION = 4.0
NGRAMS = (1, 2)
# The flags whose own model beat spaCy's at the same recall on the test
# split and on the real yardstick (benchmarks/RESULTS.md). Not taken:
# allvarlig_handelse (at the recall floor its alerts were wrong nine times in
# ten), medborgarforslag (fewer real e-förslag found), extern (spaCy's enhet
# model names the instance).
LINEAR_FLAGS = ("felanmalan",)


def corpus_files(extra: Sequence[Path] = ()) -> list[Path]:
    """The project's corpus (every part file, in name order) plus extra labelled files."""
    return [*sorted(PARTS.glob("*.jsonl")), *extra]


def current_version(config: Path = DEFAULT_CONFIG, extra: Sequence[Path] = (),
                    textprep: str = DEFAULT_MODE) -> str:
    """The version a model trained now would get (config + corpus + text preparation)."""
    return version_of(config, corpus_files(extra), textprep)


def trained_version(model_dir: Path) -> str | None:
    try:
        return str(json.loads((model_dir / "meta.json").read_text("utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def version_of(config: Path, files: Sequence[Path], textprep: str) -> str:
    h = hashlib.sha256(config.read_bytes() + textprep.encode()
                       + f"linear C={REGULARISATION} {NGRAMS} flags "
                         f"{LINEAR_FLAGS} C={FLAG_REGULARISATION}".encode())
    for f in files:  # the repository's own content only: a clone without ../shared
        h.update(f.read_bytes())  # must find the shipped model current, not retrain
    return f"sv-{config.stem}-{h.hexdigest()[:10]}"
