from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ConnectMastodonForm(forms.Form):
    instance_url = forms.CharField(
        label=_("Server"),
        max_length=253,
        help_text=_("The Mastodon server the account is on, e.g. mastodon.social."),
    )
