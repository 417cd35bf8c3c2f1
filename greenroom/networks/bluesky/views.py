"""Connecting a Bluesky channel with an app password."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from greenroom.core.actions import ActionError
from greenroom.core.models import Channel
from greenroom.networks.bluesky.actions import do_connect_bluesky_channel
from greenroom.networks.bluesky.forms import ConnectBlueskyForm


@login_required
def connect(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(
        Channel.objects.restrict(request.user, "administer").filter(
            kind="bluesky", sandboxed=False
        ),
        pk=channel_id,
    )
    form = ConnectBlueskyForm(request.POST or None, initial={"identifier": channel.handle})
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
    return render(request, "bluesky/connect.html", {"channel": channel, "form": form})
