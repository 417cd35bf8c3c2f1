"""AT Protocol OAuth for Bluesky channels (the second way to connect, next to app passwords).

Greenroom is a public client (token_endpoint_auth_method "none"): its client_id is the URL of
the client metadata document it serves itself, or, when BASE_URL is plain http (local
development), the spec's loopback form `http://localhost?redirect_uri=...&scope=...`.

The flow: handle -> DID (HTTPS /.well-known/atproto-did, else the PDS's resolveHandle) -> DID
document (did:plc from the PLC directory, did:web from the host) -> PDS -> its
oauth-protected-resource -> the authorization server's metadata -> PAR with PKCE S256, state
and a DPoP proof -> the user signs in at the authorization endpoint -> callback (state and iss
checked) -> token exchange with DPoP (the token's `sub` must be the DID resolved at the start).
Every token request and every PDS call carries a DPoP proof signed with an ES256 key made for
this connection; the key is kept in the vault with the tokens. A server that answers
`use_dpop_nonce` is asked again once with the nonce it sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _
from joserfc import jwt
from joserfc.jwk import ECKey

from greenroom.core import vault

SCOPE = "atproto transition:generic"
DEFAULT_PLC_URL = "https://plc.directory"
# The AT Protocol handle syntax (a domain name whose last label does not start with a digit).
HANDLE_SYNTAX = re.compile(
    r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
)
DID_SYNTAX = re.compile(r"^did:(plc:[a-z2-7]{24}|web:[a-z0-9.-]+)$")


class OAuthError(Exception):
    """Something in the OAuth flow failed; the message is for the person connecting."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- who Greenroom is ---------------------------------------------------------------------------


def plc_url() -> str:
    return str(
        getattr(settings, "BLUESKY_PLC_URL", "")
        or os.environ.get("GREENROOM_BLUESKY_PLC", "")
        or DEFAULT_PLC_URL
    ).rstrip("/")


def is_loopback_client() -> bool:
    """Local development (BASE_URL not https) uses the loopback client_id the spec allows."""
    return not settings.BASE_URL.startswith("https://")


def redirect_uri() -> str:
    uri = settings.BASE_URL + reverse("bluesky:oauth_callback")
    if is_loopback_client():
        # Loopback redirect URIs must name the IP address, not "localhost".
        parts = urlsplit(uri)
        host = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
        uri = urlunsplit(("http", host, parts.path, "", ""))
    return uri


def client_id() -> str:
    if is_loopback_client():
        return "http://localhost?" + urlencode({"redirect_uri": redirect_uri(), "scope": SCOPE})
    return settings.BASE_URL + reverse("bluesky:oauth_client_metadata")


def client_metadata() -> dict[str, Any]:
    """The client metadata document served at client_id (public https deployments)."""
    return {
        "client_id": client_id(),
        "client_name": "Greenroom",
        "client_uri": settings.BASE_URL,
        "application_type": "web",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "redirect_uris": [redirect_uri()],
        "scope": SCOPE,
        "token_endpoint_auth_method": "none",
        "dpop_bound_access_tokens": True,
    }


# --- DPoP ---------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_dpop_key() -> str:
    """A fresh ES256 key as private JWK JSON (one per connection)."""
    return json.dumps(ECKey.generate_key("P-256", private=True).as_dict(private=True))


def dpop_proof(
    key_json: str, method: str, url: str, *, nonce: str = "", access_token: str = ""
) -> str:
    """A DPoP proof JWT for one request (htu without query or fragment; ath with a token)."""
    key = ECKey.import_key(json.loads(key_json))
    parts = urlsplit(url)
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(16),
        "htm": method.upper(),
        "htu": urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        "iat": int(time.time()),
    }
    if nonce:
        claims["nonce"] = nonce
    if access_token:
        claims["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)}
    return jwt.encode(header, claims, key)


def needs_nonce(response: httpx.Response) -> bool:
    """An authorization server says 400 {"error": "use_dpop_nonce"}; a resource server says
    401 with `WWW-Authenticate: DPoP error="use_dpop_nonce"`."""
    if not response.headers.get("DPoP-Nonce"):
        return False
    if response.status_code == 401:
        return "use_dpop_nonce" in response.headers.get("WWW-Authenticate", "")
    if response.status_code == 400:
        try:
            return bool(response.json().get("error") == "use_dpop_nonce")
        except ValueError:
            return False
    return False


# --- HTTP ---------------------------------------------------------------------------------------


def _http() -> httpx.Client:
    return httpx.Client(timeout=settings.NETWORK_CLIENT_TIMEOUT_S, follow_redirects=False)


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        with _http() as http:
            response = http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise OAuthError(
            _("Could not reach %(url)s while %(what)s.") % {"url": url, "what": what}
        ) from exc
    if response.status_code != 200:
        raise OAuthError(
            _("%(url)s answered %(status)s while %(what)s.")
            % {"url": url, "status": response.status_code, "what": what}
        )
    try:
        data = response.json()
    except ValueError as exc:
        raise OAuthError(_("%(url)s did not answer with JSON.") % {"url": url}) from exc
    if not isinstance(data, dict):
        raise OAuthError(_("%(url)s did not answer with a JSON object.") % {"url": url})
    return data


def dpop_post(
    url: str, form: dict[str, str], key_json: str, nonce: str
) -> tuple[dict[str, Any], str]:
    """POST a form to the authorization server with a DPoP proof; asks again once with the
    server's nonce. Returns (JSON answer, newest nonce)."""
    try:
        with _http() as http:
            for _attempt in range(2):
                response = http.post(
                    url, data=form, headers={"DPoP": dpop_proof(key_json, "POST", url, nonce=nonce)}
                )
                nonce = response.headers.get("DPoP-Nonce", nonce)
                if not needs_nonce(response):
                    break
    except httpx.HTTPError as exc:
        raise OAuthError(_("Could not reach the Bluesky sign-in server.")) from exc
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code not in (200, 201) or not isinstance(data, dict):
        detail = (
            data.get("error_description") or data.get("error") if isinstance(data, dict) else ""
        )
        raise OAuthError(
            _("The Bluesky sign-in server refused the request (%(status)s %(detail)s).")
            % {"status": response.status_code, "detail": detail or ""}
        )
    return data, nonce


# --- resolution ---------------------------------------------------------------------------------


def resolve_handle(handle: str, service: str = "") -> str:
    """A handle's DID: HTTPS well-known first (DNS TXT is not reachable here), then the PDS."""
    handle = handle.strip().lstrip("@").lower()
    if DID_SYNTAX.match(handle):
        return handle
    if not HANDLE_SYNTAX.match(handle):
        # Checked before any request: the handle becomes a host name Greenroom fetches from.
        raise OAuthError(
            _("%(handle)s is not a Bluesky handle (like name.bsky.social).") % {"handle": handle}
        )
    try:
        with _http() as http:
            response = http.get(f"https://{handle}/.well-known/atproto-did")
        did = response.text.strip()
        if response.status_code == 200 and did.startswith("did:"):
            return did
    except httpx.HTTPError:
        pass
    if service:
        data = _get_json(
            f"{service.rstrip('/')}/xrpc/com.atproto.identity.resolveHandle?"
            + urlencode({"handle": handle}),
            _("resolving the handle"),
        )
        did = str(data.get("did", ""))
        if did.startswith("did:"):
            return did
    raise OAuthError(_("No Bluesky account has the handle %(handle)s.") % {"handle": handle})


def resolve_did(did: str) -> dict[str, Any]:
    if did.startswith("did:plc:"):
        return _get_json(f"{plc_url()}/{did}", _("reading the account's DID document"))
    if did.startswith("did:web:"):
        host = did.removeprefix("did:web:")
        if ":" in host:
            raise OAuthError(_("did:web with a path is not supported."))
        return _get_json(f"https://{host}/.well-known/did.json", _("reading the DID document"))
    raise OAuthError(_("%(did)s is not a DID Greenroom can resolve.") % {"did": did})


def pds_of(doc: dict[str, Any]) -> str:
    for service in doc.get("service", []) or []:
        if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds"):
            return str(service.get("serviceEndpoint", "")).rstrip("/")
    raise OAuthError(_("The account's DID document names no PDS."))


def authorization_server(pds: str) -> dict[str, Any]:
    """The PDS's authorization server metadata (its issuer must be the URL it came from)."""
    resource = _get_json(
        f"{pds}/.well-known/oauth-protected-resource", _("finding the sign-in server")
    )
    servers = resource.get("authorization_servers") or []
    if not servers:
        raise OAuthError(_("The account's PDS names no sign-in server."))
    issuer = str(servers[0]).rstrip("/")
    meta = _get_json(
        f"{issuer}/.well-known/oauth-authorization-server", _("reading the sign-in server")
    )
    if str(meta.get("issuer", "")).rstrip("/") != issuer:
        raise OAuthError(_("The sign-in server's metadata names another issuer."))
    for field in (
        "authorization_endpoint",
        "token_endpoint",
        "pushed_authorization_request_endpoint",
    ):
        if not meta.get(field):
            raise OAuthError(_("The sign-in server does not offer %(field)s.") % {"field": field})
    return meta


# --- the flow -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingAuthorization:
    """Between the redirect to Bluesky and the callback (kept sealed in the Django session)."""

    channel_id: int
    state: str
    verifier: str
    dpop_key: str
    dpop_nonce: str
    did: str
    handle: str
    pds: str
    issuer: str
    token_endpoint: str

    def seal(self) -> str:
        return vault.seal(json.dumps(asdict(self))).decode()

    @classmethod
    def unseal(cls, value: str) -> PendingAuthorization:
        data = json.loads(vault.unseal(value.encode(), name="bluesky oauth"))
        return cls(**data)


@dataclass(frozen=True)
class OAuthTokens:
    access_token: str
    refresh_token: str
    expires_at: float
    dpop_nonce: str
    scope: str


def start(channel_id: int, identifier: str, service: str = "") -> tuple[str, PendingAuthorization]:
    """Resolve the account, push the authorization request, and return where to send the user."""
    did = resolve_handle(identifier, service)
    doc = resolve_did(did)
    handle = identifier.strip().lstrip("@").lower()
    if not handle.startswith("did:") and f"at://{handle}" not in doc.get("alsoKnownAs", []):
        # Resolution must agree both ways, or anyone's handle could point at someone else's DID.
        raise OAuthError(
            _("The account %(did)s does not claim the handle %(handle)s.")
            % {"did": did, "handle": handle}
        )
    pds = pds_of(doc)
    meta = authorization_server(pds)
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(24)
    key = new_dpop_key()
    form = {
        "client_id": client_id(),
        "response_type": "code",
        "redirect_uri": redirect_uri(),
        "scope": SCOPE,
        "state": state,
        "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
        "login_hint": handle,
    }
    par, nonce = dpop_post(str(meta["pushed_authorization_request_endpoint"]), form, key, "")
    request_uri = str(par.get("request_uri", ""))
    if not request_uri:
        raise OAuthError(_("The sign-in server did not accept the request."))
    pending = PendingAuthorization(
        channel_id=channel_id,
        state=state,
        verifier=verifier,
        dpop_key=key,
        dpop_nonce=nonce,
        did=did,
        handle=handle,
        pds=pds,
        issuer=str(meta["issuer"]).rstrip("/"),
        token_endpoint=str(meta["token_endpoint"]),
    )
    url = (
        str(meta["authorization_endpoint"])
        + "?"
        + urlencode({"client_id": client_id(), "request_uri": request_uri})
    )
    return url, pending


def _tokens(data: dict[str, Any], nonce: str, did: str) -> OAuthTokens:
    if str(data.get("token_type", "")).lower() != "dpop":
        raise OAuthError(_("The sign-in server did not issue a DPoP-bound token."))
    if data.get("sub") != did:
        raise OAuthError(
            _("Bluesky signed in another account than %(did)s. Sign in as the channel's account.")
            % {"did": did}
        )
    scope = str(data.get("scope", ""))
    if "atproto" not in scope.split():
        raise OAuthError(_("The sign-in server did not grant the atproto scope."))
    access, refresh = str(data.get("access_token", "")), str(data.get("refresh_token", ""))
    if not access:
        raise OAuthError(_("The sign-in server issued no access token."))
    vault.remember_plaintext(access)
    if refresh:
        vault.remember_plaintext(refresh)
    return OAuthTokens(
        access_token=access,
        refresh_token=refresh,
        expires_at=time.time() + float(data.get("expires_in", 0) or 0),
        dpop_nonce=nonce,
        scope=scope,
    )


def finish(pending: PendingAuthorization, params: dict[str, str]) -> OAuthTokens:
    """Check the callback (state, iss) and exchange the code for DPoP-bound tokens."""
    if not secrets.compare_digest(params.get("state", ""), pending.state):
        raise OAuthError(_("The sign-in answer does not belong to this request. Start again."))
    if params.get("error"):
        raise OAuthError(
            _("Bluesky did not grant access (%(error)s).")
            % {"error": params.get("error_description") or params["error"]}
        )
    if params.get("iss", "").rstrip("/") != pending.issuer:
        raise OAuthError(
            _("The sign-in answer came from another server than expected. Start again.")
        )
    code = params.get("code", "")
    if not code:
        raise OAuthError(_("The sign-in answer carries no code. Start again."))
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(),
        "client_id": client_id(),
        "code_verifier": pending.verifier,
    }
    data, nonce = dpop_post(pending.token_endpoint, form, pending.dpop_key, pending.dpop_nonce)
    return _tokens(data, nonce, pending.did)


def refresh(
    *, token_endpoint: str, refresh_token: str, dpop_key: str, dpop_nonce: str, did: str
) -> OAuthTokens:
    """New tokens from the refresh token (it is single-use: the answer carries the next one)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id()}
    data, nonce = dpop_post(token_endpoint, form, dpop_key, dpop_nonce)
    return _tokens(data, nonce, did)
