"""A rules file as typed values: an ordered list of rules (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from routing.conditions import Condition
from routing.words import Vocabulary

SUGGESTED = "suggested"  # `then: {enhet: suggested}`: the classifier's enhet


class Priority(StrEnum):
    LAG = "låg"
    NORMAL = "normal"
    HOG = "hög"
    AKUT = "akut"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


# Who `notify` may name besides plain e-mail addresses, resolved against
# organisation.yaml for the enhet the message is routed to.
ROLES = {
    "enhetschef": "chefen för enheten",
    "sektorchef": "sektorchefen (förvaltningschefen där enheten inte har en sektor)",
    "forvaltningschef": "förvaltningschefen",
    "registrator": "registratorn",
    "avtalsansvarig": "kommunens avtalsansvarige för en enskild utförare (annars enhetschefen)",
    "upphandlare": "kommunens upphandlare",
}


@dataclass(frozen=True, slots=True)
class Then:
    enhet: str | None = None  # an enhet id, or SUGGESTED
    extern: str | None = None
    registrator: bool = False
    notify: tuple[str, ...] = ()  # roles (ROLES) or e-mail addresses
    routine: str | None = None
    priority: Priority | None = None
    flags: tuple[str, ...] = ()  # added to the case (continue rules)

    @property
    def decides(self) -> bool:
        return bool(self.enhet or self.extern or self.registrator)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    description: str
    when: Condition
    then: Then
    continues: bool  # `continue: true`: only adds, then the next rules are tried
    line: int  # where the rule starts in the file, for messages
    always: bool = False  # no `when`: matches every message


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    version: str  # "rules:" + the file's sha256, first 12 hex digits
    path: Path
    vocabulary: Vocabulary  # every wildcard in the file
    lemmatised: bool = True  # False: checked, the words' lemmas not yet keys (routing.load)
