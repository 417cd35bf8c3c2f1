"""Connecting a channel to its Bluesky account."""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from greenroom.core import vault
from greenroom.core.actions import ActionError, do_set_channel_credentials, do_update_channel
from greenroom.core.models import Channel, ChannelStatus, User
from greenroom.networks.base import ConnectorError
from greenroom.networks.bluesky import session as bsky_session
from greenroom.networks.bluesky.oauth import OAuthTokens, PendingAuthorization
from greenroom.networks.connections.actions import do_record_connection

# Bluesky's app passwords look like abcd-efgh-ijkl-mnop; an account password does not.
APP_PASSWORD = re.compile(r"^[a-z0-9]{4}(-[a-z0-9]{4}){3}$")


def do_connect_bluesky_channel(
    channel: Channel,
    *,
    identifier: str,
    app_password: str,
    service_url: str = bsky_session.DEFAULT_SERVICE,
    acting_user: User | None,
    require_app_password: bool = True,
) -> Channel:
    """Sign in to Bluesky as the channel's account with an app password and keep the login in
    the vault (the password is never shown again).

    The account password is refused: an app password can be revoked in Bluesky on its own and
    cannot change the account's email or password. `require_app_password=False` is for test
    servers only. Raises ActionError with what to fix.
    """
    if channel.kind != "bluesky" or channel.sandboxed:
        raise ActionError(_("%(channel)s is not a Bluesky channel.") % {"channel": channel})
    identifier = identifier.strip().lstrip("@")
    app_password = app_password.strip()
    if require_app_password and not APP_PASSWORD.match(app_password):
        raise ActionError(
            _(
                "That is not a Bluesky app password (four groups of four letters or digits). "
                "Create one in Bluesky under Settings, Privacy and security, App passwords."
            )
        )
    vault.remember_plaintext(app_password)
    # Sign in before the transaction: a slow network must not hold the database.
    try:
        _client, login = bsky_session.sign_in(service_url, identifier, app_password)
    except ConnectorError as exc:
        raise ActionError(exc.message) from exc
    with transaction.atomic():
        do_set_channel_credentials(
            channel,
            token=login.encode(),
            expires_at=None,
            hint=vault.hint_for(app_password),
            acting_user=acting_user,
        )
        # Connecting again is how an owner answers "needs reconnecting".
        changes: dict[str, Any] = {"external_id": login.did}
        if channel.status == ChannelStatus.NEEDS_RECONNECT:
            changes["status"] = ChannelStatus.ACTIVE
        do_update_channel(channel, acting_user=acting_user, **changes)
        do_record_connection(
            channel,
            service_url=service_url,
            account_id=login.did,
            # App passwords grant everything but account settings and DMs.
            scopes=["app-password"],
            acting_user=acting_user,
        )
    return channel


def do_connect_bluesky_channel_oauth(
    channel: Channel,
    *,
    pending: PendingAuthorization,
    tokens: OAuthTokens,
    acting_user: User | None,
) -> Channel:
    """Keep an AT Protocol OAuth login (DPoP-bound tokens and the DPoP key) in the vault for
    the channel, after oauth.finish() checked state, iss and the token's DID.

    Raises ActionError when the channel is not a Bluesky channel or the flow began for another
    channel."""
    if channel.kind != "bluesky" or channel.sandboxed:
        raise ActionError(_("%(channel)s is not a Bluesky channel.") % {"channel": channel})
    if pending.channel_id != channel.pk:
        raise ActionError(_("This sign-in was started for another channel. Start again."))
    login = bsky_session.BlueskyLogin(
        service=pending.pds,
        identifier=pending.handle,
        app_password="",
        did=pending.did,
        handle=pending.handle,
        auth=bsky_session.OAUTH,
        dpop_key=pending.dpop_key,
        token_endpoint=pending.token_endpoint,
        issuer=pending.issuer,
    ).with_oauth_tokens(tokens)
    login.remember()
    with transaction.atomic():
        do_set_channel_credentials(
            channel, token=login.encode(), expires_at=None, hint="", acting_user=acting_user
        )
        changes: dict[str, Any] = {"external_id": login.did}
        if channel.status == ChannelStatus.NEEDS_RECONNECT:
            changes["status"] = ChannelStatus.ACTIVE
        do_update_channel(channel, acting_user=acting_user, **changes)
        do_record_connection(
            channel,
            service_url=pending.pds,
            account_id=login.did,
            scopes=tokens.scope.split(),
            acting_user=acting_user,
        )
    return channel
