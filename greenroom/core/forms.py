"""Forms of the UI shell: preferences, a channel's owner/backup/status, audit filters."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from greenroom.core.models import TIMEZONE_CHOICES, ChannelStatus, User


def language_choices() -> list[tuple[str, str]]:
    # Each language is named in itself, so a person can find theirs whatever the UI language is.
    native = {"en": "English", "ko": "한국어"}
    return [(code, native.get(code, str(name))) for code, name in settings.LANGUAGES]


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=language_choices)
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=TIMEZONE_CHOICES,
        help_text=_("Every time in Greenroom is shown in this zone."),
    )

    def clean_timezone(self) -> str:
        name: str = self.cleaned_data["timezone"]
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise forms.ValidationError(_("Choose a time zone from the list.")) from None
        return name


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=language_choices)
    next = forms.CharField(required=False)


if TYPE_CHECKING:
    _UserChoiceField = forms.ModelChoiceField[User]
else:  # the stubs make the field generic; Django's class is not subscriptable at run time
    _UserChoiceField = forms.ModelChoiceField


class MemberChoiceField(_UserChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return f"{obj.name} ({obj.username})" if obj.name != obj.username else obj.username


class ChannelPeopleForm(forms.Form):
    """Who owns a channel, who covers for them, and whether it is running."""

    owner = MemberChoiceField(
        label=pgettext_lazy("channel", "Owner"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody"),
    )
    backup = MemberChoiceField(
        label=_("Backup"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody"),
        help_text=_("Covers the channel when the owner is away. Must be someone else."),
    )
    status = forms.ChoiceField(label=_("Status"), choices=ChannelStatus.choices)

    def __init__(self, *args: Any, members: QuerySet[User], **kwargs: Any) -> None:
        """`members`: the people who may own or back up the channel (the view restricts them)."""
        super().__init__(*args, **kwargs)
        owner = self.fields["owner"]
        backup = self.fields["backup"]
        assert isinstance(owner, forms.ModelChoiceField)
        assert isinstance(backup, forms.ModelChoiceField)
        owner.queryset = members
        backup.queryset = members

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        owner, backup = data.get("owner"), data.get("backup")
        if owner is not None and owner == backup:
            self.add_error("backup", _("The backup must be someone other than the owner."))
        return data


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        label=_("Who"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("Name or username")}),
    )
    action = forms.ChoiceField(label=_("Action"), required=False)
    target_type = forms.ChoiceField(label=_("Target"), required=False)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(
        self,
        *args: Any,
        actions: list[tuple[str, str]],
        target_types: list[str],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        action_field = self.fields["action"]
        target_field = self.fields["target_type"]
        assert isinstance(action_field, forms.ChoiceField)
        assert isinstance(target_field, forms.ChoiceField)
        action_field.choices = [("", _("Any action")), *actions]
        target_field.choices = [("", _("Any target")), *((t, t) for t in target_types)]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        """The chosen dates as an aware [start, end) range in the user's time zone."""
        zone = timezone.get_current_timezone()

        def at_midnight(day: date | None) -> datetime | None:
            return None if day is None else datetime.combine(day, time.min, tzinfo=zone)

        end_day = self.cleaned_data.get("date_to")
        return (
            at_midnight(self.cleaned_data.get("date_from")),
            at_midnight(end_day + timedelta(days=1) if end_day else None),
        )
