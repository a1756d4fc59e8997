"""The HTTP seam the gateway adapters share: one client per adapter, the
provider's answers and httpx's exceptions translated into the project's."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from config.errors import OutcomeUnknownError, PermanentError, TransientError

log = logging.getLogger(__name__)
# Answers where the provider did not act on the request: safe to try again.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


class ApiClient:
    def __init__(self, provider: str, base_url: str, auth: tuple[str, str],
                 transport: httpx.BaseTransport | None = None, timeout: float = 30.0) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        limits = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        self._client = httpx.Client(auth=auth, timeout=limits, transport=transport,
                                    headers={"User-Agent": "synpunkt"})

    def get(self, url: str, params: dict[str, str] | None = None) -> Any:
        """GET JSON. Anything that fails is worth another try later, except
        a refused login or a request the provider calls wrong."""
        try:
            response = self._client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise TransientError(f"{self.provider}: {type(exc).__name__}") from exc
        return self._json(response, outcome_known=True)

    def post(self, url: str, data: dict[str, str]) -> Any:
        """POST a form that makes the provider act (send an SMS). An answer
        lost after the request left means the outcome is unknown."""
        try:
            response = self._client.post(url, data=data)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransientError(f"{self.provider}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise OutcomeUnknownError(
                f"{self.provider}: svaret uteblev ({type(exc).__name__}); oklart om sms:et "
                "skickades") from exc
        return self._json(response, outcome_known=response.status_code != 504)

    def _json(self, response: httpx.Response, outcome_known: bool) -> Any:
        code = response.status_code
        if 200 <= code < 300:
            try:
                return response.json()
            except ValueError as exc:
                raise TransientError(f"{self.provider}: svaret är inte JSON") from exc
        text = " ".join(response.text.split())[:200]
        if not outcome_known:
            raise OutcomeUnknownError(f"{self.provider} {code}: {text}; oklart om det gick fram")
        if code in RETRYABLE:
            raise TransientError(f"{self.provider} {code}: {text}")
        if code in (401, 403):
            raise PermanentError(f"{self.provider} {code}: inloggningen nekades (kontrollera "
                                 "SYNPUNKT_SMS_USERNAME och SYNPUNKT_SMS_PASSWORD)")
        raise PermanentError(f"{self.provider} {code}: {text}")

    def close(self) -> None:
        self._client.close()
