"""Settings from ``SYNPUNKT_*`` environment variables; every one is optional in
the embedded mode. Secrets come from the environment, never from the repository."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SHIPPED_CONFIG = Path(__file__).resolve().parent / "ekby"
# Hosts on which plain-text IMAP and SMTP are allowed (nothing leaves the machine).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "classify" / "model"
# The register, inbox and outbox of the embedded mode: in the checkout, beside
# the model, whatever folder a command is run from (SYNPUNKT_HOME moves it).
DEFAULT_HOME = Path(__file__).resolve().parent.parent / "var"


class Limits(BaseSettings):
    """What a single inbound message may be before it is quarantined or trimmed."""

    model_config = SettingsConfigDict(env_prefix="SYNPUNKT_LIMIT_", frozen=True)

    message_bytes: int = Field(default=40 * 1024 * 1024, gt=0)
    attachment_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    parts: int = Field(default=200, gt=0)
    depth: int = Field(default=20, gt=0)
    text_chars: int = Field(default=200_000, gt=0)
    # Parsing takes several times a message's size in memory (6.7x measured
    # for a 20 MiB attachment): a worker process parses messages larger than
    # this one at a time, so that four threads on four 40 MB messages do not
    # need over 1 GB at once.
    parse_alone_bytes: int = Field(default=4 * 1024 * 1024, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYNPUNKT_", frozen=True, extra="ignore")

    home: Path = DEFAULT_HOME
    config: Path = SHIPPED_CONFIG
    # The trained classifier (`synpunkt train` writes it here).
    model_dir: Path = DEFAULT_MODEL_DIR
    database_url: str | None = None
    redis_url: str | None = None
    imap_url: str | None = None
    smtp_url: str | None = None
    sms_provider: str | None = None
    sms_api_url: str | None = None
    sms_username: str | None = None
    sms_password: str | None = None
    sms_number: str | None = None  # else sms_nummer in organisation.yaml
    # The password a 46elks webhook must carry (Basic auth in the URL given to
    # 46elks); the API password when not set. Twilio signs with the auth token.
    sms_webhook_secret: str | None = None
    # Texts from one number this close together are one message (people split
    # long texts); a message is taken up when its number has been quiet this long.
    sms_join_seconds: float = Field(default=120.0, ge=0, le=3600)
    # An SMS from a number whose open case was registered within this many
    # hours is a reply to that case (what the SMS mottagningsbevis promises).
    sms_reply_hours: float = Field(default=72.0, ge=0)
    sms_poll_seconds: float = Field(default=60.0, gt=0)
    # Each poll starts this far before the newest SMS seen: late arrivals at
    # the gateway are caught, the store's upsert drops what was seen before.
    sms_poll_overlap_seconds: float = Field(default=600.0, ge=0)
    # The address the gateway reaches `synpunkt web` at, e.g.
    # https://synpunkt.ekby.se (Twilio's signature covers it; delivery reports go there).
    public_url: str | None = None
    # /metrics answers this Bearer token; without it, loopback clients only.
    metrics_token: str | None = None

    # IMAP: the folder stored mail is moved to, IDLE re-issue, polling without IDLE.
    # The re-issue period bounds how long a connection that a NAT or a load
    # balancer forgot goes unnoticed: the answer to DONE is the proof of life.
    imap_processed_folder: str = "Behandlad"
    imap_idle_seconds: float = Field(default=120.0, ge=5, le=25 * 60)
    imap_poll_seconds: float = Field(default=60.0, gt=0)
    # The longest wait between reconnects while IMAP or the database is away.
    imap_max_backoff_seconds: float = Field(default=60.0, gt=0)
    imap_batch: int = Field(default=50, gt=0, le=1000)
    # The shortest time between two syncs of a mailbox (many mails per MOVE).
    imap_min_sync_seconds: float = Field(default=1.0, ge=0, le=60)
    # XOAUTH2 (Microsoft 365): a command that prints a fresh access token.
    imap_oauth2_token_command: str | None = None
    # A CA bundle to trust for IMAPS/STARTTLS and SMTP TLS (a private CA).
    tls_ca_file: Path | None = None
    worker_threads: int = Field(default=4, gt=0, le=64)
    # Stored mails per message to the workers: classified together, their
    # receipts and notices delivered over one connection. 32 rather than 8:
    # a backlog's mail cost the workers 11–21 % less CPU and PostgreSQL a
    # quarter less (benchmarks/RESULTS.md, 2026-12-06 fifth session); a
    # single mail is a batch of one either way.
    worker_batch: int = Field(default=32, gt=0, le=256)
    # An idle worker polls Redis at least this often (dramatiq backs off up to it).
    worker_poll_ms: int = Field(default=100, ge=10, le=10_000)
    sweep_seconds: float = Field(default=30.0, gt=0)
    # Every long-running loop writes a heartbeat this often; one silent this
    # long counts as dead (`synpunkt health` fails, its delivery claims are
    # released).
    heartbeat_seconds: float = Field(default=10.0, gt=0, le=60)
    heartbeat_silent_seconds: float = Field(default=60.0, gt=0, le=600)
    # Rows younger than this are left to the normal path by the sweep.
    sweep_grace_seconds: float = Field(default=60.0, ge=0)
    # Delivery: first retry after this many seconds, doubling, at most 1 hour;
    # an attempt's claim lasts this long (longer than any SMTP timeout).
    delivery_retry_seconds: float = Field(default=30.0, gt=0)
    delivery_lease_seconds: float = Field(default=300.0, gt=0)
    delivery_max_attempts: int = Field(default=8, gt=0)

    # Spam. The verdict the kommun's mail system wrote in the headers
    # (X-Spam-Flag, X-Spam-Status, X-Spam, X-Spamd-Result, Microsoft 365's
    # SCL and SFV:SPM) is honoured; Microsoft 365 mail from this SCL up is spam.
    spam_headers: bool = True
    spam_scl: int = Field(default=5, ge=1, le=9)
    # A content filter to ask as well: spamd://host:783 (SpamAssassin) or
    # rspamd://host:11333. Its own threshold decides unless spam_score is set.
    spam_filter_url: str | None = None
    spam_filter_timeout: float = Field(default=15.0, gt=0, le=120)
    spam_score: float | None = None

    # At most this many automatic mails per sender address in the window.
    auto_reply_limit: int = Field(default=3, ge=0)
    auto_reply_window_hours: int = Field(default=24, gt=0)
    # How often `synpunkt run` looks at the drop folder and the outbox.
    poll_seconds: float = Field(default=2.0, gt=0)

    # Sign-in with the kommun's identity provider (OpenID Connect, e.g. Entra ID:
    # https://login.microsoftonline.com/TENANT/v2.0); docs/operations.md#sign-in.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = Field(default=None, validate_default=True)
    oidc_client_secret: str | None = None
    oidc_scopes: str = "openid email profile"
    # The claim with the user's groups (Entra ID: object ids); `roles` is read too.
    oidc_groups_claim: str = "groups"
    # The claim that names the user (their address in the user table).
    oidc_email_claim: str = "email"
    # JSON: group (or app role) -> "registrator", "admin" or "chef:ENHET".
    oidc_groups: str = Field(default="{}", validate_default=True)
    # False: only the identity provider; the password form is gone.
    oidc_passwords: bool = True
    limits: Limits = Field(default_factory=Limits)

    @field_validator("spam_filter_url")
    @classmethod
    def _known_filter(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("spamd://", "rspamd://", "http://",
                                                        "https://")):
            raise ValueError("SYNPUNKT_SPAM_FILTER_URL är spamd://värd:783 eller "
                             "rspamd://värd:11333")
        return value

    @field_validator("sms_provider")
    @classmethod
    def _known_provider(cls, value: str | None) -> str | None:
        if value is not None and value not in ("46elks", "twilio"):
            raise ValueError("SYNPUNKT_SMS_PROVIDER är 46elks eller twilio")
        return value

    @field_validator("oidc_client_id")
    @classmethod
    def _oidc_complete(cls, value: str | None, info: ValidationInfo) -> str | None:
        issuer = info.data.get("oidc_issuer")
        if issuer and not value:
            raise ValueError("SYNPUNKT_OIDC_ISSUER är satt: SYNPUNKT_OIDC_CLIENT_ID behövs också")
        parts = urlsplit(issuer or "")
        if issuer and (parts.scheme != "https" and not (
                parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)):
            raise ValueError("SYNPUNKT_OIDC_ISSUER ska vara en https://-adress")
        return value

    @field_validator("oidc_groups")
    @classmethod
    def _oidc_groups(cls, value: str) -> str:
        oidc_group_map(value)
        return value

    @property
    def oidc_group_map(self) -> dict[str, str]:
        return oidc_group_map(self.oidc_groups)

    @property
    def sqlite_path(self) -> Path:
        return self.home / "synpunkt.sqlite3"

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path.resolve()}"


def oidc_group_map(value: str) -> dict[str, str]:
    """SYNPUNKT_OIDC_GROUPS read: ValueError, in one Swedish line, when it is wrong."""
    example = '{"GRUPP": "registrator", "GRUPP2": "chef:ENHET", "GRUPP3": "admin"}'
    try:
        mapping = json.loads(value or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"SYNPUNKT_OIDC_GROUPS är inte JSON ({exc.msg}); "
                         f"skriv {example}") from None
    if not isinstance(mapping, dict):
        raise ValueError(f"SYNPUNKT_OIDC_GROUPS ska vara ett JSON-objekt: {example}")
    for group, grant in mapping.items():
        role, _, enhet = grant.partition(":") if isinstance(grant, str) else ("", "", "")
        if not ((role in ("registrator", "admin") and not enhet)
                or (role == "chef" and enhet)):
            raise ValueError(f"SYNPUNKT_OIDC_GROUPS: gruppen {group!r} ger {grant!r}; "
                             "skriv registrator, admin eller chef:ENHET")
    return dict(mapping)


def env_name(error: ValidationError) -> str:
    """The environment variable a settings validation error is about."""
    prefix = {"Limits": "SYNPUNKT_LIMIT_"}.get(error.title, "SYNPUNKT_")
    loc = error.errors()[0]["loc"] if error.errors() else ()
    return prefix + "_".join(str(p) for p in loc).upper()
