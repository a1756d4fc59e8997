"""A self-signed certificate for the test servers that speak TLS (Dovecot's
IMAPS, the SMTP sink's STARTTLS and SMTPS): CN=localhost, SAN
DNS:localhost and IP:127.0.0.1, made with openssl once per process."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from pathlib import Path

_CERT_CACHE: Path | None = None


def self_signed_cert() -> tuple[Path, Path]:
    """(cert, key) for CN=localhost, SAN DNS:localhost,IP:127.0.0.1; made once per process."""
    global _CERT_CACHE
    if _CERT_CACHE is None or not (_CERT_CACHE / "cert.pem").exists():
        cache = Path(tempfile.mkdtemp(prefix="synpunkt-cert-"))
        atexit.register(shutil.rmtree, cache, True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "7",
             "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(cache / "key.pem"), "-out", str(cache / "cert.pem")],
            check=True, capture_output=True, timeout=60)
        _CERT_CACHE = cache
    return _CERT_CACHE / "cert.pem", _CERT_CACHE / "key.pem"
