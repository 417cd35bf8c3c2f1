"""Connecting a Mastodon channel: register Greenroom on its server, then OAuth with PKCE."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from greenroom.core.actions import ActionError
from greenroom.core.models import Channel
from greenroom.networks import oauth
from greenroom.networks.base import ConnectorError
from greenroom.networks.mastodon.actions import do_register_mastodon_app
from greenroom.networks.mastodon.forms import ConnectMastodonForm


def _default_instance(channel: Channel) -> str:
    # Handles are written @name@server.social; the server is the part after the second @.
    parts = channel.handle.lstrip("@").split("@")
    return parts[1] if len(parts) == 2 else ""


@login_required
def connect(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(
        Channel.objects.restrict(request.user, "administer").filter(
            kind="mastodon", sandboxed=False
        ),
        pk=channel_id,
    )
    form = ConnectMastodonForm(
        request.POST or None, initial={"instance_url": _default_instance(channel)}
    )
    if request.method == "POST" and form.is_valid():
        user = request.user
        assert user.is_authenticated
        try:
            app = do_register_mastodon_app(
                channel.organization,
                instance_url=form.cleaned_data["instance_url"],
                redirect_uri=oauth.callback_url(request, "mastodon"),
                acting_user=user,
            )
            return redirect(
                oauth.begin(
                    request,
                    channel,
                    network="mastodon",
                    redirect_uri=app.redirect_uri,
                    context={"instance": app.instance},
                )
            )
        except (ActionError, ConnectorError) as error:
            form.add_error(None, getattr(error, "message", None) or str(error))
    return render(request, "mastodon/connect.html", {"channel": channel, "form": form})
