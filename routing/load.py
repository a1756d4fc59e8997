"""Reading and validating a rules file (routing.yaml) into a RuleSet.

Every mistake an admin can make is caught here, at load, as one ConfigError
naming the file, the line and the rule: unknown keys, unknown enhet,
extern or routine ids, bad regexes, unknown word lists or places, duplicate
ids, and rules that can never be reached.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from classify.triage import Category, Flag
from config.errors import ConfigError
from config.kommun import Kommun
from config.organisation import REGISTRATOR, Organisation
from config.yamlfile import YamlDocument, read_yaml
from ingest.message import Channel
from routing import conditions as c
from routing.rules import ROLES, SUGGESTED, Priority, Rule, RuleSet, Then
from routing.words import Phrase, Vocabulary, as_written, compile_phrase

TOP_KEYS = {"words", "places", "rules"}
RULE_KEYS = {"id", "description", "when", "then", "continue"}
THEN_KEYS = {"enhet", "extern", "registrator", "notify", "routine", "priority", "flags"}
CONDITION_KEYS = {"all", "any", "not", "category", "flag", "words", "regex", "channel",
                  "sender", "places", "language", "suggested_enhet", "suggested_extern"}
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CATEGORIES = tuple(x.value for x in Category)
FLAGS = tuple(x.value for x in Flag)

Loc = list[int | str]

RULES_FILE = "routing.yaml"


def load_kommun_rules(kommun: Kommun, *, lemmas: bool = True) -> RuleSet:
    """The kommun's rules file, ``routing.yaml`` in its configuration directory."""
    return load_rules(kommun.directory / RULES_FILE, kommun.organisation,
                      kommun.routines.profiler, lemmas=lemmas)


def load_rules(path: Path, organisation: Organisation, routines: Iterable[str], *,
               lemmas: bool = True) -> RuleSet:
    """Read, validate and compile ``path``. Raises ConfigError (one line).
    Without ``lemmas`` the words match only as written (and by their endings):
    the whole check, without opening the lemma table;
    ``routing.reload.RulesRouter`` compiles them fully before it routes."""
    doc = read_yaml(path)
    version = "rules:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return _Loader(doc, organisation, set(routines), lemmas).load(version)


class _Loader:
    def __init__(self, doc: YamlDocument, org: Organisation, routines: set[str],
                 lemmas: bool = True) -> None:
        self.doc = doc
        self.lemmas = lemmas
        self.enheter = {e.id for _, _, e in org.enheter()}
        self.externa = {x.id for x in org.externa_instanser}
        self.routines = routines
        self.words: dict[str, tuple[Phrase, ...]] = {}
        self.places: dict[str, tuple[Phrase, ...]] = {}
        self.phrases: list[Phrase] = []
        self.rule_id = ""

    def fail(self, loc: Loc, problem: str) -> ConfigError:
        prefix = f"regel {self.rule_id!r}: " if self.rule_id else ""
        return self.doc.error(loc, prefix + problem)

    def load(self, version: str) -> RuleSet:
        data = self.doc.data
        if not isinstance(data, dict):
            raise self.fail([], "filen ska vara en samling med nyckeln rules")
        self._keys(data, TOP_KEYS, [])
        self.words = self._named_lists(data.get("words") or {}, "words")
        self.places = self._named_lists(data.get("places") or {}, "places")
        raw_rules = data.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            raise self.fail(["rules"], "rules ska vara en lista med minst en regel")
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(raw_rules):
            self.rule_id = ""
            rule = self._rule(raw, ["rules", i])
            if rule.id in seen:
                raise self.fail(["rules", i, "id"], f"id:t finns redan på rad {seen[rule.id]}")
            seen[rule.id] = rule.line
            catch_all = next((r for r in rules if r.always and not r.continues), None)
            if catch_all is not None:
                raise self.fail(["rules", i], f"regeln nås aldrig: regel {catch_all.id!r} "
                                f"(rad {catch_all.line}) passar alla meddelanden och avgör")
            rules.append(rule)
        self.rule_id = ""
        vocabulary = Vocabulary([*self.phrases, *(p for ps in self.words.values() for p in ps),
                                 *(p for ps in self.places.values() for p in ps)])
        return RuleSet(tuple(rules), version, self.doc.path, vocabulary, self.lemmas)

    def _keys(self, data: dict[str, Any], allowed: set[str], loc: Loc) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail([*loc, key], f"okänd nyckel {key!r} (tillåtna: "
                                f"{', '.join(sorted(allowed))})")

    def _named_lists(self, data: Any, key: str) -> dict[str, tuple[Phrase, ...]]:
        if not isinstance(data, dict):
            raise self.fail([key], f"{key} ska vara namngivna listor: namn: [ord, ord]")
        out: dict[str, tuple[Phrase, ...]] = {}
        if key == "words":
            self.words = out  # a list may use the lists above it: `$name`
        for name, items in data.items():
            if not isinstance(name, str) or not _ID.match(name):
                raise self.fail([key, name], f"ogiltigt listnamn {name!r}")
            out[name] = self._phrases(items, [key, name], allow_refs=True)
        return out

    def _phrases(self, items: Any, loc: Loc, *, allow_refs: bool) -> tuple[Phrase, ...]:
        values = items if isinstance(items, list) else [items]
        if not values:
            raise self.fail(loc, "listan är tom")
        out: list[Phrase] = []
        for i, item in enumerate(values):
            where = [*loc, i] if isinstance(items, list) else loc
            if not isinstance(item, str | int):
                raise self.fail(where, f"ett ord eller en fras väntades, inte {item!r}")
            text = str(item)
            if allow_refs and text.startswith("$"):
                name = text[1:]
                if name not in self.words:
                    raise self.fail(where, f"ordlistan {name!r} finns inte under words "
                                    "(eller står längre ner)")
                out.extend(self.words[name])
                continue
            try:
                out.append(compile_phrase(text) if self.lemmas
                           else compile_phrase(text, as_written))
                self.phrases.append(out[-1])
            except ValueError as exc:
                raise self.fail(where, str(exc)) from None
        return tuple(out)

    def _rule(self, raw: Any, loc: Loc) -> Rule:
        line = self.doc.line_of(loc) or 0
        if not isinstance(raw, dict):
            raise self.fail(loc, "en regel är en samling med id, description, when och then")
        rule_id = raw.get("id")
        if not isinstance(rule_id, str) or not _ID.match(rule_id):
            raise self.fail([*loc, "id"], "varje regel behöver ett id (a-z, 0-9, - och _)")
        self.rule_id = rule_id
        self._keys(raw, RULE_KEYS, loc)
        description = raw.get("description")
        if not isinstance(description, str) or not description.strip():
            raise self.fail([*loc, "description"], "description saknas: säg vad regeln gör")
        continues = raw.get("continue", False)
        if not isinstance(continues, bool):
            raise self.fail([*loc, "continue"], "continue är true eller false")
        when_raw = raw.get("when")
        always = when_raw is None
        when: c.Condition = c.AllOf(()) if always else self._condition(when_raw, [*loc, "when"])
        then = self._then(raw.get("then"), [*loc, "then"], continues)
        if then.enhet == SUGGESTED and not _uses(when_raw, "suggested_enhet"):
            raise self.fail([*loc, "then", "enhet"], "enhet: suggested kräver villkoret "
                            "suggested_enhet i when")
        if then.extern == SUGGESTED and not _uses(when_raw, "suggested_extern"):
            raise self.fail([*loc, "then", "extern"], "extern: suggested kräver villkoret "
                            "suggested_extern i when")
        return Rule(rule_id, description.strip(), when, then, continues, line, always)

    def _then(self, raw: Any, loc: Loc, continues: bool) -> Then:
        if not isinstance(raw, dict) or not raw:
            raise self.fail(loc, "then saknas")
        self._keys(raw, THEN_KEYS, loc)
        enhet, extern, registrator = raw.get("enhet"), raw.get("extern"), raw.get("registrator")
        chosen = [k for k in ("enhet", "extern", "registrator") if raw.get(k) not in (None, False)]
        if continues and chosen:
            raise self.fail([*loc, chosen[0]], "en regel med continue: true får bara lägga "
                            "till notify, routine, priority eller flags, inte välja mottagare")
        if not continues and len(chosen) != 1:
            raise self.fail(loc, "then ska ange precis en av enhet, extern och registrator "
                            "(eller continue: true)")
        if enhet is not None and enhet not in self.enheter and enhet != SUGGESTED:
            raise self.fail([*loc, "enhet"], f"okänd enhet {enhet!r} (finns inte i "
                            "organisation.yaml)")
        if extern is not None and extern not in self.externa and extern != SUGGESTED:
            raise self.fail([*loc, "extern"], f"okänd extern instans {extern!r} (finns inte "
                            "under externa_instanser i organisation.yaml)")
        if registrator not in (None, True, False):
            raise self.fail([*loc, "registrator"], "registrator: true")
        routine = raw.get("routine")
        if routine is not None and routine not in self.routines:
            raise self.fail([*loc, "routine"], f"okänd rutin {routine!r} (finns inte i "
                            "routines.yaml)")
        priority = raw.get("priority")
        if priority is not None and priority not in {p.value for p in Priority}:
            raise self.fail([*loc, "priority"], f"okänd prioritet {priority!r} (tillåtna: "
                            f"{', '.join(p.value for p in Priority)})")
        notify = self._strings(raw.get("notify", []), [*loc, "notify"])
        for i, who in enumerate(notify):
            if who not in ROLES and not _EMAIL.match(who):
                raise self.fail([*loc, "notify", i], f"{who!r} är varken en e-postadress eller "
                                f"en roll ({', '.join(ROLES)})")
        flags = self._strings(raw.get("flags", []), [*loc, "flags"])
        self._members(flags, FLAGS, [*loc, "flags"], "flagga")
        return Then(enhet=REGISTRATOR if enhet == REGISTRATOR else enhet, extern=extern,
                    registrator=bool(registrator) or enhet == REGISTRATOR, notify=notify,
                    routine=routine, priority=Priority(priority) if priority else None,
                    flags=flags)

    def _strings(self, raw: Any, loc: Loc) -> tuple[str, ...]:
        values = raw if isinstance(raw, list) else [raw]
        for i, v in enumerate(values):
            if not isinstance(v, str) or not v:
                raise self.fail([*loc, i] if isinstance(raw, list) else loc,
                                f"en text väntades, inte {v!r}")
        return tuple(values)

    def _members(self, values: Sequence[str], allowed: Iterable[str], loc: Loc,
                 what: str) -> None:
        allowed = list(allowed)
        for i, v in enumerate(values):
            if v not in allowed:
                raise self.fail([*loc, i], f"okänd {what} {v!r} (tillåtna: "
                                f"{', '.join(allowed)})")

    def _condition(self, raw: Any, loc: Loc) -> c.Condition:
        if not isinstance(raw, dict) or not raw:
            raise self.fail(loc, "ett villkor är en samling, t.ex. {words: [hemtjänst]}")
        self._keys(raw, CONDITION_KEYS, loc)
        parts = [self._one(key, value, [*loc, key]) for key, value in raw.items()]
        return parts[0] if len(parts) == 1 else c.AllOf(tuple(parts))

    def _one(self, key: str, value: Any, loc: Loc) -> c.Condition:
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise self.fail(loc, f"{key} ska vara en lista med minst ett villkor")
            parts = tuple(self._condition(v, [*loc, i]) for i, v in enumerate(value))
            return c.AllOf(parts) if key == "all" else c.AnyOf(parts)
        if key == "not":
            return c.Not(self._condition(value, loc))
        if key == "words":
            names = tuple(str(v)[1:] for v in (value if isinstance(value, list) else [value])
                          if str(v).startswith("$"))
            return c.Words(self._phrases(value, loc, allow_refs=True), "orden", names)
        if key == "places":
            names = self._strings(value, loc)
            for i, name in enumerate(names):
                if name not in self.places:
                    raise self.fail([*loc, i] if isinstance(value, list) else loc,
                                    f"platslistan {name!r} finns inte under places")
            phrases = tuple(p for name in names for p in self.places[name])
            return c.Words(phrases, "platserna", names)
        if key == "regex":
            if not isinstance(value, str):
                raise self.fail(loc, "regex är ett uttryck i en text")
            try:
                return c.Regex(re.compile(value, re.IGNORECASE))
            except re.error as exc:
                raise self.fail(loc, f"felaktigt reguljärt uttryck: {exc}") from None
        if key == "suggested_enhet":
            return self._suggested(value, loc)
        if key == "suggested_extern":
            if value is True:
                return c.SuggestedExtern()
            ids = self._strings(value, loc)
            self._members(ids, sorted(self.externa), loc, "extern instans")
            return c.SuggestedExtern(ids)
        values = self._strings(value, loc)
        if key == "category":
            self._members(values, CATEGORIES, loc, "kategori")
            return c.OneOf("category", "kategorin", values)
        if key == "flag":
            self._members(values, FLAGS, loc, "flagga")
            return c.FlagIn(values)
        if key == "channel":
            self._members(values, [ch.value for ch in Channel], loc, "kanal")
            return c.OneOf("channel", "kanalen", values)
        if key == "language":
            return c.OneOf("language", "språket", tuple(v.lower() for v in values))
        return c.Sender(tuple(v.lower() for v in values))  # key == "sender"

    def _suggested(self, value: Any, loc: Loc) -> c.Condition:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = {"min_confidence": value}
        if not isinstance(value, dict):
            raise self.fail(loc, "suggested_enhet: {min_confidence: 0.8} (och ev. enhet: [..])")
        self._keys(value, {"min_confidence", "enhet"}, loc)
        conf = value.get("min_confidence", 0.0)
        if not isinstance(conf, int | float) or not 0 <= conf <= 1:
            raise self.fail([*loc, "min_confidence"], "min_confidence är ett tal 0–1")
        enheter = self._strings(value.get("enhet", []), [*loc, "enhet"]) if "enhet" in value \
            else ()
        self._members(enheter, sorted(self.enheter), [*loc, "enhet"], "enhet")
        return c.SuggestedEnhet(float(conf), enheter)


def _uses(raw: Any, key: str) -> bool:
    if isinstance(raw, dict):
        return key in raw or any(_uses(v, key) for v in raw.values())
    if isinstance(raw, list):
        return any(_uses(v, key) for v in raw)
    return False
