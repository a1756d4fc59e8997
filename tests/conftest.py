"""Shared fixtures: the mail fixtures, a private home, and a PostgreSQL database.

PostgreSQL tests need a server: SYNPUNKT_TEST_POSTGRES_URL (default: the
local server on 127.0.0.1:5432, user postgres, trust auth). `tests/run`
starts a private cluster when none is running. A missing server is a test
failure, never a silent skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    for sub in ("cur", "new", "tmp"):
        (h / "inbox" / sub).mkdir(parents=True)
    return h


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get("SYNPUNKT_TEST_POSTGRES_URL", DEFAULT_PG)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL is needed at {url} (set SYNPUNKT_TEST_POSTGRES_URL, or run "
                    f"tests/run which starts one): {exc}")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    name = f"synpunkt_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

