"""SMS out: the SMS mottagningsbevis as a value, and the transport that hands
an outbox row to the gateway."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from config.kommun import Kommun
from config.organisation import ExternInstans
from deadlines.routine import Deadline
from notify.delivery import Commit
from notify.gsm7 import encode
from notify.swedish import day_and_month

if TYPE_CHECKING:
    from ingest.sms.gateway import Gateway

SMS_TEMPLATE = "mottagningsbevis.sms.j2"
# "{kommun} har fått {vad}": what the SMS receipt calls the message, by channel.
RECEIVED_WHAT = {"sms": "ditt sms", "brev": "ditt brev", "telefon": "det du sa i telefon",
                 "besok": "det du framförde vid ditt besök", "muntlig": "det du framförde"}


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    recipient: str  # E.164
    text: str
    encoding: str  # "GSM-7" | "UCS-2"
    segments: int  # what the SMS costs: 1 unless the text had to be long
    automatic: bool = True  # counted by the auto-reply limit, per number


def render_sms_receipt(
    kommun: Kommun,
    recipient: str,
    diarienummer: str,
    deadlines: Sequence[Deadline],
    extern: ExternInstans | None = None,
    flags: Collection[str] = (),
    channel: str = "sms",
    category: str | None = None,
) -> OutgoingSms:
    """The SMS mottagningsbevis: the diarienummer and what happens next, or
    where to turn for an extern matter; in GSM-7 where the text allows.
    ``channel``: how the message came (a phone call written down is
    acknowledged by SMS too, and must not be called an sms)."""
    first = min((d.due for d in deadlines if d.promised), default=None)
    context = {
        "kommun": kommun.organisation.kommun.namn,
        "diarienummer": diarienummer,
        "forsta_datum": day_and_month(first) if first else None,
        "extern": extern,
        "overklagande": "overklagande" in flags,
        "vad": RECEIVED_WHAT.get(channel, "ditt meddelande"),
        "berom": category == "berom",
        "medborgarforslag": "medborgarforslag" in flags,
    }
    text = " ".join(kommun.templates.get_template(SMS_TEMPLATE).render(context).split())
    encoded = encode(text)
    return OutgoingSms(recipient, encoded.text, encoded.encoding, encoded.segments)


class SmsTransport:
    """Delivers SMS outbox rows through the gateway. Not idempotent: a second
    POST is a second SMS, so an attempt interrupted after its request left
    becomes ``uncertain`` (and is then looked up in the gateway's history)."""

    idempotent = False

    def __init__(self, gateway: Gateway, status_url: str | None = None) -> None:
        self.gateway = gateway
        self.status_url = status_url

    def send(self, outbox_id: int, recipient: str, body: bytes,
             commit: Commit | None = None) -> str:
        text = body.decode("utf-8")
        if commit is not None:
            commit()  # the point of no return: the request leaves next
        return self.gateway.send(recipient, text, self.status_url)
