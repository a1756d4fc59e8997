"""SQLAlchemy models of the case register.

Contact details live apart from the case text (Nacka's routine: de-identify
at registration, keep personal data only for återkoppling). Events are an
append-only audit log; the migrations add triggers that refuse UPDATE and
DELETE on them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the case register")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    })
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON,
    }


class InboundStatus(StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    IGNORED = "ignored"
    QUARANTINED = "quarantined"


class CaseStatus(StrEnum):
    OPEN = "open"  # registrerat, väntar på återkoppling
    FEEDBACK_GIVEN = "feedback_given"  # återkoppling lämnad
    CLOSED = "closed"  # avslutat


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # an attempt is recorded and in progress (see claimed_until)
    SENT = "sent"
    FAILED = "failed"  # permanently: shown to a person, never retried silently
    # A worker died during an attempt over a transport that is not idempotent
    # (SMTP): the receipt may or may not have left. Never resent automatically;
    # shown to a person, who can resend it.
    UNCERTAIN = "uncertain"


class Inbound(Base):
    """Raw input exactly as received, stored before the source is touched."""

    __tablename__ = "inbound"
    __table_args__ = (UniqueConstraint("source", "source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(100))
    source_key: Mapped[str] = mapped_column(String(500))
    channel: Mapped[str] = mapped_column(String(20), default="email")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=InboundStatus.RECEIVED, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    # The case it became or joined, for a case registered in the same flush
    # (a batch writes its cases together); case_id is what is read.
    case: Mapped[Case | None] = relationship(foreign_keys=[case_id])
    processed_at: Mapped[datetime | None]
    # SMS: the sender's number (E.164) and the gateway's time, for joining the
    # texts one person split and threading replies; None for e-mail.
    sender: Mapped[str | None] = mapped_column(String(320), index=True)
    sent_at: Mapped[datetime | None]
    # The registrator released it: a mail set aside as automatic, spam or a
    # second copy is taken up as a person's message after all.
    released: Mapped[bool] = mapped_column(Boolean, default=False)


class InboundFingerprint(Base):
    """The first stored copy of each mail: its Message-ID with its sender,
    or (without a Message-ID) its sender, date, subject and text. A second
    copy (two delivery routes, a forward rule beside the mailbox, a rescan)
    finds its fingerprint taken and is set aside as a duplicate."""

    __tablename__ = "inbound_fingerprint"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound.id"), index=True)


class DiarieSeries(Base):
    """One diarienummer series per year; ``last_number`` is the last one given."""

    __tablename__ = "diarie_series"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "case"
    __table_args__ = (UniqueConstraint("year", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    diarienummer: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    category: Mapped[str | None] = mapped_column(String(20))
    enhet: Mapped[str] = mapped_column(String(60), index=True)
    extern: Mapped[str | None] = mapped_column(String(60))
    flags: Mapped[list[str]] = mapped_column(default=list)
    aspects: Mapped[list[str]] = mapped_column(default=list)
    confidence: Mapped[float | None] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    rule: Mapped[str | None] = mapped_column(String(100))
    explanation: Mapped[str] = mapped_column(Text, default="")
    rules_version: Mapped[str | None] = mapped_column(String(64))
    # `sekretess`: the text is shown only inside the case, never in a notice.
    restricted: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[str] = mapped_column(String(20), default="normal")
    model_version: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    routine: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.OPEN, index=True)
    received_at: Mapped[datetime]
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The inbound row the case was registered from (no foreign key: inbound
    # already points here through inbound.case_id, and replies do too).
    inbound_id: Mapped[int | None] = mapped_column(Integer)

    contact: Mapped[Contact | None] = relationship(back_populates="case", uselist=False)
    deadlines: Mapped[list[Deadline]] = relationship(order_by="Deadline.due")

    @property
    def diarieford(self) -> bool:
        """False for an anonymous case only forwarded to its enhet (its
        `diarienummer` then holds a reference outside the series)."""
        return self.number > 0


class Contact(Base):
    """Who to give återkoppling to; kept apart from the case text."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(40), index=True)
    address: Mapped[str | None] = mapped_column(Text)

    case: Mapped[Case] = relationship(back_populates="contact")


class Deadline(Base):
    __tablename__ = "deadline"
    __table_args__ = (UniqueConstraint("case_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    due: Mapped[date] = mapped_column(Date, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    met_at: Mapped[datetime | None]
    # Promised to the sender (in the mottagningsbevis; a delay notice past it
    # where the routine gives one), or the verksamhet's own deadline.
    promised: Mapped[bool] = mapped_column(Boolean, default=True)


class Event(Base):
    """Append-only audit log: every state change, by whom or what, when."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_case_id_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))  # "system:ingest", "user:eva@..."
    kind: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound.id"), index=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    # Ids, codes and short texts only; never message text or addresses.
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Set once, when gallring replaced the free texts of ``detail`` by its
    # marker: the only UPDATE the database allows on this table (migration 0008).
    gallrad_at: Mapped[datetime | None]


class Outbox(Base):
    """A pending or sent outgoing message, written in the transaction that caused it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One row per logical message, e.g. "mottagningsbevis:case:42": a retry or
    # a re-run can never produce a second receipt.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20), default="email")
    automatic: Mapped[bool] = mapped_column(Boolean, default=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(998), unique=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the complete rendered message
    status: Mapped[str] = mapped_column(String(20), default=OutboxStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # While status is "sending": until when the attempt's worker holds it,
    # which process that is (its heartbeat's process id; a claim is released
    # as soon as that process is known dead), and when the attempt passed the
    # point of no return (SMTP: the end of DATA; SMS: the request sent). An
    # attempt that died before that point certainly did not send; one that
    # died after it may have, and becomes "uncertain".
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(32))
    committed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # The gateway's id for a sent SMS, and what its delivery reports said.
    provider_id: Mapped[str | None] = mapped_column(String(100), index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(20))
    delivered_at: Mapped[datetime | None]


class Heartbeat(Base):
    """A long-running loop's sign of life: a listener per mailbox, a worker,
    the scheduler, the web, the embedded run. ``synpunkt health`` and
    /metrics read these rows; a delivery claim made by a process whose rows
    are all silent or stopped is released."""

    __tablename__ = "heartbeat"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # one per loop and run
    process_id: Mapped[str] = mapped_column(String(32), index=True)  # one per OS process run
    role: Mapped[str] = mapped_column(String(20))  # listener, sms, worker, scheduler, web, run
    name: Mapped[str] = mapped_column(String(200))  # e.g. the mailbox a listener watches
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    beat_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(500), default="")
    # The last time the loop did its work (a listener: heard its server),
    # and the longest a healthy loop goes between two such times.
    last_success_at: Mapped[datetime | None]
    success_within: Mapped[float | None] = mapped_column(Float)
    # Since when a loop has been without its server (a listener reconnecting).
    down_since: Mapped[datetime | None]


class ImapCheckpoint(Base):
    """Per mailbox: the UIDVALIDITY seen and the highest UID stored under it."""

    __tablename__ = "imap_checkpoint"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SourceCursor(Base):
    """Per polled source (an SMS gateway): where the next fetch starts."""

    __tablename__ = "source_cursor"

    source: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    """Someone who may log in to the web application, and in which role."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20))  # registrator | chef | admin
    enhet: Mapped[str | None] = mapped_column(String(60))  # a chef's own enhet
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A logged-in browser: the cookie's token is kept only as its sha256."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConfigVersion(Base):
    """Every version of a configuration file saved from the web application:
    what it said, who saved it and when (the file itself holds the latest)."""

    __tablename__ = "config_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    file: Mapped[str] = mapped_column(String(100), index=True)  # routing.yaml, routines.yaml
    version: Mapped[str] = mapped_column(String(64))  # sha256 of the content, first 12
    content: Mapped[str] = mapped_column(Text)
    saved_by: Mapped[str] = mapped_column(String(320))
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


def _trigram(name: str, column: Mapped[str] | Mapped[str | None], lower: bool = True) -> Index:
    """A GIN trigram index for cases.search's ``LIKE '%word%'`` on PostgreSQL
    (migration 0012; SQLite has none)."""
    label = f"{name}_expr"
    expression = (func.lower(column) if lower else column).label(label)
    return Index(name, expression, postgresql_using="gin",
                 postgresql_ops={label: "gin_trgm_ops"})


TRIGRAM_INDEXES = (
    _trigram("ix_case_diarienummer_trgm", Case.diarienummer),
    _trigram("ix_case_subject_trgm", Case.subject), _trigram("ix_case_text_trgm", Case.text),
    _trigram("ix_contact_email_trgm", Contact.email),
    _trigram("ix_contact_name_trgm", Contact.name),
    _trigram("ix_contact_phone_trgm", Contact.phone, lower=False),
)
