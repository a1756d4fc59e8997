"""Prometheus metrics in the text exposition format: messages in, cases by
state, the outbox, deadline breaches, queue depth. Counted from the case
register (and Redis, when used) at each scrape; no client library needed."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cases.models import Case, CaseStatus, Deadline, Inbound, Outbox
from deadlines.calendar import STOCKHOLM
from service.health import Loop, Verdict


def _lines(name: str, kind: str, help_text: str,
           samples: Iterable[tuple[dict[str, str], float]]) -> list[str]:
    out = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        label = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
        out.append(f"{name}{{{label}}} {value:g}" if label else f"{name} {value:g}")
    return out


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(session: Session, now: datetime, queue_depth: dict[str, int] | None,
               verdict: Verdict | None = None) -> str:
    inbound = session.execute(select(Inbound.channel, Inbound.status, func.count())
                              .group_by(Inbound.channel, Inbound.status)).all()
    cases = session.execute(select(Case.status, func.count()).group_by(Case.status)).all()
    review = session.scalar(select(func.count()).select_from(Case).where(
        Case.needs_review.is_(True), Case.status != CaseStatus.CLOSED)) or 0
    outbox = session.execute(select(Outbox.channel, Outbox.status, func.count())
                             .group_by(Outbox.channel, Outbox.status)).all()
    today = now.astimezone(STOCKHOLM).date()
    overdue = session.scalar(
        select(func.count()).select_from(Deadline).join(Case, Case.id == Deadline.case_id)
        .where(Deadline.met_at.is_(None), Deadline.due < today,
               Case.status == CaseStatus.OPEN)) or 0
    lines = [
        *_lines("synpunkt_inbound_messages", "gauge", "Stored inbound messages by channel "
                "and status.", (({"channel": c, "status": s}, n) for c, s, n in inbound)),
        *_lines("synpunkt_cases", "gauge", "Cases by status.",
                (({"status": s}, n) for s, n in cases)),
        *_lines("synpunkt_cases_needing_review", "gauge", "Open cases the registrator must "
                "review.", [({}, review)]),
        *_lines("synpunkt_outbox_messages", "gauge", "Outgoing messages by channel and status.",
                (({"channel": c, "status": s}, n) for c, s, n in outbox)),
        *_lines("synpunkt_deadlines_overdue", "gauge", "Open deadlines past their day on "
                "open cases.", [({}, overdue)]),
    ]
    if verdict is not None:
        lines += _health_lines(verdict, now)
    if queue_depth is not None:
        lines += _lines("synpunkt_queue_depth", "gauge", "Messages waiting in the dramatiq "
                        "queues.", (({"queue": q}, n) for q, n in queue_depth.items()))
    return "\n".join(lines) + "\n"


def allowed(client_host: str | None, authorization: str | None, token: str | None) -> bool:
    """With SYNPUNKT_METRICS_TOKEN set, a Bearer token; without, loopback only."""
    if token:
        given = (authorization or "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    try:  # an IP address only: a forwarded header's free text (e.g. "testclient") is not one
        return client_host is not None and ipaddress.ip_address(client_host).is_loopback
    except ValueError:
        return False


def _health_lines(verdict: Verdict, now: datetime) -> list[str]:
    """What `synpunkt health` says, per loop and for the whole."""
    def labels(loop: Loop) -> dict[str, str]:
        return {"role": loop.role, "name": loop.name, "host": loop.host, "pid": str(loop.pid)}

    return [
        *_lines("synpunkt_health_ok", "gauge", "1 when `synpunkt health` passes, else 0.",
                [({}, 1 if verdict.ok else 0)]),
        *_lines("synpunkt_health_problems", "gauge", "Problems `synpunkt health` reports.",
                [({}, len(verdict.problems))]),
        *_lines("synpunkt_process_up", "gauge", "1 for a long-running loop that is healthy.",
                ((labels(x), 0 if x.problem else 1) for x in verdict.loops)),
        *_lines("synpunkt_process_heartbeat_age_seconds", "gauge", "Seconds since the "
                "loop's last heartbeat.",
                ((labels(x), (now - x.beat_at).total_seconds()) for x in verdict.loops)),
        *_lines("synpunkt_outbox_sending_past_lease", "gauge", "Outgoing messages stuck in "
                "sending: lease over or process dead.", [({}, verdict.sending_past_lease)]),
        *_lines("synpunkt_outbox_uncertain", "gauge", "Outgoing messages that may or may not "
                "have reached their recipient; a person decides.", [({}, verdict.uncertain)]),
    ]
