"""Word cues that settle a flag where rules do better than statistics (pure).

A formal proposal (medborgarförslag, e-förslag) says so, or proposes in the
first person what the kommun or one of its nämnder should do (`jag föreslår
att`, `mitt förslag är`, `förslag till beslut`).

An appeal names itself: `överklaga`, `omprövning`, `bestrider`, `appeal`,
or contests the decision in so many words (`godtar inte beslutet`, `ändra
beslutet`). It also catches appeals the model scores low (SMS without å/ä/ö, other
languages). A negation just before it (`tänker inte överklaga`, `kan inte
ens överklaga`) cancels it. The classifier raises the flag when its score
passes the threshold *or* a cue is found; the threshold is chosen on dev with
the cue counted, so it can be stricter.
"""

from __future__ import annotations

import re
from collections.abc import Callable

APPEAL = re.compile(
    r"\b(?:[öo]verklag\w*|ompr[öo]v(?:a|as|ning|ningen|ade|at)\b|bestrider|bestrida|"
    r"appeal\w*|contest(?:s|ing)? the decision|wrong decision)", re.IGNORECASE)
# Contesting the decision in so many words; these carry their own "inte".
CONTEST = re.compile(
    r"\b(?:godtar (?:inte|ej) (?:det |detta )?beslut\w*|godtar (?:det|detta) inte|"
    r"accepterar (?:inte|ej) (?:det |detta )?beslut\w*|"
    r"(?:ändra|andra|riva upp|gör om|gor om|pröva om|prova om) (?:på )?beslutet|"
    r"beslutet (?:ändrat|andrat|omprövat|upphävt)|change the decision|changing the decision)",
    re.IGNORECASE)
# A negation in the same clause, at most three words before the cue.
NEGATION = re.compile(r"\b(?:inte|ej|aldrig|inget|ingen|utan|not|never)\b(?:\s+\w+){0,3}\s*$",
                      re.IGNORECASE)
WINDOW = 40  # characters before a cue in which a negation cancels it


def appeal(text: str) -> str | None:
    """The words that say the writer appeals a decision, or None."""
    contest = CONTEST.search(text)
    if contest:
        return contest.group(0)
    for m in APPEAL.finditer(text):
        if NEGATION.search(text[max(0, m.start() - WINDOW):m.start()]):
            continue
        return m.group(0)
    return None


# A formal proposal names itself, or proposes in the first person what the
# kommun, a nämnd or fullmäktige should do.
PROPOSAL = re.compile(
    r"\b(?:medborgarf[öo]rslag\w*|e-f[öo]rslag\w*|"
    r"(?:jag|vi) f[öo]resl[åa]r(?: h[äa]rmed)? att|mitt f[öo]rslag [äa]r|v[åa]rt f[öo]rslag [äa]r|"
    r"motivering till f[öo]rslaget|f[öo]reslår att (?:kommunen|nämnden|fullmäktige|"
    r"kommunfullmäktige|kommunstyrelsen|\w+nämnden)|"
    r"(?:fullmäktige|kommunfullmäktige|nämnden|\w+nämnden) (?:bör|ska) (?:besluta|ge)|"
    r"yrkar på att|f[öo]rslag till beslut)", re.IGNORECASE)


def proposal(text: str) -> str | None:
    """The words that make the message a formal proposal, or None."""
    found = PROPOSAL.search(text)
    return found.group(0) if found else None


CUES: dict[str, Callable[[str], str | None]] = {"overklagande": appeal,
                                                "medborgarforslag": proposal}


def cued(flag: str, text: str) -> str | None:
    cue = CUES.get(flag)
    return cue(text) if cue else None


# A reply that says the återkoppling did not satisfy: "jag är inte nöjd",
# "fortfarande missnöjd", "det här godtar jag inte". Only the reply's own
# lines count: quoted lines and what follows a quote header are the letter
# it answers.
DISSATISFIED = re.compile(
    r"\b(?:(?:är|blev|känner mig)\s+(?:\w+\s+){0,2}(?:inte|inte alls|fortfarande inte)\s+nöjd"
    r"|missnöjd|inte\s+(?:alls\s+)?nöjd|godtar\s+(?:jag\s+)?inte|accepterar\s+(?:jag\s+)?inte"
    r"|inte\s+(?:ett\s+)?(?:godtagbart|acceptabelt)\s*(?:svar)?"
    r"|vill\s+(?:gå|klaga)\s+vidare|vill\s+prata\s+med\s+(?:din|er|någon)\s+(?:chef|överordnad))",
    re.IGNORECASE)
QUOTE_HEADER = re.compile(
    r"^(?:>|-{2,}\s*(?:Ursprungligt meddelande|Original Message|Vidarebefordrat)|"
    r"(?:Från|From|Skickat|Sent):\s|(?:Den|On)\s.+(?:skrev|wrote):\s*$)", re.IGNORECASE)


def not_satisfied(text: str) -> bool:
    """Does the reply's own text say the person is not satisfied?"""
    own: list[str] = []
    for line in text.splitlines():
        if QUOTE_HEADER.match(line.strip()):
            break
        own.append(line)
    return DISSATISFIED.search(" ".join(own)) is not None
