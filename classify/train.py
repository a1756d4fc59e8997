"""Training: corpus -> spaCy DocBins -> `spacy train` with the config in the
repository (fixed seed, bit-reproducible) -> thresholds chosen on dev ->
the model directory, replaced atomically."""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from classify import familiar, linear
from classify.corpus import ASPECTS, CATEGORIES, FLAGS, Example, as_message, organisation, read
from classify.cues import cued
from classify.labels import ASPECT, CATEGORY, FLAG, ansvar_labels, gold_cats
from classify.metrics import Scored, evaluate
from classify.model import SpacyClassifier
from classify.recipe import DEFAULT_CONFIG, corpus_files, version_of
from classify.textprep import DEFAULT_MODE, model_text
from classify.thresholds import (
    RECALL_FLOORS,
    Thresholds,
    calibrated,
    for_binary,
    for_exclusive,
)
from classify.triage import Triage
from config.organisation import Organisation

ENHET_TARGET = 0.90
# The real yardstick (real citizens' texts, never trained on): the category's
# calibration and the threshold for deciding alone are chosen on it, for at
# least this accuracy of what is decided alone (a registrator can trust: 0.90).
REAL_YARDSTICK = Path(__file__).resolve().parents[2] / "shared" / "realtext" / "dev.jsonl"
DECIDE_TARGET = 0.90


def _docbin(examples: Iterable[Example], path: Path, mode: str) -> int:
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("sv")
    org = organisation()
    db = DocBin(store_user_data=False)
    n = 0
    for ex in examples:
        doc = nlp.make_doc(model_text(ex.subject, ex.text, mode=mode))
        doc.cats = gold_cats(ex, org)
        db.add(doc)
        n += 1
    db.to_disk(path)
    return n


def train(model_dir: Path, *, config: Path = DEFAULT_CONFIG, extra: Sequence[Path] = (),
          textprep: str = DEFAULT_MODE, say: Callable[[str], None] = print) -> dict[str, Any]:
    files = corpus_files(extra)
    examples = list(read(files))
    train_set = [e for e in examples if e.split == "train"]
    dev_set = [e for e in examples if e.split == "dev"]
    version = version_of(config, files, textprep)
    say(f"Korpus: {len(examples)} exempel ({len(train_set)} träning, {len(dev_set)} dev). "
        f"Modell {version}.")
    with tempfile.TemporaryDirectory(prefix="synpunkt-train-") as tmp_name:
        tmp = Path(tmp_name)
        _docbin(train_set, tmp / "train.spacy", textprep)
        _docbin(dev_set, tmp / "dev.spacy", textprep)
        fit(config, tmp / "out", tmp / "train.spacy", tmp / "dev.spacy",
            component_labels(organisation(), config))
        staging = model_dir.with_name(model_dir.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        shutil.copytree(tmp / "out" / "model-last", staging / "nlp")
    return finish(staging, model_dir, examples, version, config=config, textprep=textprep,
                  say=say)


def fit(config: Path, out: Path, train_docs: Path, dev_docs: Path,
        overrides: dict[str, Any]) -> None:
    """spaCy's training, its progress on stderr: stdout is for the figures
    (``synpunkt train --json``), and spaCy writes its log there."""
    from spacy.cli.train import train as spacy_train

    with contextlib.redirect_stdout(sys.stderr):
        spacy_train(config, out, overrides={
            "paths.train": str(train_docs), "paths.dev": str(dev_docs), **overrides})


def finish(staging: Path, model_dir: Path, examples: Sequence[Example], version: str, *,
           config: Path = DEFAULT_CONFIG, textprep: str = DEFAULT_MODE,
           say: Callable[[str], None] = print) -> dict[str, Any]:
    """The steps after the spaCy pipeline is in ``staging/nlp``: the linear
    model, the vocabulary, the thresholds chosen on dev and the real
    yardstick, the meta; then ``staging`` replaces ``model_dir`` atomically."""
    train_set = [e for e in examples if e.split == "train"]
    dev_set = [e for e in examples if e.split == "dev"]
    say("Kategorin och felanmälan (logistisk regression över ord och ordpar) tränas.")
    linear.fit([model_text(e.subject, e.text, mode=textprep) for e in train_set],
               [e.category for e in train_set], CATEGORIES,
               [frozenset(e.flags) for e in train_set]).save(staging / "category")
    (staging / "meta.json").write_text(json.dumps({"version": version, "textprep": textprep}),
                                       "utf-8")
    (staging / "thresholds.json").write_text(json.dumps(Thresholds().as_dict()), "utf-8")
    (staging / "vocabulary.txt").write_text("\n".join(sorted(familiar.vocabulary(
        model_text(e.subject, e.text, mode=textprep) for e in train_set))), "utf-8")
    classifier = SpacyClassifier(staging)
    classifier.thresholds = choose_thresholds(classifier, dev_set)
    yardstick = list(read([REAL_YARDSTICK])) if REAL_YARDSTICK.is_file() else dev_set
    classifier.thresholds = calibrate(classifier, classifier.thresholds, yardstick)
    say(f"Kalibrerad på {'den riktiga måttstocken' if yardstick is not dev_set else 'dev'}: "
        f"temperatur {classifier.thresholds.temperature}, beslutar själv från "
        f"{classifier.thresholds.category:.2f}.")
    (staging / "thresholds.json").write_text(
        json.dumps(classifier.thresholds.as_dict(), indent=2), "utf-8")
    dev_figures = score(classifier, dev_set)
    (staging / "meta.json").write_text(json.dumps({
        "version": version, "textprep": textprep, "examples": len(examples),
        "train": len(train_set),
        "dev": len(dev_set), "config": config.name, "dev_metrics": dev_figures,
        "calibrated_on": "realtext" if REAL_YARDSTICK.is_file() else "dev",
    }, indent=2, ensure_ascii=False), "utf-8")
    old = model_dir.with_name(model_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if model_dir.exists():
        model_dir.rename(old)
    staging.rename(model_dir)
    shutil.rmtree(old, ignore_errors=True)
    return dev_figures


def component_labels(org: Organisation, config: Path = DEFAULT_CONFIG) -> dict[str, list[str]]:
    """Each classifier's own labels. Without them spaCy gives every component
    every label in the shared doc.cats. The category has its own model
    (classify/linear.py); older configs also have spaCy's."""
    own = ({"initialize.components.textcat.labels": [CATEGORY + c for c in CATEGORIES]}
           if "[components.textcat]" in config.read_text("utf-8") else {})
    return {
        **own,
        "initialize.components.textcat_flags.labels": [FLAG + f for f in FLAGS],
        "initialize.components.textcat_aspects.labels": [ASPECT + a for a in ASPECTS],
        "initialize.components.textcat_ansvar.labels": ansvar_labels(org),
    }


def _raw_cats(classifier: SpacyClassifier, examples: Sequence[Example]) -> list[dict[str, float]]:
    return classifier.cats([model_text(e.subject, e.text, mode=classifier.textprep)
                            for e in examples])


def choose_thresholds(classifier: SpacyClassifier, dev: Sequence[Example]) -> Thresholds:
    """The enhet's, the flags' and the aspects' thresholds, chosen on dev. The
    category's weights, temperature and threshold are ``calibrate``'s."""
    cats = _raw_cats(classifier, dev)
    org = organisation()
    enh_conf, enh_ok = [], []
    for ex, c in zip(dev, cats, strict=True):
        gold = gold_cats(ex, org)
        ansvar = [k for k in gold if k.startswith("ansvar:")]
        top = max(ansvar, key=lambda k: c[k])
        enh_conf.append(c[top])
        enh_ok.append(gold[top] == 1.0)
    return Thresholds(
        enhet=for_exclusive(enh_conf, enh_ok, ENHET_TARGET),
        # A word cue raises a flag whatever the score (classify/cues.py): count
        # it as a sure hit, so that the threshold covers only what cues miss.
        flags={f: for_binary([1.0 if cued(f, f"{e.subject}\n{e.text}") else c[FLAG + f]
                              for e, c in zip(dev, cats, strict=True)],
                             [f in e.flags for e in dev], RECALL_FLOORS.get(f)) for f in FLAGS},
        aspects={a: for_binary([c[ASPECT + a] for c in cats], [a in e.aspects for e in dev])
                 for a in ASPECTS},
    )


def calibrate(classifier: SpacyClassifier, thresholds: Thresholds,
              examples: Sequence[Example]) -> Thresholds:
    """The category's weights, temperature and decide-alone threshold,
    chosen on ``examples`` (the real yardstick; classify/thresholds.py)."""
    by_category = [{k: c[CATEGORY + k] for k in CATEGORIES}
                   for c in _raw_cats(classifier, examples)]
    return calibrated(thresholds, by_category, [e.category for e in examples],
                      CATEGORIES, DECIDE_TARGET)


class Routed(Protocol):
    """What evaluation needs of a routing decision (routing.decision.Decision
    is one): the routing layer sits above this one."""

    @property
    def enhet(self) -> str: ...
    @property
    def extern(self) -> str | None: ...
    def case_flags(self, triage: Triage) -> Iterable[str]: ...


def scored(ex: Example, triage: Triage, decision: Routed | None = None) -> Scored:
    """One evaluated example; with a routing decision, enhet and extern are the
    decision's, else the classifier's suggestion."""
    return Scored(
        gold_category=ex.category,
        predicted_category=str(triage.category),
        decided=not triage.needs_review,
        gold_flags=frozenset(ex.flags),
        predicted_flags=frozenset(decision.case_flags(triage) if decision
                                  else (str(f) for f in triage.flags)),
        gold_enhet=ex.enhet,
        predicted_enhet=decision.enhet if decision else triage.suggested_enhet,
        top_enhet=triage.top_enhet,
        gold_extern=ex.extern,
        predicted_extern=decision.extern if decision else triage.extern,
        confidence=triage.confidence,
    )


def score(classifier: SpacyClassifier, examples: Sequence[Example]) -> dict[str, Any]:
    triages = classifier.classify_many([as_message(e) for e in examples])
    rows = [scored(e, t) for e, t in zip(examples, triages, strict=True)]
    return evaluate(rows, CATEGORIES, FLAGS)
