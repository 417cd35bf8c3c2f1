"""Forms of the composer, the calendar and bulk import."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import Brand, Channel, User
from greenroom.media.models import MediaAsset
from greenroom.networks import rules
from greenroom.publishing.models import Campaign, VariantState

from .compose import Draft, VariantDraft, options_from_form, placements_of

LOCAL_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class LocalDateTimeInput(forms.DateTimeInput):
    """A browser date-and-time picker; the value is in the person's own time zone."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


def local_datetime_field(label: Any, **kwargs: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, input_formats=LOCAL_INPUT_FORMATS, widget=LocalDateTimeInput(), **kwargs
    )


class ComposeForm(forms.Form):
    """The master post; each channel's variant comes as v<channel id>-<field> (see `draft`)."""

    text = forms.CharField(
        label=_("Text"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Every channel uses this text until you edit it for that channel."),
    )
    link = forms.URLField(label=_("Link"), required=False, max_length=2000, assume_scheme="https")
    add_utm = forms.BooleanField(
        label=_("Add UTM parameters to the link"), required=False, initial=True
    )
    utm_medium = forms.CharField(label=_("utm_medium"), required=False, max_length=100)
    utm_campaign = forms.CharField(
        label=_("utm_campaign"),
        required=False,
        max_length=100,
        help_text=_("Empty: the campaign's name. utm_source is each channel's network."),
    )
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.none(), required=False
    )
    publish_at = local_datetime_field(
        _("Publish at"),
        required=False,
        help_text=_("In your time zone. Empty: publish as soon as it is approved."),
    )
    sponsored = forms.BooleanField(
        label=_("Sponsored: paid for, or advertising"),
        required=False,
        # The variants panel is drawn again: policies may ask sponsored posts for a disclosure.
        widget=forms.CheckboxInput(attrs={"data-refresh": ""}),
        help_text=_("Publishing policies may then ask for a disclosure such as #ad or #광고."),
    )
    channels = forms.TypedMultipleChoiceField(label=_("Channels"), coerce=int, required=False)
    assets = forms.TypedMultipleChoiceField(label=_("Media"), coerce=int, required=False)

    def __init__(
        self,
        *args: Any,
        channels: Sequence[Channel],
        campaigns: QuerySet[Campaign],
        assets: Sequence[MediaAsset],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.channel_list = list(channels)
        self.asset_list = list(assets)
        self.fields["channels"].choices = [(c.pk, str(c)) for c in self.channel_list]  # type: ignore[attr-defined]
        self.fields["assets"].choices = [(a.pk, a.filename) for a in self.asset_list]  # type: ignore[attr-defined]
        self.fields["campaign"].queryset = campaigns  # type: ignore[attr-defined]
        self.fields["campaign"].empty_label = _("No campaign")  # type: ignore[attr-defined]

    def draft(self, data: QueryDict) -> Draft:
        """The posted form as a Draft: master fields, chosen channels in order, their variants."""
        cleaned = self.cleaned_data
        by_id = {c.pk: c for c in self.channel_list}
        assets = {a.pk: a for a in self.asset_list}
        media = [pk for pk in dict.fromkeys(cleaned.get("assets") or []) if pk in assets]
        campaign: Campaign | None = cleaned.get("campaign")
        text = cleaned.get("text") or ""
        variants = []
        for pk in dict.fromkeys(cleaned.get("channels") or []):
            channel = by_id.get(pk)
            if channel is None:
                continue
            prefix = f"v{pk}-"
            placement = data.get(prefix + "placement") or "feed"
            if placement not in dict(placements_of(channel)):
                placement = "feed"
            overridden = data.get(prefix + "overridden") == "1"
            variants.append(
                VariantDraft(
                    channel=channel,
                    placement=placement,
                    text=data.get(prefix + "text", text) if overridden else text,
                    overridden=overridden,
                    first_comment=(data.get(prefix + "first_comment") or "").strip(),
                    options=options_from_form(channel, placement, data),
                )
            )
        return Draft(
            text=text,
            link=cleaned.get("link") or "",
            campaign_id=campaign.pk if campaign else None,
            campaign_name=campaign.name if campaign else "",
            publish_at=cleaned.get("publish_at"),
            sponsored=bool(cleaned.get("sponsored")),
            add_utm=bool(cleaned.get("add_utm")),
            utm_medium=cleaned.get("utm_medium") or "",
            utm_campaign=cleaned.get("utm_campaign") or "",
            media=media,
            # A file just ticked brings the alt text the library has for it.
            alt_texts=[str(data.get(f"alt-{pk}", assets[pk].alt_text)).strip() for pk in media],
            variants=variants,
        )


class ChannelGroupForm(forms.Form):
    group_name = forms.CharField(label=_("Group name"), max_length=200)


# --- Calendar ------------------------------------------------------------------------------------

VIEWS = [("month", _("Month")), ("week", _("Week"))]


class CalendarFilterForm(forms.Form):
    view = forms.ChoiceField(label=_("View"), choices=VIEWS, required=False)
    date = forms.DateField(label=_("Date"), required=False)
    brand = forms.ModelChoiceField(label=_("Brand"), queryset=Brand.objects.none(), required=False)
    network = forms.ChoiceField(label=_("Network"), required=False)
    campaign = forms.ModelChoiceField(
        label=_("Campaign"), queryset=Campaign.objects.none(), required=False
    )
    state = forms.ChoiceField(label=_("State"), required=False)
    author = forms.ModelChoiceField(label=_("Author"), queryset=User.objects.none(), required=False)

    def __init__(
        self,
        *args: Any,
        brands: QuerySet[Brand],
        networks: Sequence[str],
        campaigns: QuerySet[Campaign],
        authors: QuerySet[User],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands  # type: ignore[attr-defined]
        self.fields["campaign"].queryset = campaigns  # type: ignore[attr-defined]
        self.fields["author"].queryset = authors  # type: ignore[attr-defined]
        every = [("", _("Every network"))]
        self.fields["network"].choices = every + [  # type: ignore[attr-defined]
            (n, _network_name(n)) for n in networks
        ]
        self.fields["state"].choices = [("", _("Every state")), *VariantState.choices]  # type: ignore[attr-defined]
        for name in ("brand", "campaign", "author"):
            self.fields[name].empty_label = _("Any")  # type: ignore[attr-defined]


def _network_name(kind: str) -> str:
    try:
        return rules.get_network(kind).name
    except rules.UnknownNetwork:
        return kind


class RescheduleForm(forms.Form):
    """The keyboard way to move a post on the calendar (dragging posts the same form)."""

    publish_at = local_datetime_field(_("New time"))
    variants = forms.CharField(widget=forms.HiddenInput, required=False)
    next = forms.CharField(widget=forms.HiddenInput, required=False)

    def variant_ids(self) -> list[int]:
        raw = self.cleaned_data.get("variants") or ""
        ids = []
        for part in raw.replace(",", " ").split():
            if part.isdigit():
                ids.append(int(part))
        return ids

    def when(self) -> datetime:
        value: datetime = self.cleaned_data["publish_at"]
        return value


# --- Bulk import ---------------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, with a header row."))
    import_valid_rows = forms.BooleanField(
        label=_("Import the valid rows even if some rows have errors"), required=False
    )
    submit = forms.BooleanField(
        label=_("Submit each post after import (approval, or scheduled where none is needed)"),
        required=False,
        initial=True,
    )
