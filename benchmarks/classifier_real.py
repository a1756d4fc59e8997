"""How much of the category's figures on the real yardstick is fitted to it.

    .venv/bin/python benchmarks/classifier_real.py [--rounds 200] [--json]

The shipped model's category weights, temperature and decide-alone threshold
are chosen on ../shared/realtext/dev.jsonl (never trained on), so
`synpunkt eval` on that file reports figures measured where they were
chosen. This script splits the yardstick in random halves, chooses the three
on one half (classify.thresholds.calibrated, as `synpunkt train` does) and
measures the other half: the mean over the rounds is what to expect on real
texts nobody chose anything on.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classify.calibration import ece  # noqa: E402
from classify.corpus import CATEGORIES, read  # noqa: E402
from classify.labels import CATEGORY  # noqa: E402
from classify.model import SpacyClassifier  # noqa: E402
from classify.textprep import model_text  # noqa: E402
from classify.thresholds import Thresholds, calibrated, macro_f1  # noqa: E402
from classify.train import DECIDE_TARGET, REAL_YARDSTICK  # noqa: E402
from config.settings import Settings  # noqa: E402

Scores = list[dict[str, float]]


def figures(t: Thresholds, scores: Scores, gold: list[str]) -> dict[str, float]:
    predicted = [t.category_of(s) for s in scores]
    confidence = [t.confidence(s, p) for s, p in zip(scores, predicted, strict=True)]
    right = [p == g for p, g in zip(predicted, gold, strict=True)]
    decided = [ok for c, ok in zip(confidence, right, strict=True) if c >= t.category]
    return {"macro_f1": macro_f1(gold, predicted, CATEGORIES),
            "accuracy": sum(right) / len(right),
            "coverage": len(decided) / len(right),
            "decided_accuracy": sum(decided) / len(decided) if decided else 0.0,
            "ece": ece(confidence, right)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not REAL_YARDSTICK.is_file():
        raise SystemExit(f"{REAL_YARDSTICK} is missing")
    clf = SpacyClassifier(Settings().model_dir)
    examples = list(read([REAL_YARDSTICK]))
    cats = clf.cats([model_text(e.subject, e.text, mode=clf.textprep) for e in examples])
    scores = [{c: x[CATEGORY + c] for c in CATEGORIES} for x in cats]
    gold = [e.category for e in examples]
    rng = random.Random(2026)
    held_out: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        order = list(range(len(examples)))
        rng.shuffle(order)
        a, b = order[: len(order) // 2], order[len(order) // 2:]
        t = calibrated(clf.thresholds, [scores[i] for i in a], [gold[i] for i in a],
                       CATEGORIES, DECIDE_TARGET)
        for k, v in figures(t, [scores[i] for i in b], [gold[i] for i in b]).items():
            held_out.setdefault(k, []).append(v)
    result = {
        "model_version": clf.version, "n": len(examples), "rounds": args.rounds,
        "chosen_on_all": figures(clf.thresholds, scores, gold),
        "held_out_half": {k: {"mean": statistics.fmean(v),
                              "p10": statistics.quantiles(v, n=10)[0],
                              "p90": statistics.quantiles(v, n=10)[-1]}
                          for k, v in held_out.items()},
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{clf.version} on {len(examples)} real texts; {args.rounds} random halves")
    print(f"{'':18}{'chosen on all':>15}{'held-out half (mean, p10-p90)':>34}")
    for k, v in result["chosen_on_all"].items():  # type: ignore[union-attr]
        h = result["held_out_half"][k]  # type: ignore[index]
        print(f"{k:18}{v:15.3f}{h['mean']:16.3f}  ({h['p10']:.3f}-{h['p90']:.3f})")


if __name__ == "__main__":
    main()
