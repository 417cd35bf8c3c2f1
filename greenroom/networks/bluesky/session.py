"""A channel's Bluesky login: what the vault holds, and an atproto client signed in with it.

The vault value is JSON: the PDS URL, the account's identifier and app password (so Greenroom can
sign in again when the refresh token has expired), the DID and handle, and the current session
tokens (access JWT, about two hours; refresh JWT, about two months). The atproto SDK refreshes
the session when the access JWT nears expiry; each new session goes back into the vault.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from atproto import Client, Session, SessionEvent
from atproto_client.request import Request
from django.conf import settings
from django.utils.translation import gettext as _

from greenroom.core import vault
from greenroom.networks.base import ConnectorError

if TYPE_CHECKING:
    from greenroom.core.models import Channel

logger = logging.getLogger(__name__)

DEFAULT_SERVICE = "https://bsky.social"


@dataclass(frozen=True)
class BlueskyLogin:
    service: str
    identifier: str
    app_password: str
    did: str = ""
    handle: str = ""
    access_jwt: str = ""
    refresh_jwt: str = ""

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
        for value in (self.app_password, self.access_jwt, self.refresh_jwt):
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
        return jwt_expiry(self.refresh_jwt)


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


def client_for(channel: Channel, *, resume: bool = True) -> tuple[Client, BlueskyLogin]:
    """An atproto client signed in as the channel's account; refreshed sessions are stored.

    `resume=False` skips the stored session and signs in afresh with the app password (after
    the PDS refused the session)."""
    from greenroom.networks.bluesky.errors import connector_error

    if channel.credentials is None:
        raise ConnectorError(
            _("%(channel)s has no Bluesky login. Connect the channel with an app password.")
            % {"channel": channel},
            permanent=True,
            code="no_credentials",
        )
    login = BlueskyLogin.decode(vault.reveal(channel.credentials))
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
