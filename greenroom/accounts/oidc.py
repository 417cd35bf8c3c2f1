"""OpenID Connect sign-in: authorization code flow with PKCE, ID token checked in full.

The ID token's signature is checked against the provider's published keys (JWKS, asymmetric
algorithms only), then its issuer, audience (and authorised party), expiry, issue time and the
nonce this browser was given. Anything wrong is an `OidcError` with a reason for the log; the
person sees a plain message.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.core.cache import cache
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from greenroom.accounts.models import SignInMethod, SsoProvider
from greenroom.core import vault

# Asymmetric only: an HS256 token would be "signed" with the client secret, "none" not at all.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
CLOCK_LEEWAY_S = 60
DISCOVERY_CACHE_S = 3600


class OidcError(Exception):
    """The provider's answer cannot be trusted; the message is for the log, not the person."""


@dataclass(frozen=True)
class AuthRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


def _client() -> httpx.Client:
    return httpx.Client(timeout=settings.NETWORK_CLIENT_TIMEOUT_S, follow_redirects=False)


def discovery(provider: SsoProvider) -> dict[str, Any]:
    """The provider's configuration document (cached for an hour)."""
    key = f"greenroom:oidc-discovery:{hashlib.sha256(provider.oidc_issuer.encode()).hexdigest()}"
    doc = cache.get(key)
    if isinstance(doc, dict):
        return doc
    url = provider.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        with _client() as client:
            response = client.get(url)
        response.raise_for_status()
        doc = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError(f"cannot read the provider's configuration at {url}: {exc}") from exc
    named = doc.get("issuer") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or named != provider.oidc_issuer:
        raise OidcError(
            f"the configuration at {url} names issuer {named!r}, not {provider.oidc_issuer!r}"
        )
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(doc.get(field), str):
            raise OidcError(f"the provider's configuration has no {field}")
    cache.set(key, doc, DISCOVERY_CACHE_S)
    return doc


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_challenge(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode()).digest())


def authorization_request(provider: SsoProvider, *, redirect_uri: str) -> AuthRequest:
    doc = discovery(provider)
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": provider.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    endpoint = doc["authorization_endpoint"]
    separator = "&" if "?" in endpoint else "?"
    return AuthRequest(
        url=f"{endpoint}{separator}{query}", state=state, nonce=nonce, code_verifier=verifier
    )


def _jwks(doc: dict[str, Any], *, refresh: bool = False) -> KeySet:
    url = doc["jwks_uri"]
    key = f"greenroom:oidc-jwks:{hashlib.sha256(url.encode()).hexdigest()}"
    data = None if refresh else cache.get(key)
    if not isinstance(data, dict):
        try:
            with _client() as client:
                response = client.get(url)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"cannot read the provider's keys at {url}: {exc}") from exc
        cache.set(key, data, DISCOVERY_CACHE_S)
    try:
        return KeySet.import_key_set(data)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise OidcError(f"the provider's keys at {url} cannot be read: {exc}") from exc


def validate_id_token(
    provider: SsoProvider, id_token: str, *, nonce: str, now: float | None = None
) -> dict[str, Any]:
    """The ID token's claims, once signature, issuer, audience, times and nonce all check out."""
    doc = discovery(provider)
    try:
        token = jwt.decode(id_token, _jwks(doc), algorithms=ALGORITHMS)
    except JoseError as first:
        # The provider may have rotated its keys since we cached them: look once more.
        try:
            token = jwt.decode(id_token, _jwks(doc, refresh=True), algorithms=ALGORITHMS)
        except JoseError as exc:
            raise OidcError(f"the ID token's signature does not verify: {exc}") from first
    except ValueError as exc:
        raise OidcError(f"the ID token is malformed: {exc}") from exc
    claims = dict(token.claims)
    moment = time.time() if now is None else now
    if claims.get("iss") != provider.oidc_issuer:
        raise OidcError(f"the ID token was issued by {claims.get('iss')!r}")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or provider.oidc_client_id not in audiences:
        raise OidcError(f"the ID token is meant for {audience!r}, not this client")
    if len(audiences) > 1 and claims.get("azp") != provider.oidc_client_id:
        raise OidcError("the ID token has several audiences and another authorised party")
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + CLOCK_LEEWAY_S < moment:
        raise OidcError("the ID token has expired")
    if not isinstance(iat, int | float) or iat - CLOCK_LEEWAY_S > moment:
        raise OidcError("the ID token was issued in the future")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf - CLOCK_LEEWAY_S > moment:
        raise OidcError("the ID token is not valid yet")
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(
        claims["nonce"], nonce
    ):
        raise OidcError("the ID token's nonce is not the one this browser was given")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise OidcError("the ID token names no subject")
    return claims


def exchange_code(
    provider: SsoProvider, *, code: str, redirect_uri: str, code_verifier: str
) -> dict[str, Any]:
    """Trade the authorization code (and PKCE verifier) for tokens at the token endpoint."""
    doc = discovery(provider)
    if provider.oidc_client_secret is None:
        raise OidcError("no client secret is stored")
    client_secret = vault.reveal(provider.oidc_client_secret)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    methods = doc.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    extra: dict[str, Any] = {}
    if "client_secret_basic" in methods:
        extra["auth"] = httpx.BasicAuth(provider.oidc_client_id, client_secret)
    else:
        data |= {"client_id": provider.oidc_client_id, "client_secret": client_secret}
    try:
        with _client() as client:
            response = client.post(
                doc["token_endpoint"], data=data, headers={"Accept": "application/json"}, **extra
            )
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError(f"the token endpoint did not answer usefully: {exc}") from exc
    if response.status_code != 200 or not isinstance(body, dict) or "id_token" not in body:
        error = body.get("error") if isinstance(body, dict) else None
        raise OidcError(f"the token endpoint refused the code ({response.status_code}, {error})")
    return body


def userinfo(provider: SsoProvider, access_token: str) -> dict[str, Any]:
    endpoint = discovery(provider).get("userinfo_endpoint")
    if not isinstance(endpoint, str) or not access_token:
        return {}
    try:
        with _client() as client:
            response = client.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise OidcError(f"the userinfo endpoint did not answer usefully: {exc}") from exc
    return data if isinstance(data, dict) else {}


def groups_from(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if isinstance(v, str | int))
    return ()


def claims_for_sign_in(
    provider: SsoProvider, claims: dict[str, Any], tokens: dict[str, Any]
) -> tuple[str, str, str, tuple[str, ...], str]:
    """Subject, email, name and groups (from the ID token, else the userinfo endpoint)."""
    groups_value = claims.get(provider.groups_claim)
    extra: dict[str, Any] = {}
    if groups_value is None:
        extra = userinfo(provider, str(tokens.get("access_token", "")))
        if extra.get("sub") not in (None, claims["sub"]):
            raise OidcError("the userinfo endpoint describes someone else")
        groups_value = extra.get(provider.groups_claim)
    email = claims.get("email") or extra.get("email") or ""
    # An address the provider has not verified must not link to an existing account.
    verified = (
        claims["email_verified"] if "email_verified" in claims else extra.get("email_verified")
    )
    if verified is False:
        email = ""
    name = claims.get("name") or extra.get("name") or ""
    return (
        str(claims["sub"]),
        str(email),
        str(name),
        groups_from(groups_value),
        SignInMethod.SSO_OIDC,
    )
