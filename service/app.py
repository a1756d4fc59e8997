"""The one place that builds every resource a process needs."""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cases.db import make_engine, make_sessions
from classify.triage import Classifier, NoClassifier, Triage
from config.kommun import Kommun, load_kommun
from config.settings import Settings
from ingest.message import Message
from ingest.screen import Context as ScreenContext
from ingest.sms.gateway import Gateway
from ingest.sms.phone import e164
from ingest.spamfilter import SpamFilter, make_spam_filter
from ingest.webform import Form
from notify.attempt import DeliveryPolicy
from notify.delivery import FileTransport, Transport, Transports
from notify.outbox import AutoReplyLimit
from notify.sms import SmsTransport
from notify.smtp import SmtpTransport, parse_smtp_url
from routing.decision import Router
from routing.load import load_kommun_rules
from routing.reload import RulesRouter

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class App:
    settings: Settings
    kommun: Kommun
    engine: Engine
    sessions: sessionmaker[Session]
    classifier: Classifier
    router: Router
    transports: Transports
    # The SMS gateway when SYNPUNKT_SMS_PROVIDER is set.
    gateway: Gateway | None = None
    clock: Callable[[], datetime] = utc_now
    # The content filter when SYNPUNKT_SPAM_FILTER_URL is set.
    spam_filter: SpamFilter | None = None

    @property
    def screen_context(self) -> ScreenContext:
        s = self.settings
        return ScreenContext(self.kommun.organisation.kommun.doman, self.own_addresses,
                             s.spam_headers, s.spam_scl)

    @property
    def forms(self) -> tuple[Form, ...]:
        """The kommun's e-tjänster, from organisation.yaml."""
        return tuple(Form(f.namn, f.avsandare, tuple(f.falt_epost), tuple(f.falt_namn),
                          tuple(f.falt_telefon))
                     for f in self.kommun.organisation.e_tjanster)

    @property
    def auto_reply_limit(self) -> AutoReplyLimit:
        return AutoReplyLimit(
            self.settings.auto_reply_limit,
            timedelta(hours=self.settings.auto_reply_window_hours),
        )

    @property
    def delivery_policy(self) -> DeliveryPolicy:
        s = self.settings
        return DeliveryPolicy(timedelta(seconds=s.delivery_retry_seconds),
                              timedelta(seconds=s.delivery_lease_seconds),
                              s.delivery_max_attempts,
                              timedelta(seconds=s.heartbeat_silent_seconds))

    @property
    def own_addresses(self) -> frozenset[str]:
        k = self.kommun.organisation.kommun
        return frozenset({k.funktionsbrevlada, k.registrator.epost})

    def case_url(self, case_id: int) -> str | None:
        """The case's page in `synpunkt web`, when SYNPUNKT_PUBLIC_URL says where it is."""
        base = self.settings.public_url
        return f"{base.rstrip('/')}/cases/{case_id}" if base else None

    @property
    def sms_number(self) -> str | None:
        """The kommun's own SMS number, E.164 (a text from it is our own)."""
        return e164(self.settings.sms_number or self.kommun.organisation.kommun.sms_nummer)


def build_app(settings: Settings | None = None) -> App:
    """Load and validate the configuration, then build the engine and transport.
    Raises ConfigError (one line) on a bad configuration."""
    settings = settings or Settings()
    kommun = load_kommun(settings.config)
    # Every configuration file is checked at start; the rules' words get their
    # lemmas when the router first routes (a command that routes nothing
    # never reads the lemma table).
    rules = load_kommun_rules(kommun, lemmas=False)
    if settings.database_url is None:
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    files = FileTransport(settings.outbox)
    email: Transport = files
    if settings.smtp_url:
        email = SmtpTransport(parse_smtp_url(settings.smtp_url), tls_context=tls_context(settings))
    gateway = None
    if settings.sms_provider:  # httpx and the adapters only where SMS is used
        from ingest.sms.providers import make_gateway

        gateway = make_gateway(settings, kommun.organisation.kommun.sms_nummer)
    sms: Transport | None = None
    if gateway is not None:
        sms = SmsTransport(gateway, status_url(settings))
    elif not settings.smtp_url:
        sms = files  # the embedded mode without a gateway: SMS written as text files
    return App(
        settings=settings,
        kommun=kommun,
        engine=engine,
        sessions=make_sessions(engine),
        classifier=load_classifier(settings),
        router=RulesRouter(rules, kommun.organisation, kommun.routines.profiler),
        transports=Transports(email, sms),
        gateway=gateway,
        spam_filter=make_spam_filter(settings.spam_filter_url, settings.spam_filter_timeout,
                                     settings.spam_score) if settings.spam_filter_url else None,
    )


def status_url(settings: Settings) -> str | None:
    """Where the gateway reports delivery: ``synpunkt web`` at SYNPUNKT_PUBLIC_URL
    (46elks: with the webhook's Basic credentials in the URL, as it documents)."""
    if not settings.public_url:
        return None
    parts = urlsplit(settings.public_url.rstrip("/"))
    path = f"{parts.path}/sms/{settings.sms_provider}/status"
    netloc = parts.netloc
    if settings.sms_provider == "46elks" and settings.sms_username:
        secret = settings.sms_webhook_secret or settings.sms_password or ""
        netloc = f"{quote(settings.sms_username, safe='')}:{quote(secret, safe='')}@{netloc}"
    return urlunsplit((parts.scheme, netloc, path, "", ""))


def load_classifier(settings: Settings) -> Classifier:
    """The trained model, loaded once per process on first use (the listener and
    the scheduler never pay for it); without one every case goes to the
    registrator's review (`synpunkt train` builds it)."""
    return LazyClassifier(settings)


PRIMED_LIMIT = 1024  # triages kept ahead of their messages, at most
# New words the model's vocabulary may take in before the model is loaded
# anew (0.7 s, about every 13,000 real texts): spaCy keeps every new string
# for the life of the process, and a worker lives for months
# (classify/textprep.py has the measurement).
MODEL_STRINGS = 100_000


class LazyClassifier:
    """The model, loaded on first use; and the triages of a batch classified
    ahead (``prime``) for the one-at-a-time path that asks for them later: a
    batch in one model call costs half of what its messages cost one by one
    (benchmarks/RESULTS.md). Classifying is deterministic and the batch's
    answers are the single calls' (tests/integration/test_classifier.py), so
    a primed triage is the one ``classify`` would have computed."""

    def __init__(self, settings: Settings, model_strings: int = MODEL_STRINGS) -> None:
        self.settings = settings
        self.model_strings = model_strings
        self._loaded: Classifier | None = None
        self._lock = threading.Lock()
        self._primed: dict[tuple[str, str], Triage] = {}

    def _get(self) -> Classifier:
        """The model; loaded anew once its vocabulary has taken in
        ``model_strings`` new words. A thread still classifying with the old
        one finishes with it; the answers are the same (deterministic)."""
        with self._lock:
            learned = getattr(self._loaded, "strings_learned", None)
            if learned is not None and learned() > self.model_strings:
                log.info("the model's vocabulary has grown by %s strings: loading it anew",
                         learned())
                self._loaded = None
            if self._loaded is None:
                from classify.model import ModelMissingError, SpacyClassifier

                try:
                    self._loaded = SpacyClassifier(self.settings.model_dir)
                except ModelMissingError:
                    log.warning("no trained model in %s: every case goes to review",
                                self.settings.model_dir)
                    self._loaded = NoClassifier()
            return self._loaded

    def warm(self) -> None:
        """Load the model, the lemma step's tokenizer and the language
        detector's models now: a worker's first message must not pay for the
        load while its transaction holds the row's locks."""
        from classify import language, textprep

        self._get()
        textprep.warm()
        language.warm()

    def prime(self, messages: list[Message]) -> None:
        """Classify ``messages`` in one call and keep their triages for when
        each is classified (the oldest forgotten past ``PRIMED_LIMIT``)."""
        if not messages:
            return
        triages = self._get().classify_many(messages)
        with self._lock:
            if len(self._primed) + len(messages) > PRIMED_LIMIT:
                self._primed.clear()  # primed for messages that never came
            self._primed.update(zip(map(_primed_key, messages), triages, strict=True))

    def forget(self) -> None:
        """Drop what was primed (a new model, a benchmark's next run)."""
        with self._lock:
            self._primed.clear()

    def classify(self, message: Message) -> Triage:
        with self._lock:  # kept, not taken: the same text again gets the same triage
            primed = self._primed.get(_primed_key(message))
        return primed if primed is not None else self._get().classify(message)

    def classify_many(self, messages: list[Message]) -> list[Triage]:
        return self._get().classify_many(messages)


def _primed_key(message: Message) -> tuple[str, str]:
    """What a triage depends on: the subject and the text (classify/model.py)."""
    return message.subject, message.text


def tls_context(settings: Settings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.tls_ca_file:
        context.load_verify_locations(cafile=str(settings.tls_ca_file))
    return context
