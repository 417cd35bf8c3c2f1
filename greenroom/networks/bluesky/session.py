"""A channel's Bluesky login: what the vault holds, and an atproto client signed in with it.

The vault value is JSON: the PDS URL, the account's identifier and app password (so Greenroom can
sign in again when the refresh token has expired), the DID and handle, and the current session
tokens (access JWT, about two hours; refresh JWT, about two months). The atproto SDK refreshes
the session when the access JWT nears expiry; each new session goes back into the vault.

A channel connected with AT Protocol OAuth (`auth == "oauth"`, see oauth.py) keeps the same
record with no app password: the access and refresh tokens in access_jwt/refresh_jwt, the DPoP
private key, the token endpoint and its last DPoP nonce. Its PDS calls go through
`DPoPRequest`, which sends `Authorization: DPoP <token>` with a fresh proof per request.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from atproto import Client, Session, SessionEvent
from atproto_client.request import Request, _handle_request_errors, _handle_response
from django.conf import settings
from django.utils.translation import gettext as _

from greenroom.core import vault
from greenroom.networks.base import ConnectorError

if TYPE_CHECKING:
    import httpx

    from greenroom.core.models import Channel
    from greenroom.networks.bluesky.oauth import OAuthTokens

logger = logging.getLogger(__name__)

DEFAULT_SERVICE = "https://bsky.social"
APP_PASSWORD = "app_password"
OAUTH = "oauth"
# Refresh an OAuth access token this long before it expires.
OAUTH_REFRESH_MARGIN_S = 60


@dataclass(frozen=True)
class BlueskyLogin:
    service: str
    identifier: str
    app_password: str
    did: str = ""
    handle: str = ""
    access_jwt: str = ""
    refresh_jwt: str = ""
    auth: str = APP_PASSWORD
    dpop_key: str = ""
    token_endpoint: str = ""
    issuer: str = ""
    dpop_nonce: str = ""
    access_expires_at: str = ""

    @property
    def is_oauth(self) -> bool:
        return self.auth == OAUTH

    def encode(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def decode(cls, value: str) -> BlueskyLogin:
        try:
            data = json.loads(value)
            login = cls(**{k: str(v) for k, v in data.items() if k in cls.__dataclass_fields__})
        except (ValueError, TypeError) as exc:
            raise ConnectorError(
                _("The stored Bluesky login cannot be read. Connect the channel again."),
                permanent=True,
                code="bad_credentials",
            ) from exc
        login.remember()
        return login

    def remember(self) -> None:
        """Let the log filter redact every secret part on its own, not only the JSON."""
        for value in (self.app_password, self.access_jwt, self.refresh_jwt, self.dpop_key):
            if value:
                vault.remember_plaintext(value)

    def with_session(self, session: Session) -> BlueskyLogin:
        return replace(
            self,
            did=session.did,
            handle=session.handle,
            access_jwt=session.access_jwt,
            refresh_jwt=session.refresh_jwt,
        )

    @property
    def refresh_expires_at(self) -> datetime | None:
        if self.is_oauth:
            return None  # opaque to the client
        return jwt_expiry(self.refresh_jwt)

    def with_oauth_tokens(self, tokens: OAuthTokens) -> BlueskyLogin:
        return replace(
            self,
            access_jwt=tokens.access_token,
            refresh_jwt=tokens.refresh_token or self.refresh_jwt,
            dpop_nonce=tokens.dpop_nonce,
            access_expires_at=str(int(tokens.expires_at)),
        )

    @property
    def oauth_access_expired(self) -> bool:
        try:
            expires = float(self.access_expires_at)
        except ValueError:
            return False
        return expires - OAUTH_REFRESH_MARGIN_S <= time.time()


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` of a JWT, read without checking its signature (only to plan a refresh)."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(data["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def new_client(service: str) -> Client:
    return Client(
        base_url=service.rstrip("/"),
        request=Request(timeout=settings.NETWORK_CLIENT_TIMEOUT_S),
    )


def sign_in(service: str, identifier: str, app_password: str) -> tuple[Client, BlueskyLogin]:
    """Create a session with an app password (used when connecting, and when a session died)."""
    from greenroom.networks.bluesky.errors import connector_error

    login = BlueskyLogin(service=service, identifier=identifier, app_password=app_password)
    login.remember()
    client = new_client(service)
    try:
        client.login(identifier, app_password, fetch_bsky_profile=False)
    except Exception as exc:
        raise connector_error(exc, during=_("signing in to Bluesky"), write=False) from exc
    session = _session_of(client)
    login = login.with_session(session)
    login.remember()
    return client, login


def _session_of(client: Client) -> Session:
    session = client._session
    if session is None:  # pragma: no cover - login() always sets it
        raise ConnectorError(_("Bluesky did not open a session."), code="no_session")
    return session


class DPoPRequest(Request):
    """The SDK's HTTP layer for an OAuth channel: each PDS call carries `Authorization: DPoP`
    and a proof bound to the method, URL and access token; `use_dpop_nonce` is retried once."""

    def __init__(self, login: BlueskyLogin, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.login = login
        self.nonce = ""

    def _new_instance(self) -> DPoPRequest:
        return type(self)(self.login, **self._client_kwargs)

    def _send_request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        from greenroom.networks.bluesky.oauth import dpop_proof, needs_nonce

        base = self.get_headers(kwargs.pop("headers", None))
        base.pop("Authorization", None)
        token = self.login.access_jwt
        try:
            for _attempt in range(2):
                headers = {
                    **base,
                    "Authorization": f"DPoP {token}",
                    "DPoP": dpop_proof(
                        self.login.dpop_key, method, url, nonce=self.nonce, access_token=token
                    ),
                }
                response = self._client.request(method=method, url=url, headers=headers, **kwargs)
                self.nonce = response.headers.get("DPoP-Nonce", self.nonce)
                if not needs_nonce(response):
                    break
            handled: httpx.Response = _handle_response(response)
            return handled
        except Exception as e:
            _handle_request_errors(e)
            raise


def refresh_oauth(channel: Channel, login: BlueskyLogin) -> BlueskyLogin:
    """Renew an OAuth channel's tokens with DPoP and store them (the refresh token is single-use,
    so the new one must reach the vault before anything else happens)."""
    from greenroom.core.actions import do_set_channel_credentials
    from greenroom.networks.bluesky.oauth import OAuthError, refresh

    try:
        tokens = refresh(
            token_endpoint=login.token_endpoint,
            refresh_token=login.refresh_jwt,
            dpop_key=login.dpop_key,
            dpop_nonce=login.dpop_nonce,
            did=login.did,
        )
    except OAuthError as exc:
        raise ConnectorError(
            _("Bluesky refused to renew the sign-in (%(why)s). Connect the channel again.")
            % {"why": exc.message},
            permanent=True,
            code="bad_credentials",
        ) from exc
    fresh = login.with_oauth_tokens(tokens)
    fresh.remember()
    do_set_channel_credentials(
        channel, token=fresh.encode(), expires_at=None, hint="", acting_user=None
    )
    logger.info("bluesky oauth tokens refreshed channel=%s", channel.pk)
    return fresh


def oauth_client(login: BlueskyLogin) -> Client:
    return Client(
        base_url=login.service.rstrip("/"),
        request=DPoPRequest(login, timeout=settings.NETWORK_CLIENT_TIMEOUT_S),
    )


def client_for(channel: Channel, *, resume: bool = True) -> tuple[Client, BlueskyLogin]:
    """An atproto client signed in as the channel's account; refreshed sessions are stored.

    `resume=False` skips the stored session and signs in afresh with the app password (after
    the PDS refused the session); an OAuth channel renews its tokens instead."""
    from greenroom.networks.bluesky.errors import connector_error

    if channel.credentials is None:
        raise ConnectorError(
            _("%(channel)s has no Bluesky login. Connect the channel with an app password.")
            % {"channel": channel},
            permanent=True,
            code="no_credentials",
        )
    login = BlueskyLogin.decode(vault.reveal(channel.credentials))
    if login.is_oauth:
        if not resume or login.oauth_access_expired:
            login = refresh_oauth(channel, login)
        return oauth_client(login), login
    client = new_client(login.service)
    client.on_session_change(lambda event, session: _store(channel, login, event, session))
    if resume and login.access_jwt and login.refresh_jwt:
        session = Session(
            handle=login.handle,
            did=login.did,
            access_jwt=login.access_jwt,
            refresh_jwt=login.refresh_jwt,
            pds_endpoint=login.service,
        )
        try:
            client.login(session_string=session.encode(), fetch_bsky_profile=False)
            return client, login
        except Exception as exc:
            # An expired or revoked refresh token: sign in again with the app password below.
            logger.info(
                "bluesky session could not be resumed channel=%s error=%s",
                channel.pk,
                type(exc).__name__,
            )
    try:
        client.login(login.identifier, login.app_password, fetch_bsky_profile=False)
    except Exception as exc:
        raise connector_error(exc, during=_("signing in to Bluesky"), write=False) from exc
    return client, login.with_session(_session_of(client))


def _store(channel: Channel, login: BlueskyLogin, event: SessionEvent, session: Session) -> None:
    if event not in (SessionEvent.CREATE, SessionEvent.REFRESH):
        return
    from greenroom.core.actions import do_set_channel_credentials

    fresh = login.with_session(session)
    fresh.remember()
    do_set_channel_credentials(
        channel,
        token=fresh.encode(),
        expires_at=None,  # an app password does not expire; sessions are renewed from it
        hint=vault.hint_for(fresh.app_password),
        acting_user=None,
    )
    logger.info("bluesky session %s channel=%s", event.value, channel.pk)


def raw(model: Any) -> dict[str, Any]:
    """An SDK model as plain JSON (for InboundItem.raw)."""
    data = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data if isinstance(data, dict) else {}
