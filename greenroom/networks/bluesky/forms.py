from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from greenroom.networks.bluesky.session import DEFAULT_SERVICE


class ConnectBlueskyForm(forms.Form):
    identifier = forms.CharField(
        label=_("Handle or email"),
        max_length=253,
        help_text=_("The account's handle, e.g. acmetea.bsky.social."),
    )
    app_password = forms.CharField(
        label=_("App password"),
        max_length=64,
        widget=forms.PasswordInput(render_value=False),
        help_text=_(
            "Create one in Bluesky under Settings, Privacy and security, App passwords. "
            "Never your account password. Greenroom keeps it encrypted and never shows it again."
        ),
    )
    service_url = forms.URLField(
        label=_("Server"),
        initial=DEFAULT_SERVICE,
        assume_scheme="https",
        help_text=_("Change only if the account lives on its own PDS."),
    )


class OAuthStartForm(forms.Form):
    handle = forms.CharField(
        label=_("Handle"),
        max_length=253,
        help_text=_("You sign in on Bluesky's own page; Greenroom never sees the password."),
    )
    service_url = forms.URLField(
        label=_("Server"),
        required=False,
        initial=DEFAULT_SERVICE,
        assume_scheme="https",
        help_text=_("Used to look up the handle when its own web address does not answer."),
    )
