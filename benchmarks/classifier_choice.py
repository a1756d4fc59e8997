"""Choose the classifier's architecture and text preparation by measurement.

    .venv/bin/python benchmarks/classifier_choice.py [--variants bow:forms,bow:both,...]

Trains each variant on the train split and scores it on the dev split with
figures that do not depend on thresholds: category macro-F1 (arg max), enhet
top-1 accuracy, and average precision per flag (the area under its
precision-recall curve). Also training time and model size.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classify.corpus import CATEGORIES, FLAGS, organisation, read  # noqa: E402
from classify.labels import CATEGORY, FLAG, gold_cats  # noqa: E402
from classify.model import SpacyClassifier  # noqa: E402
from classify.recipe import CONFIGS, corpus_files  # noqa: E402
from classify.textprep import model_text  # noqa: E402
from classify.train import train  # noqa: E402

DEFAULT = "bow:forms,bow:lemmas,bow:both,ensemble:both"


def average_precision(scores: list[float], gold: list[bool]) -> float:
    ranked = sorted(zip(scores, gold, strict=True), key=lambda sg: -sg[0])
    hits, total, positives = 0, 0.0, sum(gold)
    for i, (_s, g) in enumerate(ranked, 1):
        if g:
            hits += 1
            total += hits / i
    return total / positives if positives else 0.0


def measure(model_dir: Path, dev: list) -> dict[str, object]:
    clf = SpacyClassifier(model_dir)
    org = organisation()
    texts = [model_text(e.subject, e.text, mode=clf.textprep) for e in dev]
    cats = [doc.cats for doc in clf.nlp.pipe(texts, batch_size=256)]
    pred = [max(CATEGORIES, key=lambda c, k=k: k[CATEGORY + c]) for k in cats]
    f1s = []
    for c in CATEGORIES:
        tp = sum(1 for e, p in zip(dev, pred, strict=True) if e.category == c and p == c)
        fp = sum(1 for e, p in zip(dev, pred, strict=True) if e.category != c and p == c)
        fn = sum(1 for e, p in zip(dev, pred, strict=True) if e.category == c and p != c)
        p_, r_ = (tp / (tp + fp) if tp + fp else 0), (tp / (tp + fn) if tp + fn else 0)
        f1s.append(2 * p_ * r_ / (p_ + r_) if p_ + r_ else 0)
    top1 = 0
    for e, k in zip(dev, cats, strict=True):
        gold = gold_cats(e, org)
        ansvar = [label for label in gold if label.startswith("ansvar:")]
        top1 += gold[max(ansvar, key=lambda label, k=k: k[label])] == 1.0
    ap = {f: round(average_precision([k[FLAG + f] for k in cats], [f in e.flags for e in dev]),
                   3) for f in FLAGS}
    return {"category_macro_f1": round(sum(f1s) / len(f1s), 3),
            "enhet_top1": round(top1 / len(dev), 3),
            "flags_mean_ap": round(sum(ap.values()) / len(ap), 3), "flags_ap": ap}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=DEFAULT)
    args = parser.parse_args()
    dev = [e for e in read(corpus_files()) if e.split == "dev"]
    results = {}
    for variant in args.variants.split(","):
        arch, mode = variant.split(":")
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            train(Path(tmp) / "m", config=CONFIGS / f"{arch}.cfg", textprep=mode,
                  say=lambda text: print(text, file=sys.stderr))
            seconds = time.perf_counter() - started
            size = sum(p.stat().st_size for p in (Path(tmp) / "m").rglob("*") if p.is_file())
            figures = measure(Path(tmp) / "m", dev)
        figures |= {"train_seconds": round(seconds, 1), "size_mb": round(size / 1e6, 1)}
        results[variant] = figures
        print(variant, json.dumps(figures), flush=True)
    print("\n| variant | category macro-F1 | enhet top-1 | flags mean AP | allvarlig AP "
          "| train s | MB |\n|---|---|---|---|---|---|---|")
    for v, f in results.items():
        print(f"| {v} | {f['category_macro_f1']} | {f['enhet_top1']} | {f['flags_mean_ap']} "
              f"| {f['flags_ap']['allvarlig_handelse']} | {f['train_seconds']} | "
              f"{f['size_mb']} |")


if __name__ == "__main__":
    main()
