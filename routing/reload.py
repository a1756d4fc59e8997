"""The router the workers use: the rules file, picked up again when it changes.

A running worker checks the file's stamp at most once per ``check_seconds``.
A changed file that does not validate is not used: the worker keeps routing
with the last good rules and logs the error (file, line, problem) until the
file is fixed, so a typo never stops the intake.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from classify.triage import Triage
from config.errors import ConfigError
from config.organisation import Organisation
from ingest.message import Message
from routing.decision import Decision
from routing.engine import route
from routing.load import load_rules
from routing.rules import RuleSet

log = logging.getLogger(__name__)
Stamp = tuple[int, int, int]


def _stamp(path: Path) -> Stamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class RulesRouter:
    def __init__(self, rules: RuleSet, organisation: Organisation, routines: Iterable[str],
                 *, check_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rules = rules
        self._org = organisation
        self._routines = tuple(routines)
        self._check_seconds = check_seconds
        self._clock = clock
        self._stamp = _stamp(rules.path)
        self._checked = clock()
        self._lock = threading.Lock()
        self.last_error: ConfigError | None = None
        self._whole = rules.lemmatised

    @property
    def rules(self) -> RuleSet:
        if not self._whole:  # checked at start without the lemma table: now whole, once
            with self._lock:
                if not self._whole:
                    self._whole = True  # a file that broke since: a later change reloads it
                    self._reload(_stamp(self._rules.path))
        now = self._clock()
        if now - self._checked >= self._check_seconds:
            with self._lock:
                self._checked = now
                stamp = _stamp(self._rules.path)
                if stamp != self._stamp:
                    self._reload(stamp)
        return self._rules

    def _reload(self, stamp: Stamp | None) -> None:
        self._stamp = stamp
        try:
            fresh = load_rules(self._rules.path, self._org, self._routines)
        except ConfigError as exc:
            if str(exc) != str(self.last_error):
                log.error("routing rules not reloaded, still using %s: %s",
                          self._rules.version, exc)
            self.last_error = exc
            return
        self.last_error = None
        if fresh.version != self._rules.version:
            log.info("routing rules reloaded %s -> %s (%d rules)", self._rules.version,
                     fresh.version, len(fresh.rules))
        self._rules = fresh

    def warm(self) -> None:
        """Make the rules whole now (their words' lemmas, the lemma table
        read): a long-lived process's first message must not pay for it."""
        _ = self.rules

    def route(self, message: Message, triage: Triage) -> Decision:
        return route(self.rules, message, triage)
