"""`run --once` with its mails taken in batches, and one by one.

    .venv/bin/python benchmarks/run_once_batch.py [--mails 300] [--rounds 2] [--json]

The embedded mode as `synpunkt run --once` runs it (SQLite, the Maildir
inbox, the outbox folder, the shipped model), on the same citizen mails:
once in batches of ``PRIME_BATCH`` mails (the shipped path:
``service.batch.prime`` classifies a batch in one model call, and
``process_batch`` registers it in one transaction), once one by one (every
mail classified and registered in its own transaction, as before issue
25). The two alternate, each in a fresh home, so the machine's drift falls
on both. CPU time of this process and wall time of
the pass, per mail; the model is loaded and warmed before timing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import _templates  # noqa: E402
from benchmarks.production import citizen_mail  # noqa: E402
from cases.migrate import upgrade  # noqa: E402
from classify.language import detect  # noqa: E402
from config.settings import Settings  # noqa: E402
from service import batch, pipeline  # noqa: E402
from service.app import App, LazyClassifier, build_app  # noqa: E402
from service.intake import Outcome  # noqa: E402
from workers import embedded  # noqa: E402


def one_by_one(app: App, ids: list[int], _parsed: object, outcomes: list[Outcome]) -> None:
    outcomes.extend(pipeline.process_inbound(app, i) for i in ids)


def one_pass(home: Path, mails: list[bytes], primed: bool,
             classifier: LazyClassifier) -> dict[str, float]:
    app: App = build_app(Settings(home=home))
    upgrade(app.engine)
    app = dataclasses.replace(app, classifier=classifier)  # the warmed model, shared
    inbox = home / "inbox" / "new"
    inbox.mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(mails):
        (inbox / f"{i:06d}.eml").write_bytes(raw)
    classifier.forget()  # nothing primed by the run before
    embedded.prime = batch.prime if primed else (lambda app, ids: {})  # type: ignore[assignment]
    embedded.process_batch = batch.process_batch if primed else one_by_one  # type: ignore[assignment]
    cpu, wall = time.process_time(), time.perf_counter()
    report = embedded.run_once(app, poll_sms=False)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    cases = sum(1 for o in report.outcomes if o.case_id is not None)
    app.engine.dispose()
    return {"mails": len(mails), "cases": cases, "cpu_ms_per_mail": 1000 * cpu / len(mails),
            "mails_per_s": len(mails) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    templates = _templates()
    mails = [citizen_mail(i, templates) for i in range(args.mails)]
    shipped = embedded.PRIME_BATCH
    with tempfile.TemporaryDirectory(prefix="synpunkt-once-") as tmp:
        classifier = LazyClassifier(Settings(home=Path(tmp) / "warm"))
        classifier.warm()
        detect("Hemtjänsten kom inte i dag och ingen svarade när jag ringde.")  # lingua's models
        runs: dict[str, list[dict[str, float]]] = {"batch": [], "one by one": []}
        for r in range(args.rounds):
            for name in runs:
                home = Path(tmp) / f"{name.replace(' ', '-')}-{r}"
                runs[name].append(one_pass(home, mails, name == "batch", classifier))
                shutil.rmtree(home, ignore_errors=True)
    summary = {name: {k: statistics.fmean(run[k] for run in rs) for k in rs[0]}
               for name, rs in runs.items()}
    if args.json:
        print(json.dumps({"prime_batch": shipped, "runs": runs, "mean": summary}, indent=2))
        return
    print(f"run_once, {args.mails} citizen mails, embedded mode, {args.rounds} rounds each "
          f"(PRIME_BATCH {shipped}):")
    for name, s in summary.items():
        print(f"  {name:>10}: {s['mails_per_s']:6.1f} mails/s, {s['cpu_ms_per_mail']:5.1f} ms "
              f"CPU per mail ({s['cases']:.0f} cases)")


if __name__ == "__main__":
    main()
