"""Connecting a channel to its Mastodon account: the app on its server, then OAuth."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils.translation import gettext as _
from mastodon import Mastodon

from greenroom.core import vault
from greenroom.core.actions import (
    ActionError,
    do_set_channel_credentials,
    do_store_secret,
    do_update_channel,
)
from greenroom.core.models import Channel, ChannelStatus, Organization, Secret, User
from greenroom.networks.base import TokenSet
from greenroom.networks.connections.actions import do_record_connection
from greenroom.networks.mastodon import instance as mastodon_instance
from greenroom.networks.mastodon.connector import MastodonLogin
from greenroom.networks.mastodon.errors import connector_error

SCOPES = ("read", "write")
APP_NAME = "Greenroom"


@dataclass(frozen=True)
class MastodonApp:
    """The OAuth app Greenroom registered on one Mastodon server for one organisation."""

    instance: str
    client_id: str
    client_secret: str
    redirect_uri: str


def app_secret_name(instance: str) -> str:
    return f"mastodon-app:{urlsplit(instance).netloc}"


def stored_app(org: Organization, instance: str) -> MastodonApp | None:
    secret = Secret.objects.filter(organization=org, name=app_secret_name(instance)).first()
    if secret is None:
        return None
    try:
        data = json.loads(vault.reveal(secret))
        app = MastodonApp(**data)
    except (ValueError, TypeError):
        return None
    vault.remember_plaintext(app.client_secret)
    return app


def do_register_mastodon_app(
    org: Organization, *, instance_url: str, redirect_uri: str, acting_user: User | None
) -> MastodonApp:
    """Register Greenroom as an app on the server (POST /api/v1/apps) once per organisation and
    redirect URL; the client secret goes to the vault."""
    try:
        instance = mastodon_instance.normalize(instance_url)
    except ValueError:
        raise ActionError(
            _("%(url)s is not a server address (e.g. mastodon.social).") % {"url": instance_url}
        ) from None
    existing = stored_app(org, instance)
    if existing is not None and existing.redirect_uri == redirect_uri:
        return existing
    try:
        client_id, client_secret = Mastodon.create_app(
            APP_NAME,
            scopes=list(SCOPES),
            redirect_uris=redirect_uri,
            website="https://github.com/greenroom",
            api_base_url=instance,
            request_timeout=20,
            user_agent=mastodon_instance.USER_AGENT,
        )
    except Exception as exc:
        error = connector_error(exc, during=_("registering Greenroom on the server"), write=False)
        raise ActionError(error.message) from exc
    app = MastodonApp(instance, str(client_id), str(client_secret), redirect_uri)
    vault.remember_plaintext(app.client_secret)
    do_store_secret(
        org,
        name=app_secret_name(instance),
        value=json.dumps(app.__dict__),
        hint=vault.hint_for(app.client_id),
        acting_user=acting_user,
    )
    return app


def do_connect_mastodon_channel(
    channel: Channel,
    *,
    instance_url: str,
    tokens: TokenSet,
    scopes: Sequence[str] = SCOPES,
    acting_user: User | None,
) -> Channel:
    """Keep a granted access token for the channel (vault), after checking whose account it is.

    Called by the OAuth callback; raises ActionError when the server refuses the token.
    """
    if channel.kind != "mastodon" or channel.sandboxed:
        raise ActionError(_("%(channel)s is not a Mastodon channel.") % {"channel": channel})
    instance = mastodon_instance.normalize(instance_url)
    vault.remember_plaintext(tokens.access_token)
    try:
        me = mastodon_instance.api(instance, tokens.access_token).account_verify_credentials()
    except Exception as exc:
        error = connector_error(exc, during=_("checking the account"), write=False)
        raise ActionError(error.message) from exc
    login = MastodonLogin(
        instance=instance,
        access_token=tokens.access_token,
        account_id=str(me["id"]),
        acct=str(me["acct"]),
        refresh_token=tokens.refresh_token or "",
        expires_at=tokens.expires_at.isoformat() if tokens.expires_at else "",
    )
    with transaction.atomic():
        do_set_channel_credentials(
            channel,
            token=login.encode(),
            expires_at=tokens.expires_at,
            hint=vault.hint_for(tokens.access_token),
            acting_user=acting_user,
        )
        # Connecting again is how an owner answers "needs reconnecting".
        changes: dict[str, Any] = {"external_id": login.account_id}
        if channel.status == ChannelStatus.NEEDS_RECONNECT:
            changes["status"] = ChannelStatus.ACTIVE
        do_update_channel(channel, acting_user=acting_user, **changes)
        do_record_connection(
            channel,
            service_url=instance,
            account_id=login.account_id,
            scopes=list(scopes),
            acting_user=acting_user,
        )
    return channel
