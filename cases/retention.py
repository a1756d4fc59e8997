"""Gallring, the pure part: when something is due, and what of an event's
detail is kept. No I/O; ``cases.gallring`` applies it to the register.

What gallring keeps is what the register needs for statistics and the audit
trail: diarienummer, category, flags, aspects, enhet, routine, dates,
deadlines, status, rule, and every event's kind, actor and time. What it
removes is what can carry personal data: contact details, the subject and
text of a case, the routing explanation (it quotes the text and the sender),
the raw bytes of the mail and SMS, what was sent out, and the free texts of
the audit log (notes, återkoppling, reasons).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from config.organisation import Gallring
from deadlines.calendar import STOCKHOLM

MARKER_PREFIX = "[gallrad "

# Detail keys whose values are codes, ids, labels or counts, never free text.
STRUCTURAL_KEYS = frozenset({
    "diarienummer", "enhet", "category", "rule", "needs_review", "routine", "model_version",
    "confidence", "flags", "aspects", "review_reasons", "rules_version", "notify", "priority",
    "deadlines", "diarieford", "deadlines_met", "channel", "attempt", "status", "size", "limit",
    "window_hours", "changes", "labels", "index", "previous", "sender_matches", "file",
    "version", "cleared", "beslut", "months", "role", "user_id", "minutes",
    "automatic", "quarantined", "told", "masked", "handler", "roles", "day",
})
# Keys that hold a short code ("auto-submitted", "rate-limit", an exception's
# class name) in most events, and free text in the events named here.
CODE_KEYS = frozenset({"reason", "error", "error_code", "result"})
FREE_TEXT_KINDS = frozenset({"case.delay_reason"})
# Keys known to hold a person's words (replaced; so is any key not named here).
FREE_TEXT_KEYS = frozenset({"note", "text", "subject"})
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Everything older than these moments is due; ``marker`` replaces what is cleared."""

    cases_closed_before: datetime
    automatic_before: datetime
    quarantined_before: datetime | None  # None: quarantined input is kept
    marker: str


def marker(day: date) -> str:
    """What stands where personal data was: ``[gallrad 2027-05-01]``."""
    return f"{MARKER_PREFIX}{day.isoformat()}]"


def is_cleared(value: str | bytes | None) -> bool:
    """Nothing left to clear: empty, None, or already a marker."""
    if not value:
        return True
    if isinstance(value, bytes):
        return False
    return value.startswith(MARKER_PREFIX)


def months_before(moment: datetime, months: int) -> datetime:
    """The same wall-clock moment ``months`` calendar months earlier (31 May
    minus three months is 28 or 29 February)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def cutoffs(policy: Gallring, now: datetime) -> Cutoffs:
    local = now.astimezone(STOCKHOLM)
    quarantine = (local - timedelta(days=policy.karantan_dagar)
                  if policy.karantan_dagar is not None else None)
    return Cutoffs(
        cases_closed_before=months_before(local, policy.arenden_manader),
        automatic_before=local - timedelta(days=policy.automatisk_post_dagar),
        quarantined_before=quarantine,
        marker=marker(local.date()),
    )


def scrub_detail(kind: str, detail: Mapping[str, Any], mark: str) -> dict[str, Any] | None:
    """An event's detail with every value that may carry personal data
    replaced by ``mark``; None when there is nothing to replace.

    Kept: the structural keys, codes under ``reason``/``error`` (but never
    in the events whose reason is a person's words), numbers and booleans
    under any key. Replaced: every other string, list or mapping.
    """
    out: dict[str, Any] = {}
    changed = False
    for key, value in detail.items():
        if _keep(kind, key, value):
            out[key] = value
        else:
            out[key] = mark
            changed = True
    return out if changed else None


def _keep(kind: str, key: str, value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float):
        return True
    if isinstance(value, str) and value.startswith(MARKER_PREFIX):
        return True
    if key in STRUCTURAL_KEYS:
        return True
    if key in CODE_KEYS and kind not in FREE_TEXT_KINDS:
        return isinstance(value, str) and bool(_CODE.match(value))
    return False


def reason_code(reason: str | None, mark: str) -> str | None:
    """An inbound row's reason without its particulars (they may quote the
    sender): ``auto-submitted: [gallrad 2027-05-01]``."""
    if not reason or MARKER_PREFIX in reason:
        return reason
    return f"{reason.split(':', 1)[0].strip()[:60]}: {mark}"
