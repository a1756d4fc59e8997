"""Joining the texts one person split: pure, so the rules are tested plainly.

People split a long message over several SMS, seconds or a minute apart.
Texts from one number whose gateway times are at most ``gap`` apart form one
chain (never longer than ``span``); a chain is taken up as one message once
that number has been quiet for ``quiet``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingest.message import Channel, Message

MAX_SPAN = timedelta(minutes=15)
SUBJECT_CHARS = 60


@dataclass(frozen=True, slots=True)
class Part:
    inbound_id: int
    sent_at: datetime  # the gateway's time
    received_at: datetime  # ours
    text: str


def chain_of(parts: Sequence[Part], member: int, gap: timedelta,
             span: timedelta = MAX_SPAN) -> list[Part]:
    """The chain of ``parts`` (one sender's) that holds the part ``member``."""
    ordered = sorted(parts, key=lambda p: (p.sent_at, p.inbound_id))
    chains: list[list[Part]] = []
    for part in ordered:
        current = chains[-1] if chains else None
        if (current is not None and part.sent_at - current[-1].sent_at <= gap
                and part.sent_at - current[0].sent_at <= span):
            current.append(part)
        else:
            chains.append([part])
    return next((c for c in chains if any(p.inbound_id == member for p in c)), [])


def quiet_at(chain: Sequence[Part], quiet: timedelta) -> datetime:
    """When the chain may be taken up: ``quiet`` after its last part was sent,
    or reached us if that was sooner. A text the poll found long after it was
    sent is ready at once: its siblings, if any, were found by the same poll."""
    last_sent = max(p.sent_at for p in chain)
    last_received = max(p.received_at for p in chain)
    return min(last_sent, last_received) + quiet


def message_of(chain: Sequence[Part], sender: str) -> Message:
    """One Message from the chain's texts, in the order they were sent."""
    text = "\n".join(p.text.strip() for p in chain if p.text.strip())
    return Message(channel=Channel.SMS, sender=sender, display_name=None,
                   subject=subject_of(text), text=text, date=chain[0].sent_at)


def subject_of(text: str) -> str:
    """'Sms: ' and the first words, so a list of cases says what each is about."""
    words = " ".join(text.split())
    if len(words) > SUBJECT_CHARS:
        words = words[:SUBJECT_CHARS].rsplit(" ", 1)[0] + " …"
    return f"Sms: {words}" if words else "Sms"
