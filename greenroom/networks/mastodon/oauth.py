"""Mastodon's side of the shared OAuth 2 + PKCE flow (greenroom.networks.oauth)."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.translation import gettext as _

from greenroom.core.actions import ActionError
from greenroom.core.models import Channel, User
from greenroom.networks import oauth
from greenroom.networks.base import ConnectorError
from greenroom.networks.mastodon.actions import SCOPES, do_connect_mastodon_channel, stored_app


class MastodonOAuth:
    network = "mastodon"

    def client_for(self, channel: Channel, context: Mapping[str, str]) -> oauth.OAuthClient:
        instance = context.get("instance", "")
        app = stored_app(channel.organization, instance) if instance else None
        if app is None:
            raise ConnectorError(
                _("Greenroom is not registered on this Mastodon server yet. Start again."),
                permanent=True,
                code="no_app",
            )
        return oauth.OAuthClient(
            network="Mastodon",
            authorize_url=f"{app.instance}/oauth/authorize",
            token_url=f"{app.instance}/oauth/token",
            client_id=app.client_id,
            client_secret=app.client_secret,
            scopes=SCOPES,
        )

    def connected(
        self,
        channel: Channel,
        grant: oauth.Grant,
        *,
        context: Mapping[str, str],
        acting_user: User,
    ) -> None:
        try:
            do_connect_mastodon_channel(
                channel,
                instance_url=context["instance"],
                tokens=grant.tokens,
                scopes=grant.scopes,
                acting_user=acting_user,
            )
        except ActionError as exc:
            raise ConnectorError(str(exc), permanent=True, code="connect_failed") from exc


provider = oauth.register_provider(MastodonOAuth())
