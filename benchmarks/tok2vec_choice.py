"""The shared CNN's size against what it gets right and what it costs.

    .venv/bin/python benchmarks/tok2vec_choice.py [--variants 96x4,64x2] [--seeds 2026]
                                                  [--jobs 2] [--keep DIR] [--json]

The flags, the aspects and the owning enhet read one small CNN (tok2vec:
width 96, depth 4 in classify/configs/combined.cfg), which is most of the
spaCy pipeline's CPU a text. For each width × depth (and seed), the shipped
config with those numbers is trained as ``synpunkt train`` does (its own
model folder, no corrections), then measured with ``synpunkt eval`` on the
real yardstick (../shared/realtext/dev.jsonl) and on the corpus's test
split (beside the dev split's figures from the training), and the spaCy
pipeline's CPU a text is timed on the test split's
prepared texts: one core, the variants in turn, best of three. The
category's own model is the same in every variant (classify/linear.py), so
its figures do not move; what moves is the flags' precision at their recall
floors, the enhet, and so what the machine decides alone. Training takes
about five minutes a variant; ``--jobs`` trains that many at once.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classify.corpus import read  # noqa: E402
from classify.recipe import DEFAULT_CONFIG, corpus_files  # noqa: E402
from classify.train import REAL_YARDSTICK  # noqa: E402

SYNPUNKT = Path(sys.executable).with_name("synpunkt")
FLAGS_SHOWN = ("allvarlig_handelse", "sekretess", "valfardsbrott", "medborgarforslag", "extern")
REAL_FLAGS = ("medborgarforslag", "allvarlig_handelse")  # the real texts have few of the others
say = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731


def config_for(width: int, depth: int, seed: int, folder: Path) -> Path:
    """combined.cfg with the CNN's width and depth (and the seed) replaced."""
    text = DEFAULT_CONFIG.read_text("utf-8")
    text, widths = re.subn(r"(?m)^width = \d+$", f"width = {width}", text)
    text, depths = re.subn(r"(?m)^depth = \d+$", f"depth = {depth}", text)
    text, seeds = re.subn(r"(?m)^seed = \d+$", f"seed = {seed}", text)
    if (widths, depths, seeds) != (5, 1, 1):  # the embedding, the encoder, three listeners
        raise SystemExit(f"{DEFAULT_CONFIG} changed shape: {widths} widths, {depths} depths, "
                         f"{seeds} seeds where 5, 1 and 1 were expected")
    path = folder / f"w{width}d{depth}s{seed}.cfg"
    path.write_text(text, "utf-8")
    return path


def trained(config: Path, folder: Path, test: Path) -> dict[str, Any]:
    """Train one variant and measure it on the real yardstick and the test split."""
    env = {**os.environ, "SYNPUNKT_HOME": str(folder / "home"),
           "SYNPUNKT_MODEL_DIR": str(folder / "model")}
    began = time.monotonic()
    run = subprocess.run([str(SYNPUNKT), "train", "--config", str(config), "--no-corrections",
                          "--json"], env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise SystemExit(f"training {config.name} failed: {run.stderr[-2000:]}")
    figures: dict[str, Any] = {"train_s": round(time.monotonic() - began),
                               "dev": json.loads(run.stdout)}  # where thresholds are chosen
    for name, path in (("real", REAL_YARDSTICK), ("test", test)):
        out = subprocess.run([str(SYNPUNKT), "eval", str(path), "--json"], env=env,
                             capture_output=True, text=True, check=True).stdout
        figures[name] = json.loads(out)
    say(f"  {config.stem}: trained and measured in {figures['train_s']} s")
    return figures


def pipe_ms(models: dict[str, Path], texts: list[str], repeat: int = 3) -> dict[str, float]:
    """CPU ms a text of each model's spaCy pipeline, the models in turn, best of ``repeat``
    (loaded as the classifier loads it: numpy's BLAS, one thread)."""
    from classify.model import load_pipeline

    nlps = {name: load_pipeline(path / "nlp") for name, path in models.items()}
    best = dict.fromkeys(nlps, float("inf"))
    for _ in range(repeat):
        for name, nlp in nlps.items():
            list(nlp.pipe(texts[:50], batch_size=8))
            began = time.process_time()
            list(nlp.pipe(texts, batch_size=8))
            best[name] = min(best[name], time.process_time() - began)
    return {name: round(1000 * s / len(texts), 2) for name, s in best.items()}


def row(name: str, f: dict[str, Any]) -> str:
    dev, real, test = f["dev"], f["real"], f["test"]
    def pr(figures: dict[str, Any], flag: str) -> str:
        return f"{figures['flags'][flag]['precision']:.2f} / {figures['flags'][flag]['recall']:.2f}"

    flags = " | ".join([*(pr(real, k) for k in REAL_FLAGS), *(pr(test, k) for k in FLAGS_SHOWN)])
    return (f"| {name} | {f['pipe_ms']} | {dev['coverage']:.1%} at {dev['decided_accuracy']:.1%}"
            f" | {real['coverage']:.1%} at {real['decided_accuracy']:.1%}"
            f" | {real['extern']['false_rate']:.1%} | {test['coverage']:.1%} at "
            f"{test['decided_accuracy']:.1%} | {test['enhet']['accuracy']:.3f} | {flags} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="96x4,64x2",
                        help="width x depth, comma-separated (96x4 is the shipped CNN)")
    parser.add_argument("--seeds", default="2026",
                        help="training seeds, comma-separated (2026 is the shipped one)")
    parser.add_argument("--jobs", type=int, default=2, help="variants trained at once")
    parser.add_argument("--keep", type=Path, help="copy each variant's model folder here")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    try:
        shapes = [tuple(int(n) for n in v.split("x")) for v in args.variants.split(",")]
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        parser.error("--variants are WIDTHxDEPTH (96x4,64x2); --seeds are whole numbers")
    with tempfile.TemporaryDirectory(prefix="synpunkt-tok2vec-") as tmp_name:
        tmp = Path(tmp_name)
        test = tmp / "test.jsonl"
        subprocess.run([sys.executable, "-m", "classify.corpus", "export", "test", str(test)],
                       cwd=ROOT, check=True, capture_output=True)
        configs = {f"{w}x{d} seed {s}": config_for(w, d, s, tmp)
                   for (w, d) in shapes for s in seeds}
        say(f"training {len(configs)} variants, {args.jobs} at a time …")
        with ThreadPoolExecutor(args.jobs) as pool:
            futures = {name: pool.submit(trained, cfg, tmp / cfg.stem, test)
                       for name, cfg in configs.items()}
            results = {name: f.result() for name, f in futures.items()}
        from classify.textprep import model_text

        texts = [model_text(e.subject, e.text) for e in read(corpus_files()) if e.split == "test"]
        speeds = pipe_ms({name: tmp / cfg.stem / "model" for name, cfg in configs.items()}, texts)
        for name, ms in speeds.items():
            results[name]["pipe_ms"] = ms
        for cfg in configs.values() if args.keep else ():
            shutil.copytree(tmp / cfg.stem / "model", args.keep / cfg.stem, dirs_exist_ok=True)
            shutil.copy(cfg, args.keep / cfg.stem / "config.cfg")
    if args.json:
        print(json.dumps({"command": " ".join(["benchmarks/tok2vec_choice.py", *sys.argv[1:]]),
                          "variants": results}))
        return
    print("| CNN width x depth | spaCy ms/text | dev: decided alone at right | real: decided "
          "alone at right | real: wrongly extern | test: decided alone at right | test: enhet | " +
          " | ".join([*(f"real {k} P / R" for k in REAL_FLAGS),
                      *(f"test {k} P / R" for k in FLAGS_SHOWN)]) + " |")
    print("|---" * (7 + len(REAL_FLAGS) + len(FLAGS_SHOWN)) + "|")
    for name, f in results.items():
        print(row(name, f))


if __name__ == "__main__":
    main()
