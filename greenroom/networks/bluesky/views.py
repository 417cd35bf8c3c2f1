"""Connecting a Bluesky channel with an app password or with AT Protocol OAuth."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from greenroom.core.actions import ActionError
from greenroom.core.models import Channel
from greenroom.networks.bluesky import oauth
from greenroom.networks.bluesky.actions import (
    do_connect_bluesky_channel,
    do_connect_bluesky_channel_oauth,
)
from greenroom.networks.bluesky.forms import ConnectBlueskyForm, OAuthStartForm


@login_required
def connect(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(
        Channel.objects.restrict(request.user, "administer").filter(
            kind="bluesky", sandboxed=False
        ),
        pk=channel_id,
    )
    form = ConnectBlueskyForm(request.POST or None, initial={"identifier": channel.handle})
    oauth_form = OAuthStartForm(initial={"handle": channel.handle})
    if request.method == "POST" and form.is_valid():
        user = request.user
        assert user.is_authenticated
        try:
            do_connect_bluesky_channel(
                channel,
                identifier=form.cleaned_data["identifier"],
                app_password=form.cleaned_data["app_password"],
                service_url=form.cleaned_data["service_url"],
                acting_user=user,
            )
        except ActionError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("%(channel)s is connected.") % {"channel": channel})
            return redirect("channel_detail", pk=channel.pk)
    return render(
        request,
        "bluesky/connect.html",
        {"channel": channel, "form": form, "oauth_form": oauth_form},
    )


# --- AT Protocol OAuth ---------------------------------------------------------------------------

PENDING_KEY = "bluesky_oauth:"


def _administered(request: HttpRequest, channel_id: int) -> Channel:
    return get_object_or_404(
        Channel.objects.restrict(request.user, "administer").filter(
            kind="bluesky", sandboxed=False
        ),
        pk=channel_id,
    )


@require_GET
def oauth_client_metadata(request: HttpRequest) -> JsonResponse:
    """The client metadata document; its URL is Greenroom's client_id (public, no login)."""
    response = JsonResponse(oauth.client_metadata())
    response["Cache-Control"] = "public, max-age=300"
    return response


@login_required
@require_POST
def oauth_start(request: HttpRequest, channel_id: int) -> HttpResponse:
    """Resolve the account, push the authorization request and send the user to Bluesky."""
    channel = _administered(request, channel_id)
    form = OAuthStartForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the account's handle to sign in with Bluesky."))
        return redirect("bluesky:connect", channel_id=channel.pk)
    try:
        url, pending = oauth.start(
            channel.pk, form.cleaned_data["handle"], form.cleaned_data["service_url"]
        )
    except oauth.OAuthError as error:
        messages.error(request, error.message)
        return redirect("bluesky:connect", channel_id=channel.pk)
    request.session[PENDING_KEY + pending.state] = pending.seal()
    return redirect(url)


@login_required
@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    """Where Bluesky sends the user back: check state and iss, exchange the code, keep tokens."""
    state = request.GET.get("state", "")
    sealed = request.session.pop(PENDING_KEY + state, None) if state else None
    if not sealed:
        messages.error(
            request, _("The Bluesky sign-in answer does not match a sign-in started here.")
        )
        return redirect("governance")
    pending = oauth.PendingAuthorization.unseal(sealed)
    channel = _administered(request, pending.channel_id)
    user = request.user
    assert user.is_authenticated
    try:
        tokens = oauth.finish(pending, {k: str(v) for k, v in request.GET.items()})
        do_connect_bluesky_channel_oauth(channel, pending=pending, tokens=tokens, acting_user=user)
    except (oauth.OAuthError, ActionError) as error:
        messages.error(request, getattr(error, "message", None) or str(error))
        return redirect("bluesky:connect", channel_id=channel.pk)
    messages.success(request, _("%(channel)s is connected.") % {"channel": channel})
    return redirect("channel_detail", pk=channel.pk)
