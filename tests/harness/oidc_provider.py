"""A real OpenID Provider for the sign-in tests: panva's ``oidc-provider``
(node, OpenID Certified) run by ``tests/harness/oidc/provider.mjs`` on a free
loopback port, with its own login form, discovery, JWKS and RS256-signed ID
tokens. ``tests/run`` installs it (``npm ci`` in ``tests/harness/oidc``)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
from joserfc.jwk import RSAKey

from tests.harness.process import HOST, ServerError, ServerProcess, free_port, log_tail

HERE = Path(__file__).resolve().parent / "oidc"


def signing_key() -> dict[str, Any]:
    """A fresh RSA private key as a JWK (two providers may share one)."""
    key = RSAKey.generate_key(2048, parameters={"kid": f"test-{time.monotonic_ns()}",
                                                "alg": "RS256", "use": "sig"})
    return key.as_dict(private=True)


class OidcProvider(ServerProcess):
    name = "oidc-provider"

    def __init__(self, root: Path, *, clients: list[dict[str, Any]],
                 users: dict[str, dict[str, Any]], key: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.issuer = f"http://{HOST}:{self.port}"
        self.log_path = self.root / "oidc-provider.log"
        self.config = {"issuer": self.issuer, "port": self.port, "clients": clients,
                       "users": users, "jwks": {"keys": [key or signing_key()]}}

    def start(self, timeout: float = 20.0) -> None:
        node = shutil.which("node")
        if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
            raise ServerError("node and tests/harness/oidc/node_modules are needed "
                              "(tests/run installs them: npm ci --prefix tests/harness/oidc)")
        config = self.root / "oidc-provider.json"
        config.write_text(json.dumps(self.config), "utf-8")
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            self._spawn([node, str(HERE / "provider.mjs"), str(config)], stdout=log,
                        stderr=log, cwd=HERE)
        while True:
            try:
                if httpx.get(f"{self.issuer}/.well-known/openid-configuration",
                             timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            self._check_alive(self.log_path)
            if time.monotonic() - began > timeout:
                self.kill9()
                raise ServerError(f"oidc-provider did not answer within {timeout} s"
                                  + log_tail(self.log_path))
            time.sleep(0.05)
        self.startup_seconds = time.monotonic() - began
