"""Is Synpunkt working? One verdict from the heartbeats of every loop and the
outbox, for ``synpunkt health`` and /metrics.

It fails when a loop has gone silent or stopped (and no successor on the
same host took its place), when a listener or poller has been without its
server longer than its backoff allows, when a loop has not done its work
within what it promised, when a process the deployment needs is missing,
and when outbox rows are stuck in ``sending`` or wait in ``uncertain``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases import heartbeats
from cases.models import Heartbeat, Outbox, OutboxStatus
from config.settings import Settings
from ingest.imapurl import parse_imap_urls

ROLE_NAMES = {"listener": "lyssnaren", "sms": "sms-hämtningen", "worker": "arbetaren",
              "scheduler": "schemaläggaren", "web": "webben", "run": "synpunkt run"}


@dataclass(frozen=True, slots=True)
class Expected:
    """A loop the deployment needs: a role, and for a listener its mailbox."""

    role: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Loop:
    id: str
    role: str
    name: str
    host: str
    pid: int
    state: str
    detail: str
    started_at: datetime
    beat_at: datetime
    last_success_at: datetime | None
    down_since: datetime | None
    problem: str | None  # None: healthy


@dataclass(frozen=True, slots=True)
class Verdict:
    loops: tuple[Loop, ...]
    sending_past_lease: int
    uncertain: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class Limits:
    silent_after: timedelta  # a loop without a beat this long is dead
    down_within: timedelta  # the longest a loop may be without its server


def expected_loops(settings: Settings, mailboxes: Sequence[str]) -> list[Expected]:
    """What this deployment runs: the production processes when Redis is set
    (a listener per mailbox, the SMS poller with a gateway), else `synpunkt run`."""
    if not settings.redis_url:
        return [Expected("run")]
    out = [Expected("worker"), Expected("scheduler")]
    out += [Expected("listener", m) for m in mailboxes]
    if settings.sms_provider:
        out.append(Expected("sms"))
    return out


def judge(rows: Sequence[Heartbeat], sending_past_lease: int, uncertain: int,
          expected: Sequence[Expected], now: datetime, limits: Limits) -> Verdict:
    loops = tuple(_loop(r, now, limits) for r in rows)
    problems = [f"{_who(x)}: {x.problem}" for x in loops if x.problem]
    for need in expected:  # (one that reported but is unwell is named above)
        if not any(x.role == need.role and need.name in (None, x.name) for x in loops):
            what = ROLE_NAMES.get(need.role, need.role)
            problems.append(f"{what}{' för ' + need.name if need.name else ''}: "
                            "ingen sådan process har rapporterat")
    if sending_past_lease:
        problems.append(f"utkorgen: {sending_past_lease} utskick har fastnat i "
                        "'skickas' efter sin tidsgräns")
    if uncertain:
        problems.append(f"utkorgen: {uncertain} utskick är osäkra (kom de fram?) och "
                        "väntar på registratorns beslut i inkorgen")
    return Verdict(loops, sending_past_lease, uncertain, tuple(problems))


def _loop(row: Heartbeat, now: datetime, limits: Limits) -> Loop:
    return Loop(row.id, row.role, row.name, row.host, row.pid, row.state, row.detail,
                row.started_at, row.beat_at, row.last_success_at, row.down_since,
                _problem(row, now, limits))


def _problem(row: Heartbeat, now: datetime, limits: Limits) -> str | None:
    if row.state == heartbeats.STOPPED:
        return f"stoppad {_ago(now - row.beat_at)} sedan"
    if now - row.beat_at > limits.silent_after:
        return f"inget livstecken på {_ago(now - row.beat_at)}"
    if row.down_since is not None and now - row.down_since > limits.down_within:
        return (f"utan förbindelse i {_ago(now - row.down_since)} "
                f"({row.detail[:120] or row.state})")
    if row.success_within is not None:
        since = row.last_success_at or row.started_at
        if (now - since).total_seconds() > row.success_within:
            return f"har inte lyckats på {_ago(now - since)} ({row.state})"
    if row.state in ("degraded", "error", "refused"):
        return row.detail or row.state
    return None


def _who(loop: Loop) -> str:
    role = ROLE_NAMES.get(loop.role, loop.role)
    name = f" {loop.name}" if loop.name not in (loop.role, "") else ""
    return f"{role}{name} på {loop.host} (pid {loop.pid})"


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


def outbox_stuck(session: Session, now: datetime, silent_after: timedelta) -> tuple[int, int]:
    """(rows in ``sending`` whose lease ran out or whose process is dead,
    rows ``uncertain``)."""
    stuck = session.scalar(select(func.count()).select_from(Outbox).where(
        Outbox.status == OutboxStatus.SENDING,
        (Outbox.claimed_until < now) | (Outbox.claimed_by.is_not(None)
                                        & ~heartbeats.process_alive(Outbox.claimed_by, now,
                                                                    silent_after)))) or 0
    uncertain = session.scalar(select(func.count()).select_from(Outbox).where(
        Outbox.status == OutboxStatus.UNCERTAIN)) or 0
    return stuck, uncertain


def mailboxes(settings: Settings) -> list[str]:
    """The sources of the IMAP mailboxes SYNPUNKT_IMAP_URL names."""
    if not settings.imap_url:
        return []
    return [a.source for a in parse_imap_urls(settings.imap_url, settings.imap_processed_folder)]


def assess(session: Session, settings: Settings, now: datetime) -> Verdict:
    limits = Limits(timedelta(seconds=settings.heartbeat_silent_seconds),
                    timedelta(seconds=settings.imap_max_backoff_seconds + 30))
    stuck, uncertain = outbox_stuck(session, now, limits.silent_after)
    return judge(heartbeats.all_rows(session), stuck, uncertain,
                 expected_loops(settings, mailboxes(settings)), now, limits)
