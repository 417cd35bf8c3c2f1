"""OAuth 2 authorization code with PKCE (RFC 6749, RFC 7636), shared by every network that
connects this way (Mastodon here; X, Meta, LinkedIn, YouTube and TikTok can use it too).

A network package registers a `Provider`: how to build its `OAuthClient` for a channel (endpoints,
app credentials from the vault, scopes) and what to do with the tokens it is granted (store them
with do_set_channel_credentials). The flow:

1. `begin(request, channel, network=...)` makes a state and a PKCE verifier, keeps both in the
   person's session (never in a URL: the verifier proves that the code comes back to whoever began)
   and returns the network's authorization URL to redirect to.
   `connect_start` (/hooks/<network>/connect/<channel id>/) does this for networks whose
   connect needs nothing but a click.
2. The network sends the person back to `connect_callback` (/hooks/<network>/oauth/callback/),
   which checks the state against the session (once only, ten minutes at most), trades the code
   and the verifier for tokens (`exchange_code`) and hands them to the provider's `connected`.

`refresh()` trades a refresh token for new tokens; connectors call it from `refresh_token()`.

A provider is found by network kind: registered with `register_provider(...)`, or as the `oauth`
attribute of the network's connector class.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

import httpx
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from greenroom.core import vault
from greenroom.networks.base import ConnectorError, TokenSet

if TYPE_CHECKING:
    from greenroom.core.models import Channel, User

logger = logging.getLogger(__name__)

SESSION_KEY = "greenroom_oauth_pending"
PENDING_TTL_S = 600
TIMEOUT_S = 15.0


@dataclass(frozen=True)
class OAuthClient:
    """One network's OAuth 2 endpoints and the app credentials an admin registered there."""

    network: str
    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str = ""
    scopes: tuple[str, ...] = ()
    pkce: bool = True
    scope_separator: str = " "
    # "body": client_id/client_secret in the form; "basic": HTTP Basic auth (RFC 6749 2.3.1).
    client_auth: str = "body"
    extra_authorize_params: Mapping[str, str] = field(default_factory=dict)
    # TikTok names the client "client_key" and wants the PKCE challenge as hex SHA-256.
    client_id_name: str = "client_id"
    challenge_hex: bool = False


@dataclass(frozen=True)
class Grant:
    """What the token endpoint answered: the tokens and the scopes actually granted."""

    tokens: TokenSet
    scopes: tuple[str, ...]
    # The answer without the tokens (some networks add the account id here).
    extra: dict[str, Any] = field(default_factory=dict)


class Provider(Protocol):
    network: str

    def client_for(self, channel: Channel, context: Mapping[str, str]) -> OAuthClient:
        """The OAuth client to connect this channel with (raise ConnectorError if unset).

        `context` is what the network's own connect page passed to `begin` (a Mastodon
        instance URL, say); empty for a plain `connect_start`."""

    def connected(
        self, channel: Channel, grant: Grant, *, context: Mapping[str, str], acting_user: User
    ) -> None:
        """Store the granted tokens (vault) and whatever else the network needs."""


_providers: dict[str, Provider] = {}


def register_provider(provider: Provider) -> Provider:
    _providers[provider.network] = provider
    return provider


def provider_for(network: str) -> Provider:
    from greenroom.networks import registry

    provider = _providers.get(network)
    if provider is None:
        # Network packages may also hang their provider on the connector class.
        provider = getattr(registry._registry.get(network), "oauth", None)
    if provider is not None:
        return provider
    raise ConnectorError(
        _("Greenroom cannot connect %(network)s accounts with OAuth.") % {"network": network},
        permanent=True,
        code="no_oauth",
    )


# --- the protocol --------------------------------------------------------------------------------


def new_pkce() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    client: OAuthClient, *, redirect_uri: str, state: str, code_challenge: str | None
) -> str:
    params = {
        "response_type": "code",
        client.client_id_name: client.client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if client.scopes:
        params["scope"] = client.scope_separator.join(client.scopes)
    if client.pkce and code_challenge:
        params["code_challenge"] = code_challenge
        params["code_challenge_method"] = "S256"
    params.update(client.extra_authorize_params)
    separator = "&" if "?" in client.authorize_url else "?"
    return f"{client.authorize_url}{separator}{urlencode(params)}"


def exchange_code(
    client: OAuthClient, *, code: str, redirect_uri: str, code_verifier: str | None
) -> Grant:
    """Trade an authorization code for tokens."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if client.pkce and code_verifier:
        form["code_verifier"] = code_verifier
    return _token_request(client, form)


def refresh(client: OAuthClient, refresh_token: str) -> Grant:
    """Trade a refresh token for new tokens (the old refresh token stays if none is returned)."""
    grant = _token_request(client, {"grant_type": "refresh_token", "refresh_token": refresh_token})
    if grant.tokens.refresh_token is None:
        tokens = TokenSet(grant.tokens.access_token, refresh_token, grant.tokens.expires_at)
        return Grant(tokens=tokens, scopes=grant.scopes, extra=grant.extra)
    return grant


def _token_request(client: OAuthClient, form: dict[str, str]) -> Grant:
    auth: tuple[str, str] | None = None
    if client.client_auth == "basic":
        auth = (client.client_id, client.client_secret)
    else:
        form = {**form, client.client_id_name: client.client_id}
        if client.client_secret:
            form["client_secret"] = client.client_secret
    try:
        response = httpx.post(
            client.token_url,
            data=form,
            auth=auth,
            timeout=TIMEOUT_S,
            headers={"Accept": "application/json"},
        )
    except httpx.HTTPError as exc:
        raise ConnectorError(
            _("Could not reach %(network)s to finish connecting (%(error)s). Try again.")
            % {"network": client.network, "error": type(exc).__name__},
            code="unreachable",
        ) from exc
    try:
        data = response.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if response.status_code != 200 or not isinstance(data.get("access_token"), str):
        error = str(data.get("error") or f"http_{response.status_code}")
        temporary = response.status_code >= 500 or response.status_code == 429
        raise ConnectorError(
            _(
                "%(network)s refused to grant access (%(error)s). Connect the channel again, "
                "and check the app's client id, secret and redirect URL if it keeps failing."
            )
            % {"network": client.network, "error": error},
            permanent=not temporary,
            code=error,
        )
    access = data["access_token"]
    refresh_token = data.get("refresh_token")
    vault.remember_plaintext(access)
    if isinstance(refresh_token, str):
        vault.remember_plaintext(refresh_token)
    expires_at = None
    expires_in = data.get("expires_in")
    if isinstance(expires_in, int | float) and expires_in > 0:
        expires_at = timezone.now() + timedelta(seconds=float(expires_in))
    raw_scope = data.get("scope")
    if isinstance(raw_scope, str):
        scopes = tuple(s for s in raw_scope.replace(",", " ").split() if s)
    else:
        scopes = client.scopes
    extra = {
        k: v for k, v in data.items() if k not in ("access_token", "refresh_token", "id_token")
    }
    return Grant(
        tokens=TokenSet(
            access_token=access,
            refresh_token=refresh_token if isinstance(refresh_token, str) else None,
            expires_at=expires_at,
        ),
        scopes=scopes,
        extra=extra,
    )


# --- the flow in the browser ------------------------------------------------------------------


def callback_url(request: HttpRequest, network: str) -> str:
    """The redirect URL to register with the network's app (one per network)."""
    return request.build_absolute_uri(reverse("hooks:oauth_callback", args=[network]))


def begin(
    request: HttpRequest,
    channel: Channel,
    *,
    network: str,
    redirect_uri: str | None = None,
    next_url: str = "",
    context: Mapping[str, str] | None = None,
) -> str:
    """Remember a new state and PKCE verifier in the session; return the URL to redirect to."""
    context = dict(context or {})
    client = provider_for(network).client_for(channel, context)
    state = secrets.token_urlsafe(24)
    verifier, challenge = new_pkce()
    if client.challenge_hex:
        challenge = hashlib.sha256(verifier.encode("ascii")).hexdigest()
    redirect_uri = redirect_uri or callback_url(request, network)
    pending: dict[str, Any] = dict(request.session.get(SESSION_KEY, {}))
    now = time.time()
    # Forget abandoned attempts so the session does not grow.
    pending = {k: v for k, v in pending.items() if now - v.get("started", 0) < PENDING_TTL_S}
    pending[state] = {
        "network": network,
        "channel": channel.pk,
        "verifier": verifier if client.pkce else "",
        "redirect_uri": redirect_uri,
        "next": next_url or reverse("channel_detail", args=[channel.pk]),
        "context": context,
        "started": now,
    }
    request.session[SESSION_KEY] = pending
    return authorization_url(
        client, redirect_uri=redirect_uri, state=state, code_challenge=challenge
    )


@login_required
def connect_start(request: HttpRequest, network: str, channel_id: int) -> HttpResponse:
    """Send the person to the network to allow Greenroom access to the channel's account."""
    from greenroom.core.models import Channel

    channel = get_object_or_404(Channel.objects.restrict(request.user, "administer"), pk=channel_id)
    try:
        return redirect(begin(request, channel, network=network))
    except ConnectorError as exc:
        messages.error(request, exc.message)
        return redirect("channel_detail", channel.pk)


@login_required
def connect_callback(request: HttpRequest, network: str) -> HttpResponse:
    """Where networks send people back after they allowed (or refused) access."""
    from greenroom.core.models import Channel

    state = request.GET.get("state", "")
    pending: dict[str, Any] = dict(request.session.get(SESSION_KEY, {}))
    attempt = pending.pop(state, None) if state else None
    request.session[SESSION_KEY] = pending
    if (
        attempt is None
        or attempt.get("network") != network
        or time.time() - attempt.get("started", 0) > PENDING_TTL_S
    ):
        messages.error(
            request,
            _("This sign-in link has expired or was already used. Start connecting again."),
        )
        return redirect("governance")
    channel = get_object_or_404(
        Channel.objects.restrict(request.user, "administer"), pk=attempt["channel"]
    )
    next_url = str(attempt.get("next") or "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("channel_detail", args=[channel.pk])
    if request.GET.get("error"):
        messages.error(
            request,
            _("%(network)s did not grant access (%(error)s). Nothing was changed.")
            % {"network": attempt["network"], "error": request.GET.get("error", "")[:100]},
        )
        return redirect(next_url)
    provider = provider_for(attempt["network"])
    context = dict(attempt.get("context") or {})
    try:
        grant = exchange_code(
            provider.client_for(channel, context),
            code=request.GET.get("code", ""),
            redirect_uri=attempt["redirect_uri"],
            code_verifier=attempt.get("verifier") or None,
        )
        user = request.user
        assert user.is_authenticated
        provider.connected(channel, grant, context=context, acting_user=user)
    except ConnectorError as exc:
        logger.warning("oauth connect failed channel=%s code=%s", channel.pk, exc.code)
        messages.error(request, exc.message)
        return redirect(next_url)
    messages.success(request, _("%(channel)s is connected.") % {"channel": channel})
    return redirect(next_url)
