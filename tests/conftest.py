"""Shared fixtures: the mail fixtures, a private home, and a PostgreSQL database.

PostgreSQL tests need a server: SYNPUNKT_TEST_POSTGRES_URL (default: the
local server on 127.0.0.1:5432, user postgres, trust auth). `tests/run`
starts a private cluster when none is running. A missing server is a test
failure, never a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.harness.postgres import scratch_database

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
    with scratch_database(postgres_server_url, "synpunkt_test") as url:
        yield url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``long`` (minutes of waiting on real timeouts) start
    first, one at the head of each xdist worker's share: pytest-xdist's
    worksteal hands each worker a contiguous share of the collection, so a
    long test left where it was collected would start near the end and
    stretch the whole run by its length."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    long = [item for item in items if item.get_closest_marker("long")]
    if workers < 2 or not long:
        return
    rest = [item for item in items if not item.get_closest_marker("long")]
    heads: list[list[pytest.Item]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    # Longest first, each to the worker with the least so far (the marker's
    # ``seconds`` is the test's measured length).
    for item in sorted(long, key=_seconds, reverse=True):
        w = loads.index(min(loads))
        heads[w].append(item)
        loads[w] += _seconds(item)
    ordered: list[pytest.Item] = []
    left = len(items)
    for i in range(workers):  # the share sizes xdist's worksteal gives, in order
        size = left // (workers - i)
        share = heads[i] + rest[:max(0, size - len(heads[i]))]
        rest = rest[len(share) - len(heads[i]):]
        ordered += share
        left -= len(share)
    items[:] = ordered + rest


def _seconds(item: pytest.Item) -> float:
    marker = item.get_closest_marker("long")
    return float(marker.kwargs.get("seconds", 60)) if marker else 0.0
