"""Scoring a rules file on labelled messages, and what changes between two (pure).

``synpunkt rules test`` is built on these: accuracy per enhet, the wrong
destinations grouped, and, against an older rules file, exactly which
messages move and whether they move to the right place.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from routing.decision import Decision


@dataclass(frozen=True, slots=True)
class Gold:
    id: str
    enhet: str
    extern: str | None


def destination(decision: Decision) -> str:
    """One string for where a message went: an enhet, or `extern:<id>`."""
    return f"extern:{decision.extern}" if decision.extern else decision.enhet


def _gold_destination(gold: Gold) -> str:
    return f"extern:{gold.extern}" if gold.extern else gold.enhet


@dataclass(frozen=True, slots=True)
class Wrong:
    gold: str
    got: str
    rule: str | None
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Score:
    n: int
    enhet_accuracy: float  # decision.enhet == gold enhet (extern matters: registrator)
    destination_accuracy: float  # the same, but an extern must name the right instance
    extern_recall: float | None  # gold extern matters routed to that instance
    per_enhet: dict[str, tuple[int, int]]  # gold enhet -> (right, total)
    by_rule: dict[str, tuple[int, int]]  # deciding rule -> (right, total)
    wrong: tuple[Wrong, ...]  # most frequent first

    def as_dict(self) -> dict[str, object]:
        return {
            "n": self.n, "enhet_accuracy": round(self.enhet_accuracy, 4),
            "destination_accuracy": round(self.destination_accuracy, 4),
            "extern_recall": None if self.extern_recall is None else round(self.extern_recall, 4),
            "per_enhet": {k: {"right": r, "total": t} for k, (r, t) in self.per_enhet.items()},
            "by_rule": {k: {"right": r, "total": t} for k, (r, t) in self.by_rule.items()},
            "wrong": [{"gold": w.gold, "got": w.got, "rule": w.rule, "ids": list(w.ids)}
                      for w in self.wrong],
        }


def score(golds: Sequence[Gold], decisions: Sequence[Decision]) -> Score:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    rules: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    wrong: dict[tuple[str, str, str | None], list[str]] = defaultdict(list)
    right_enhet = right_dest = extern_total = extern_right = 0
    for gold, d in zip(golds, decisions, strict=True):
        ok = d.enhet == gold.enhet
        right_enhet += ok
        dest_ok = destination(d) == _gold_destination(gold)
        right_dest += dest_ok
        per[gold.enhet][0] += ok
        per[gold.enhet][1] += 1
        rule = d.rule or "(ingen regel)"
        rules[rule][0] += dest_ok
        rules[rule][1] += 1
        if gold.extern:
            extern_total += 1
            extern_right += d.extern == gold.extern
        if not dest_ok:
            wrong[(_gold_destination(gold), destination(d), d.rule)].append(gold.id)
    n = len(golds)
    ranked = sorted(wrong.items(), key=lambda kv: (-len(kv[1]), kv[0][0], kv[0][1]))
    return Score(
        n=n,
        enhet_accuracy=right_enhet / n if n else 0.0,
        destination_accuracy=right_dest / n if n else 0.0,
        extern_recall=extern_right / extern_total if extern_total else None,
        per_enhet={k: (v[0], v[1]) for k, v in sorted(per.items())},
        by_rule={k: (v[0], v[1]) for k, v in sorted(rules.items(), key=lambda kv: -kv[1][1])},
        wrong=tuple(Wrong(g, got, r, tuple(ids)) for (g, got, r), ids in ranked),
    )


@dataclass(frozen=True, slots=True)
class Move:
    id: str
    gold: str
    before: str
    before_rule: str | None
    after: str
    after_rule: str | None

    @property
    def verdict(self) -> str:
        """`bättre`, `sämre` or `annan` (wrong before and after)."""
        if self.after == self.gold:
            return "bättre"
        if self.before == self.gold:
            return "sämre"
        return "annan"


def moves(golds: Sequence[Gold], before: Sequence[Decision],
          after: Sequence[Decision]) -> list[Move]:
    """Every message whose destination differs between two rules files."""
    out = []
    for gold, b, a in zip(golds, before, after, strict=True):
        if destination(b) != destination(a):
            out.append(Move(gold.id, _gold_destination(gold), destination(b), b.rule,
                            destination(a), a.rule))
    return out


def summary(found: Sequence[Move]) -> Counter[str]:
    return Counter(m.verdict for m in found)

