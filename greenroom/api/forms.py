"""The form of the API tokens page: a name, scopes and an expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import ApiTokenScope

EXPIRY_CHOICES = [
    ("7", _("In 7 days")),
    ("30", _("In 30 days")),
    ("90", _("In 90 days")),
    ("365", _("In a year")),
    ("never", _("Never")),
]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, so you recognise it later: “Weekly report script”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=ApiTokenScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiTokenScope.READ],
        help_text=_(
            "Read lets the token look (GET requests); write lets it change things (every other "
            "request). A script that changes things usually needs both."
        ),
    )
    expires = forms.ChoiceField(
        label=_("Expires"),
        choices=EXPIRY_CHOICES,
        initial="90",
        help_text=_("A token that expires limits the harm if it leaks."),
    )

    def expires_at(self) -> datetime | None:
        choice: str = self.cleaned_data["expires"]
        if choice == "never":
            return None
        return timezone.now() + timedelta(days=int(choice))
