"""Integration tests run the program as a kommun would: with its trained model."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def trained_model() -> None:
    """The classifier the program uses, trained once when missing or stale,
    exactly as `synpunkt demo` does on a fresh clone."""
    from config.settings import Settings
    from workers.cli.classify import ensure_model

    ensure_model(Settings(), say=lambda text: None)
