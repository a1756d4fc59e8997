"""The rule engine: walk the rules in order, record every one tried (pure).

The first rule that matches decides, unless it says ``continue: true``: then
it may only add flags, recipients, a routine or a priority, and the walk goes
on. After the rules, the routines' own consequences of a flag are applied;
they are not rules because an admin must not be able to switch off the
alert for a serious incident by editing a file.
"""

from __future__ import annotations

from dataclasses import replace

from classify.triage import Flag, Triage
from config.organisation import REGISTRATOR
from ingest.message import Message
from routing.conditions import Facts
from routing.decision import Decision, Tried
from routing.rules import SUGGESTED, Priority, Rule, RuleSet

# What a flag does whatever the rules say (shared/seeds; labels.md).
ROUTINE_NOTIFY: dict[str, tuple[tuple[str, ...], Priority, str]] = {
    Flag.ALLVARLIG_HANDELSE: (("enhetschef", "sektorchef"), Priority.AKUT,
                              "möjlig allvarlig händelse: enhetschefen och sektorchefen larmas "
                              "direkt"),
    Flag.VALFARDSBROTT: (("avtalsansvarig", "upphandlare"), Priority.HOG,
                         "möjligt välfärdsbrott: avtalsansvarig och upphandlare underrättas"),
}


def route(rules: RuleSet, message: Message, triage: Triage) -> Decision:
    """The destination of one triaged message, with every rule tried."""
    return decide(rules, Facts.of(message, triage, rules.vocabulary), triage.review_reasons
                  if triage.needs_review else ())


def decide(rules: RuleSet, facts: Facts, review_reasons: tuple[str, ...] = ()) -> Decision:
    """The rules applied to prepared facts; ``review_reasons`` are the
    classifier's reasons for a person to look (empty when it is sure)."""
    trace: list[Tried] = []
    notify: list[str] = []
    added: set[str] = set()
    routine: str | None = None
    priority = Priority.NORMAL
    chosen: Rule | None = None
    matched_why = ""
    for rule in rules.rules:
        verdict = rule.when.test(facts)
        decides = verdict.holds and not rule.continues
        trace.append(Tried(rule.id, verdict.holds, verdict.why, decides))
        if not verdict.holds:
            continue
        then = rule.then
        notify += [n for n in then.notify if n not in notify]
        if then.flags:
            added |= set(then.flags)
            facts = replace(facts, flags=facts.flags | added)
        routine = then.routine or routine
        if then.priority and then.priority.rank > priority.rank:
            priority = then.priority
        if decides:
            chosen, matched_why = rule, verdict.why
            break

    enhet, extern, review, explanation = _destination(chosen, matched_why, facts)
    for flag, (who, level, why) in ROUTINE_NOTIFY.items():
        if flag in facts.flags and extern is None:  # an extern matter is not the kommun's
            notify += [n for n in who if n not in notify]
            priority = level if level.rank > priority.rank else priority
            trace.append(Tried(f"rutin:{flag}", True, why))
            explanation += f" Rutinen: {why}."
    if review_reasons and not review:
        review = True
        explanation += " Registratorn granskar också: " + "; ".join(review_reasons) + "."
    return Decision(enhet, extern, chosen.id if chosen else None, explanation, review,
                    rules.version, routine, tuple(notify), priority.value,
                    frozenset(added), tuple(trace))


def _destination(rule: Rule | None, why: str,
                 facts: Facts) -> tuple[str, str | None, bool, str]:
    """(enhet, extern, needs_review, explanation) for the deciding rule."""
    if rule is None:
        return (REGISTRATOR, None, True,
                "Ingen regel passade, så registratorn fördelar ärendet.")
    said = f"Regel {rule.id} ({rule.description}): {why}."
    then = rule.then
    extern = facts.extern if then.extern == SUGGESTED else then.extern
    if then.extern and extern is None:
        return (REGISTRATOR, None, True,
                f"{said} Klassningen kunde inte säga vilken myndighet; registratorn lotsar.")
    if extern:
        return (REGISTRATOR, extern, True,
                f"{said} Frågan hör till {extern}: avsändaren lotsas dit och "
                "registratorn ser ärendet.")
    if then.registrator:
        return REGISTRATOR, None, True, f"{said} Registratorn tar hand om ärendet."
    if then.enhet == SUGGESTED:
        if facts.suggested_enhet is None:  # the condition guarantees one; be safe
            return REGISTRATOR, None, True, f"{said} Men ingen enhet föreslogs."
        return facts.suggested_enhet, None, False, said
    return str(then.enhet), None, False, said
