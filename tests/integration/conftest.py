"""Integration tests run the program as a kommun would: with its trained model."""

from __future__ import annotations

import fcntl

import pytest


@pytest.fixture(scope="session", autouse=True)
def trained_model() -> None:
    """The classifier the program uses, trained once when missing or stale,
    exactly as `synpunkt demo` does on a fresh clone."""
    from cli.classify import ensure_model
    from config.settings import Settings

    settings = Settings()
    # pytest-xdist workers each run this: one trains, the others wait for it.
    lock = settings.model_dir.parent / ".train.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        ensure_model(settings, say=lambda text: None)
