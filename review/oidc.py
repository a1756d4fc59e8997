"""Sign-in with the kommun's identity provider (OpenID Connect, e.g. Microsoft
Entra ID): the Authorization Code flow with PKCE (S256), state and nonce.
The provider is found by discovery (``ISSUER/.well-known/openid-configuration``);
the ID token's signature is checked against its JWKS (asymmetric algorithms
only) and its iss, aud (and azp), exp, iat and nonce claims (joserfc, authlib's
JOSE library). Role and enhet come from the user's groups (and Entra ID's
``roles`` claim) through SYNPUNKT_OIDC_GROUPS, never from the user table."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from config.errors import PermanentError
from config.settings import Settings
from review.access import Role

log = logging.getLogger(__name__)

# Never "none" nor a shared-secret (HS*) algorithm for an ID token.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LEEWAY = 60  # seconds of clock difference tolerated on exp and iat
PENDING_SECONDS = 600  # a sign-in must come back from the provider within this


class SignInError(PermanentError):
    """A sign-in refused; the message is Swedish and shown to the person."""


class ProviderError(PermanentError):
    """The identity provider did not answer as it should (network, discovery, token)."""


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    enhet: str | None


@dataclass(frozen=True, slots=True)
class Pending:
    """What the browser carries (a cookie) between leaving for the provider and
    coming back: the callback must return this state, the token this nonce."""

    state: str
    nonce: str
    verifier: str

    def encode(self) -> str:
        raw = json.dumps([self.state, self.nonce, self.verifier]).encode()
        return base64.urlsafe_b64encode(raw).decode("ascii")

    @staticmethod
    def decode(value: str | None) -> Pending | None:
        if not value or len(value) > 1000:
            return None
        try:
            parts = json.loads(base64.urlsafe_b64decode(value.encode("ascii")))
        except (ValueError, binascii.Error, UnicodeError):
            return None
        if (not isinstance(parts, list) or len(parts) != 3
                or not all(isinstance(p, str) and p for p in parts)):
            return None
        return Pending(parts[0], parts[1], parts[2])


def grant_of(claims: dict[str, Any], groups_claim: str, mapping: dict[str, str]) -> Grant | None:
    """The one role (and a chef's enhet) the user's groups and app roles map
    to; None when they map to nothing. Groups that map to different grants
    are refused (SignInError): a user has one role and one enhet."""
    names: set[str] = set()
    for claim in (groups_claim, "roles"):
        value = claims.get(claim)
        if isinstance(value, str):
            names.add(value)
        elif isinstance(value, list):
            names.update(v for v in value if isinstance(v, str))
    grants = {mapping[n] for n in names if n in mapping}
    if not grants:
        if "_claim_names" in claims and groups_claim in claims["_claim_names"]:
            log.warning("oidc: the ID token has too many groups (Entra ID's overage): assign "
                        "the groups to the application or use app roles")
        return None
    if len(grants) > 1:
        raise SignInError("Ditt konto hör till flera Synpunkt-grupper med olika behörighet. "
                          "Be administratören att ge dig en enda.")
    role, _, enhet = grants.pop().partition(":")
    return Grant(Role(role), enhet or None)


def email_of(claims: dict[str, Any], claim: str) -> str:
    value = claims.get(claim)
    if claim == "email" and claims.get("email_verified") is False:
        value = None
    if not isinstance(value, str) or "@" not in value or len(value) > 320:
        raise SignInError("Identitetstjänsten gav ingen e-postadress för ditt konto. "
                          "Be administratören om hjälp.")
    return value.strip().lower()


class OidcClient:
    """One per web process: the provider's metadata and keys are fetched once
    (the keys again when a token names a key not seen before)."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("SYNPUNKT_OIDC_ISSUER and SYNPUNKT_OIDC_CLIENT_ID are needed")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.scopes = settings.oidc_scopes
        verify: str | bool = str(settings.tls_ca_file) if settings.tls_ca_file else True
        self._http = httpx.Client(timeout=10.0, verify=verify, transport=transport,
                                  follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None:
                found = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
                if found.get("issuer", "").rstrip("/") != self.issuer:
                    raise ProviderError("the discovery document names another issuer")
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(found.get(key), str):
                        raise ProviderError(f"the discovery document has no {key}")
                self._metadata = found
            return self._metadata

    def authorization_url(self, redirect_uri: str) -> tuple[str, Pending]:
        pending = Pending(generate_token(32), generate_token(32), generate_token(64))
        query = urlencode({
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
            "scope": self.scopes, "state": pending.state, "nonce": pending.nonce,
            "code_challenge": create_s256_code_challenge(pending.verifier),
            "code_challenge_method": "S256"})
        endpoint = str(self.metadata()["authorization_endpoint"])
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", pending

    def redeem(self, code: str, pending: Pending, redirect_uri: str) -> dict[str, Any]:
        """The code for tokens at the token endpoint; the ID token's validated claims."""
        meta = self.metadata()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": pending.verifier}
        auth: tuple[str, str] | None = None
        methods = meta.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        if self.client_secret and "client_secret_basic" in methods:
            auth = (self.client_id, self.client_secret)
        else:
            form["client_id"] = self.client_id
            if self.client_secret:
                form["client_secret"] = self.client_secret
        try:
            answer = self._http.post(str(meta["token_endpoint"]), data=form,
                                     auth=auth or httpx.USE_CLIENT_DEFAULT,
                                     headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ProviderError(f"token endpoint: {type(exc).__name__}") from None
        if answer.status_code != 200:
            log.warning("oidc: the token endpoint answered %s", answer.status_code)
            raise SignInError("Identitetstjänsten godtog inte inloggningen. Försök igen.")
        id_token = answer.json().get("id_token") if _is_json(answer) else None
        if not isinstance(id_token, str):
            raise ProviderError("the token endpoint gave no id_token")
        return self.validate(id_token, pending.nonce)

    def validate(self, id_token: str, nonce: str) -> dict[str, Any]:
        """The claims of an ID token whose signature is the provider's and that
        was issued by it, to us, for this sign-in, and is not expired."""
        allowed = [a for a in self.metadata().get("id_token_signing_alg_values_supported",
                                                  ["RS256"]) if a in ALGORITHMS]
        try:
            try:
                token = jwt.decode(id_token, self._key_set(refresh=False), algorithms=allowed)
            except (JoseError, ValueError):  # a key rotated since we fetched them?
                token = jwt.decode(id_token, self._key_set(refresh=True), algorithms=allowed)
            claims = dict(token.claims)
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY, iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
                nonce={"essential": True, "value": nonce}).validate(claims)
        except (JoseError, ValueError) as exc:
            log.warning("oidc: ID token refused: %s", type(exc).__name__)
            raise SignInError("Inloggningen kunde inte bekräftas. Försök igen.") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.client_id:
            raise SignInError("Inloggningen kunde inte bekräftas. Försök igen.")
        return claims

    def _key_set(self, *, refresh: bool) -> KeySet:
        uri = str(self.metadata()["jwks_uri"])
        with self._lock:
            if self._keys is None or refresh:
                keys = self._get_json(uri).get("keys", [])
                usable = [k for k in keys if isinstance(k, dict)
                          and k.get("kty") in ("RSA", "EC") and k.get("use", "sig") == "sig"]
                self._keys = KeySet.import_key_set({"keys": usable})
            return self._keys

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            answer = self._http.get(url, headers={"Accept": "application/json"})
            answer.raise_for_status()
            found = answer.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise ProviderError(f"{url}: {type(exc).__name__}") from None
        if not isinstance(found, dict):
            raise ProviderError(f"{url}: not a JSON object")
        return found


def _is_json(answer: httpx.Response) -> bool:
    try:
        return isinstance(answer.json(), dict)
    except ValueError:
        return False
