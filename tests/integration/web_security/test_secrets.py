"""Secrets only from the environment: none in the repository or the
configuration files, none read from anywhere else, none shown in a page."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from config.settings import SHIPPED_CONFIG, Settings
from review.app import create_app
from tests.integration.test_web import ADMIN, PASSWORD, Site, csrf_of

ROOT = Path(__file__).resolve().parents[3]

SECRET_LINE = re.compile(
    r"""(?ix)
    -----BEGIN[ A-Z]*PRIVATE\ KEY-----
    | \b(?:AKIA|ASIA)[0-9A-Z]{16}\b                       # AWS access key id
    | \bgh[pousr]_[A-Za-z0-9]{30,}\b                      # GitHub token
    | \bxox[abpr]-[A-Za-z0-9-]{10,}                      # Slack token
    | \bsk_live_[A-Za-z0-9]{16,}                          # Stripe key
    | \bAC[0-9a-f]{32}\b                                   # Twilio account SID
    | [a-z][a-z0-9+.-]*://[^\s:/@'"]+:[^\s@/'"{]{3,}@(?!127\.0\.0\.1|localhost|host\b|example)
    | (?:password|passwd|secret|token|api_?key|lösenord)[\w-]*["']?\s*[:=]\s*["'][^"'\s{}]{8,}["']
    """)


# What documentation writes in place of a secret: USERNAME:SECRET, user:pw, lösenord.
PLACEHOLDER = re.compile(r"(?i):(?:[A-Z_]+|pw|pass|password|lösenord|secret|hemligt)@")


def _tracked() -> list[Path]:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    return [ROOT / f for f in files if not f.startswith(("tests/", "classify/data/",
                                                         "classify/model/"))]


def test_the_repository_holds_no_credentials() -> None:
    hits = []
    for path in _tracked():
        try:
            text = path.read_text("utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if any(not PLACEHOLDER.search(m.group(0)) for m in SECRET_LINE.finditer(line)):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    assert not hits, "credential-looking values in tracked files:\n" + "\n".join(hits)
    planted = SECRET_LINE.search("SYNPUNKT_SMTP_URL=smtp://kommun:Sommar2026!@smtp.ekby.se")
    assert planted and not PLACEHOLDER.search(planted.group(0))
    assert SECRET_LINE.search('sms_password = "k8Jd0aPq2xYz"')


def test_the_configuration_files_have_no_place_for_a_secret() -> None:
    def keys(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield str(key)
                yield from keys(value)
        elif isinstance(node, list):
            for item in node:
                yield from keys(item)

    secretish = re.compile(r"(?i)pass|secret|token|key$|api_?key|lösen|losen|credential|auth")
    found = []
    for path in sorted(SHIPPED_CONFIG.glob("*.yaml")):
        found += [f"{path.name}: {k}" for k in keys(yaml.safe_load(path.read_text("utf-8")))
                  if secretish.search(k)]
    from config import organisation, routines

    for module in (organisation, routines):
        for model in vars(module).values():
            fields = getattr(model, "model_fields", None)
            if isinstance(fields, dict) and isinstance(model, type):
                found += [f"{model.__name__}.{f}" for f in fields if secretish.search(f)]
    assert not found, found


SECRETS = {"SYNPUNKT_SMS_PASSWORD": "smsLosen-9f3k", "SYNPUNKT_SMS_WEBHOOK_SECRET": "krok-7Hq2",
           "SYNPUNKT_METRICS_TOKEN": "metrik-Zt81",
           "SYNPUNKT_SMTP_URL": "smtp://utkorg:smtpLosen-4kW@127.0.0.1:9/",
           "SYNPUNKT_IMAP_URL": "imaps://inkorg:imapLosen-2Pz@127.0.0.1:9/INBOX"}
SECRET_VALUES = ("smsLosen-9f3k", "krok-7Hq2", "metrik-Zt81", "smtpLosen-4kW", "imapLosen-2Pz")


def test_settings_take_credentials_from_the_environment_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = Settings.model_config
    assert config.get("env_prefix") == "SYNPUNKT_"
    assert not config.get("env_file") and not config.get("secrets_dir")
    for name in ("sms_password", "sms_webhook_secret", "metrics_token", "smtp_url", "imap_url",
                 "sms_username", "database_url", "imap_oauth2_token_command"):
        assert name in Settings.model_fields, name
    monkeypatch.chdir(tmp_path)  # a stray .env file or YAML with secrets is not read
    (tmp_path / ".env").write_text("SYNPUNKT_SMS_PASSWORD=fran-en-fil\nSMS_PASSWORD=x\n")
    config_dir = tmp_path / "ekby"
    import shutil

    shutil.copytree(SHIPPED_CONFIG, config_dir)
    with (config_dir / "organisation.yaml").open("a") as f:
        f.write("\nsms_password: fran-yaml\nmetrics_token: fran-yaml\n")
    for name in [*SECRETS, "SMS_PASSWORD", "METRICS_TOKEN"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMS_PASSWORD", "utan-prefix")
    monkeypatch.setenv("SYNPUNKT_CONFIG", str(config_dir))
    plain = Settings()
    assert plain.sms_password is None and plain.metrics_token is None
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    taken = Settings()
    assert (taken.sms_password, taken.sms_webhook_secret, taken.metrics_token) == (
        SECRETS["SYNPUNKT_SMS_PASSWORD"], SECRETS["SYNPUNKT_SMS_WEBHOOK_SECRET"],
        SECRETS["SYNPUNKT_METRICS_TOKEN"])
    assert taken.smtp_url == SECRETS["SYNPUNKT_SMTP_URL"]


def test_no_secret_is_shown_in_pages(site: Site) -> None:
    """An app holding every secret shows none of them. (What the commands
    print, at -v, is checked by tests/integration/test_logs.py.)"""
    settings = site.app.settings.model_copy(update={
        "sms_password": "smsLosen-9f3k", "sms_webhook_secret": "krok-7Hq2",
        "metrics_token": "metrik-Zt81", "smtp_url": SECRETS["SYNPUNKT_SMTP_URL"],
        "imap_url": SECRETS["SYNPUNKT_IMAP_URL"]})
    client = TestClient(create_app(replace(site.app, settings=settings), lambda _i: None))
    token = csrf_of(client.get("/login").text)
    client.post("/login", data={"email": ADMIN, "password": PASSWORD, "csrf": token})
    pages = [client.get(p) for p in ("/admin", "/admin/anvandare", "/statistik", "/health",
                                     "/login", f"/cases/{site.cases['gata']}")]
    pages.append(client.get("/metrics", headers={"Authorization": "Bearer metrik-Zt81"}))
    assert pages[0].status_code == 200 and pages[-1].status_code == 200
    for page in pages:
        for value in SECRET_VALUES:
            assert value not in page.text, (page.url, value)
