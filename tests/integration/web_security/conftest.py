"""The web application under attack, systematically: every route the real
app serves is enumerated, so a route added later is tested too (or fails the
inventory). Authentication bypass and session fixation
(``test_authentication.py``), CSRF, open redirects and header injection
(``test_csrf_and_redirects.py``), access across enheter and roles
(``test_access_control.py``), and secrets that never leave the environment
(``test_secrets.py``). tests/integration/test_web.py has the single-case
versions; these files cover every route and every variant."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.integration import test_web
from tests.integration.test_web import Site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """test_web's site (users of each role, three cases), built once for each
    module: each test leaves it as it found it."""
    built: Site = test_web.site.__wrapped__(  # type: ignore[attr-defined]
        tmp_path_factory.mktemp("site"))
    built.client = TestClient(built.client.app)
    return built
