"""``synpunkt rules check | test``: the admin's tools for the routing rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cases.queries import routed_cases
from classify.corpus import as_message, read
from cli.common import open_app
from cli.output import echo_json, table
from cli.params import InputFile, Whole
from config.kommun import Kommun, load_kommun
from config.organisation import REGISTRATOR
from config.settings import Settings
from config.words import Words
from ingest.message import Channel, Message
from routing.compare import Gold, Move, Score, moves, score, summary
from routing.decision import Decision
from routing.engine import route
from routing.load import load_kommun_rules, load_rules
from routing.rules import SUGGESTED, RuleSet
from service.app import load_classifier


@click.group()
def rules() -> None:
    """Fördelningsreglerna (routing.yaml): kontrollera dem och prova en
    ändring mot märkta meddelanden innan den börjar gälla."""


def _load(kommun: Kommun, path: Path | None) -> RuleSet:
    if path is None:
        return load_kommun_rules(kommun)
    return load_rules(path, kommun.organisation, kommun.routines.profiler)


@rules.command()
@click.option("--rules", "rules_path", type=InputFile(), metavar="FIL",
              help="En annan regelfil än den som gäller, t.ex. ett utkast.")
@click.option("--json", "as_json", is_flag=True, help="Sammanfattningen som ett JSON-objekt.")
def check(rules_path: Path | None, as_json: bool) -> None:
    """Kontrollera regelfilen och visa vilka regler som leder till varje enhet
    och extern instans. Ett fel anges med fil, rad och regel (slutkod 2)."""
    kommun = load_kommun(Settings().config)
    ruleset = _load(kommun, rules_path)
    org = kommun.organisation
    leads: dict[str, list[str]] = defaultdict(list)
    adds: list[str] = []
    for rule in ruleset.rules:
        then = rule.then
        if rule.continues:
            adds.append(rule.id)
        elif then.extern and then.extern != SUGGESTED:
            leads[f"extern:{then.extern}"].append(rule.id)
        elif then.registrator:
            leads[REGISTRATOR].append(rule.id)
        elif then.enhet == SUGGESTED or then.extern == SUGGESTED:
            leads["(klassningens förslag)"].append(rule.id)
        else:
            leads[str(then.enhet)].append(rule.id)
    targets = [(e.id, e.namn) for _, _, e in org.enheter()] + [
        (f"extern:{x.id}", x.namn) for x in org.externa_instanser]
    missing = [t for t, _ in targets if t not in leads and t != REGISTRATOR]
    if as_json:
        echo_json({"file": str(ruleset.path), "version": ruleset.version,
                   "rules": len(ruleset.rules), "continue_rules": adds,
                   "destinations": dict(leads), "without_rule": missing})
        return
    click.echo(f"{ruleset.path}: {len(ruleset.rules)} regler, inga fel "
               f"(version {ruleset.version}).")
    rows = [[t, name, ", ".join(leads.get(t, [])) or "–"] for t, name in targets]
    rows = [[t, n, "(när ingen regel avgör) " + r.strip("–") if t == REGISTRATOR else r]
            for t, n, r in rows]
    suggested = leads.get("(klassningens förslag)")
    if suggested:
        rows.append(["(förslag)", "klassningens förslag", ", ".join(suggested)])
    click.echo(table(["Dit", "Namn", "Regler"], rows, widths=(0, 34, 60)))
    if adds:
        click.echo(f"\nRegler som bara lägger till (continue): {', '.join(adds)}")
    if missing:
        click.echo(f"\nObs: ingen regel leder till {', '.join(missing)} (bara klassningens "
                   "förslag eller registratorn kan skicka dit).")


@rules.command("test")
@click.argument("dataset", required=False, type=InputFile(), metavar="FIL")
@click.option("--cases", "from_cases", is_flag=True,
              help="Prova mot de registrerade ärendena i stället för en fil: deras nuvarande "
                   "mottagare (med registratorns ändringar) räknas som rätt svar.")
@click.option("--limit", type=Whole(low=1), default=2000, show_default=True, metavar="N",
              help="Med --cases: så många av de senaste ärendena.")
@click.option("--rules", "rules_path", type=InputFile(), metavar="FIL",
              help="Regelfilen att prova (standard: den som gäller).")
@click.option("--against", type=InputFile(), metavar="FIL",
              help="En äldre regelfil: visa exakt vilka meddelanden som byter mottagare.")
@click.option("--show", type=Whole(low=0), default=15, show_default=True, metavar="N",
              help="Hur många rader av varje lista.")
@click.option("--json", "as_json", is_flag=True, help="Resultatet som ett JSON-objekt.")
def test_rules(dataset: Path | None, from_cases: bool, limit: int, rules_path: Path | None,
               against: Path | None, show: int, as_json: bool) -> None:
    """Fördela märkta meddelanden (JSONL som labels.md) eller de registrerade
    ärendena (--cases) med reglerna och mät: träffsäkerhet per enhet,
    felaktiga mottagare och, med --against, vilka meddelanden som flyttas
    mellan två versioner av reglerna. Inget sparas och inget skickas."""
    if (dataset is None) == (not from_cases):
        raise click.UsageError("ange antingen en DATASET-fil eller --cases")
    settings = Settings()
    kommun = load_kommun(settings.config)
    new = _load(kommun, rules_path)
    old = _load(kommun, against) if against else None
    messages, golds = _real_mail(limit) if from_cases else _labelled(dataset)
    if not messages:
        raise click.ClickException("inga meddelanden att prova reglerna på")
    if not as_json:
        click.echo(f"Klassar {len(messages)} meddelanden …", err=True)
    triages = load_classifier(settings).classify_many(messages)
    after = [route(new, m, t) for m, t in zip(messages, triages, strict=True)]
    result = score(golds, after)
    before: list[Decision] = []
    if old is not None:
        before = [route(old, m, t) for m, t in zip(messages, triages, strict=True)]
    moved = moves(golds, before, after) if old is not None else []
    if as_json:
        out: dict[str, Any] = {"rules": new.version, **result.as_dict()}
        if old is not None:
            out["against"] = {"rules": old.version, **score(golds, before).as_dict()}
            out["moves"] = [{"id": m.id, "gold": m.gold, "before": m.before,
                             "before_rule": m.before_rule, "after": m.after,
                             "after_rule": m.after_rule, "verdict": m.verdict} for m in moved]
        echo_json(out)
        return
    if from_cases:
        click.echo("Ärendenas nuvarande mottagare räknas som rätt svar.")
    say = _destination(Words(kommun))
    click.echo(_report(new, result, show, say))
    if old is not None:
        click.echo(_moves_report(old, score(golds, before), result, moved, show, say))


def _destination(words: Words) -> Callable[[str | None], str]:
    """A destination ("hemtjanst_soder", "extern:forsakringskassan") in words."""
    def say(value: str | None) -> str:
        if value and value.startswith("extern:"):
            return f"hänvisas till {words.extern(value.removeprefix('extern:'))}"
        return words.enhet(value)
    return say


def _labelled(dataset: Path | None) -> tuple[list[Message], list[Gold]]:
    examples = list(read([dataset])) if dataset else []
    return [as_message(e) for e in examples], [Gold(e.id, e.enhet, e.extern) for e in examples]


def _real_mail(limit: int) -> tuple[list[Message], list[Gold]]:
    """The kommun's own registered cases, as they arrived; their present
    destination (after any correction by the registrator) is the answer."""
    app = open_app()
    with app.sessions() as session:
        cases = routed_cases(session, limit)
    messages = [Message(channel=Channel(c.channel), sender=c.sender, display_name=None,
                        subject=c.subject, text=c.text) for c in cases]
    return messages, [Gold(c.diarienummer, c.enhet, c.extern) for c in cases]


def _report(ruleset: RuleSet, s: Score, show: int, say: Callable[[str | None], str]) -> str:
    extern = "–" if s.extern_recall is None else f"{s.extern_recall:.1%}"
    lines = [f"Regler {ruleset.version} ({ruleset.path.name}) på {s.n} meddelanden: "
             f"rätt enhet {s.enhet_accuracy:.1%}, rätt mottagare {s.destination_accuracy:.1%}, "
             f"externa rätt lotsade {extern}.", ""]
    lines.append(table(["Enhet (rätt svar)", "Rätt", "Av", "Andel"],
                       [[say(k), r, t, f"{r / t:.0%}"] for k, (r, t) in s.per_enhet.items()]))
    if s.wrong:
        lines += ["", "Fel mottagare (vanligast först):"]
        lines.append(table(["Rätt", "Fick", "Regel", "Antal", "Exempel"],
                           [[say(w.gold), say(w.got), w.rule or "(ingen)", len(w.ids),
                             ", ".join(w.ids[:3])] for w in s.wrong[:show]],
                           widths=(0, 0, 0, 0, 40)))
    return "\n".join(lines)


def _moves_report(old: RuleSet, before: Score, after: Score, moved: list[Move],
                  show: int, say: Callable[[str | None], str]) -> str:
    count = summary(moved)
    lines = ["", f"Jämfört med {old.version} ({old.path.name}): rätt mottagare "
             f"{before.destination_accuracy:.1%} -> {after.destination_accuracy:.1%}.",
             f"{len(moved)} meddelanden byter mottagare: {count['bättre']} blir rätt, "
             f"{count['sämre']} blir fel, {count['annan']} fel både före och efter."]
    if moved:
        order = {"sämre": 0, "bättre": 1, "annan": 2}
        ranked = sorted(moved, key=lambda m: (order[m.verdict], m.id))
        lines.append(table(["Id", "Rätt", "Före (regel)", "Efter (regel)", ""],
                           [[m.id, say(m.gold), f"{say(m.before)} ({m.before_rule or '–'})",
                             f"{say(m.after)} ({m.after_rule or '–'})", m.verdict]
                            for m in ranked[:show]]))
        if len(moved) > show:
            lines.append(f"… och {len(moved) - show} till (--show N eller --json).")
    return "\n".join(lines)
