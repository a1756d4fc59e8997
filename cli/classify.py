"""``synpunkt train | eval | triage``: the classifier on the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from classify.corpus import CATEGORIES, FLAGS, as_message, read
from classify.metrics import evaluate
from classify.recipe import DEFAULT_CONFIG, current_version, trained_version
from cli.errors import MissingFileError
from cli.output import echo_json, table
from cli.params import InputFile
from config.settings import Settings
from config.words import Words
from ingest.message import Channel, Message, Quarantine
from ingest.parse import parse
from service.app import build_app


def ensure_model(settings: Settings, say: Any = None) -> None:
    """Train the model when it is missing or older than the corpus and config."""
    say = say or (lambda text: click.echo(text, err=True))
    if trained_version(settings.model_dir) == current_version():
        return
    say("Tränar klassningsmodellen (första gången, eller efter ändrad korpus): "
        "några minuter …")
    from classify.train import train as run_training

    run_training(settings.model_dir, say=say)


@click.command()
@click.option("--config", "config_path", type=InputFile(), metavar="FIL",
              default=DEFAULT_CONFIG, show_default=True, help="spaCy-konfiguration.")
@click.option("--extra", type=InputFile(), metavar="FIL", multiple=True,
              help="Fler märkta exempel (JSONL som labels.md), t.ex. registratorns rättelser.")
@click.option("--corrections/--no-corrections", default=True, show_default=True,
              help="Lär också av registratorns bekräftelser och rättelser i webben.")
@click.option("--json", "as_json", is_flag=True, help="Dev-mätvärden som ett JSON-objekt.")
def train(config_path: Path, extra: tuple[Path, ...], corrections: bool, as_json: bool) -> None:
    """Träna om klassningsmodellen från korpusen i classify/data (fast frö:
    samma korpus ger samma modell). Modellen hamnar i SYNPUNKT_MODEL_DIR."""
    from classify.train import train as run_training

    settings = Settings()
    if corrections:
        found = _export_corrections()
        extra = (*extra, found) if found is not None else extra
    figures = run_training(settings.model_dir, config=config_path, extra=extra,
                           say=lambda text: click.echo(text, err=True))
    if as_json:
        echo_json(figures)
    else:
        click.echo(f"Modellen finns i {settings.model_dir} (version "
                   f"{trained_version(settings.model_dir)}). Mätvärden på dev:")
        click.echo(_report(figures))


def _export_corrections() -> Path | None:
    """The registrator's verdicts as a JSONL file of labelled examples; None
    when there are none (the model then stays the corpus's own, bit for bit)."""
    import json

    from cases.queries import labelled_corrections
    from classify.corpus import organisation, validate
    from cli.common import open_app

    app = open_app()
    with app.sessions() as session:
        records = labelled_corrections(session)
    org = organisation()
    good = [r for r in records if not validate(r, org)]
    if not good:
        return None
    path = app.settings.home / "rattelser.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in good), "utf-8")
    click.echo(f"{len(good)} rättelser från registratorn ({len(records) - len(good)} ogiltiga "
               f"hoppades över) i {path}.", err=True)
    return path


@click.command("eval")
@click.argument("dataset", type=InputFile(), metavar="FIL")
@click.option("--json", "as_json", is_flag=True, help="Mätvärdena som ett JSON-objekt.")
def eval_command(dataset: Path, as_json: bool) -> None:
    """Mät klassning och fördelning på märkta exempel (JSONL som labels.md):
    precision, recall och F1 per kategori, macro-F1, förväxlingsmatris,
    flaggor, täckning (andel beslutade utan granskning) och hur många av dem
    som blev rätt, enhet, felaktigt lotsade till extern instans, och
    kalibreringen (ECE och säkerhet mot träffsäkerhet per intervall)."""
    from classify.train import scored

    app = build_app()
    examples = list(read([dataset]))
    messages = [as_message(e) for e in examples]
    triages = app.classifier.classify_many(messages)
    rows = []
    for ex, message, triage in zip(examples, messages, triages, strict=True):
        decision = app.router.route(message, triage)
        rows.append(scored(ex, triage, decision))
    figures = evaluate(rows, CATEGORIES, FLAGS)
    figures["model_version"] = triages[0].model_version if triages else None
    if as_json:
        echo_json(figures)
    else:
        click.echo(_report(figures))


def _report(f: dict[str, Any]) -> str:
    cat = f["category"]
    lines = [f"Exempel: {f['n']}   macro-F1 (kategori): {cat['macro_f1']:.3f}   "
             f"täckning: {f['coverage']:.1%}   rätt bland beslutade: "
             f"{f['decided_accuracy']:.1%}", ""]
    lines.append(table(["Kategori", "Precision", "Recall", "F1", "Antal"],
                       [[c, f"{v['precision']:.3f}", f"{v['recall']:.3f}", f"{v['f1']:.3f}",
                         v["support"]] for c, v in cat["per_class"].items()]))
    lines += ["", "Förväxlingsmatris (rad: rätt svar, kolumn: modellens):"]
    labels = list(cat["confusion"])
    lines.append(table(["", *labels], [[g, *[cat["confusion"][g][p] for p in labels]]
                                       for g in labels]))
    lines += ["", table(["Flagga", "Precision", "Recall", "Antal"],
                        [[k, f"{v['precision']:.3f}", f"{v['recall']:.3f}", v["support"]]
                         for k, v in f["flags"].items()])]
    e = f["enhet"]
    lines += ["", f"Enhet: rätt {e['accuracy']:.1%} (modellens bästa gissning "
              f"{e['top1_accuracy']:.1%}); till en enhet {e['coverage']:.1%}, varav rätt "
              f"{e['decided_accuracy']:.1%}. Externa rätt lotsade: "
              f"{f['extern']['recall']:.1%}; felaktigt lotsade (kommunens egna): "
              f"{f['extern']['false_rate']:.1%}."]
    cal = f["calibration"]
    lines += ["", f"Kalibrering: ECE {cal['ece']:.3f} (säkerhet mot träffsäkerhet per intervall)",
              table(["Säkerhet", "Antal", "Medelsäkerhet", "Rätt"],
                    [[f"{b['low']:.1f}–{b['high']:.1f}", b["n"], f"{b['confidence']:.2f}",
                      f"{b['accuracy']:.2f}"] for b in cal["bins"]])]
    return "\n".join(lines)


@click.command()
@click.argument("source", type=InputFile(dash=True), metavar="FIL")
@click.option("--json", "as_json", is_flag=True, help="Resultatet som ett JSON-objekt.")
@click.option("--explain", is_flag=True,
              help="Visa varje regel som prövades, i ordning, och varför den passade eller "
                   "inte, samt poängen för varje etikett.")
def triage(source: Path, as_json: bool, explain: bool) -> None:
    """Klassa och fördela ett meddelande utan att spara något: en .eml-fil,
    en textfil, eller text på standard in (-)."""
    raw = sys.stdin.buffer.read() if str(source) == "-" else source.read_bytes()
    app = build_app()
    message = _message(raw, str(source), app.settings)
    result = app.classifier.classify(message)
    decision = app.router.route(message, result)
    out: dict[str, Any] = {
        "category": result.category, "enhet": decision.enhet,
        "flags": sorted(result.flags), "extern": decision.extern,
        "aspects": sorted(result.aspects), "confidence": result.confidence,
        "rule": decision.rule, "explanation": decision.explanation,
        "needs_review": decision.needs_review or result.needs_review,
        "review_reasons": list(result.review_reasons),
        "suggested_enhet": result.suggested_enhet, "enhet_confidence": result.enhet_confidence,
        "language": result.language, "model_version": result.model_version,
        "sensitive": [{"kind": s.kind, "start": s.start, "end": s.end}
                      for s in result.sensitive_spans],
    }
    if explain:
        out["scores"] = dict(result.scores)
        out["rules_version"] = decision.rules_version
        out["notify"] = list(decision.notify)
        out["priority"] = decision.priority
        out["trace"] = [{"rule": t.rule, "matched": t.matched, "decided": t.decided,
                         "why": t.why} for t in decision.trace]
    if as_json:
        echo_json(out)
        return
    words = Words(app.kommun)
    click.echo(f"Kategori:   {words.category(result.category) if result.category else 'obestämd'}"
               f" ({result.confidence:.0%})")
    click.echo(f"Enhet:      {words.enhet(decision.enhet)}" + (
        f", hänvisas till {words.extern(decision.extern)}" if decision.extern else ""))
    click.echo(f"Flaggor:    {words.flags(sorted(result.flags)) or '–'}")
    click.echo(f"Aspekter:   {', '.join(words.aspect(a) for a in sorted(result.aspects)) or '–'}")
    click.echo(f"Språk:      {result.language}")
    click.echo(f"Granskas:   {'ja' if out['needs_review'] else 'nej'}")
    click.echo(f"Förklaring: {words.in_words(decision.explanation)}")
    if result.sensitive_spans:
        click.echo("Känsligt:   " + ", ".join(sorted({s.kind for s in result.sensitive_spans})))
    if decision.notify:
        click.echo(f"Underrättas: {', '.join(decision.notify)} (prioritet {decision.priority})")
    if explain:
        click.echo(f"\nRegler prövade i ordning ({decision.rules_version}):")
        for tried in decision.trace:
            mark = "→" if tried.decided else ("+" if tried.matched else "·")
            click.echo(f"  {mark} {tried.rule}: {tried.why}")
        if not any(t.decided for t in decision.trace):
            click.echo("  → ingen regel avgjorde: registratorn")
        click.echo("\nPoäng:")
        for label, value in sorted(result.scores, key=lambda kv: -kv[1])[:15]:
            click.echo(f"  {value:6.3f}  {label}")


def _message(raw: bytes, source: str, settings: Settings) -> Message:
    head = raw[:2000].lower()
    looks_like_mail = source.endswith(".eml") or (
        b"\nsubject:" in b"\n" + head or b"\nfrom:" in b"\n" + head)
    if looks_like_mail:
        parsed = parse(raw, settings.limits)
        if isinstance(parsed, Quarantine):
            raise MissingFileError(f"{source}: meddelandet kan inte läsas: {parsed.detail}")
        return parsed
    text = raw.decode("utf-8", "replace").strip()
    return Message(channel=Channel.WEBFORM, sender=None, display_name=None, subject="",
                   text=text)
