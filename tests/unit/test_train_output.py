"""``synpunkt train --json`` prints one JSON object: spaCy's training log,
which spaCy writes to stdout, goes to stderr with the rest of the progress."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classify.corpus import organisation, read
from classify.recipe import DEFAULT_CONFIG, corpus_files
from classify.train import _docbin, component_labels, fit


def test_spacys_training_log_goes_to_stderr(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    examples = [e for e in read(corpus_files()) if e.split == "train"][:12]
    _docbin(examples[:8], tmp_path / "train.spacy", "forms")
    _docbin(examples[8:], tmp_path / "dev.spacy", "forms")
    fit(DEFAULT_CONFIG, tmp_path / "out", tmp_path / "train.spacy", tmp_path / "dev.spacy",
        {**component_labels(organisation()), "training.max_steps": 2,
         "training.eval_frequency": 1})
    print(json.dumps({"figures": 1}))  # what the command prints after the training
    out, err = capsys.readouterr()
    assert json.loads(out) == {"figures": 1}
    assert "Training pipeline" in err  # spaCy's log, kept for the person waiting
    assert (tmp_path / "out" / "model-last").is_dir()
