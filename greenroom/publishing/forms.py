"""Forms of the publishing pages: a minimal composer, scheduling, comments and the pause switch.

Times are typed in the viewer's time zone (activated by the middleware) and stored in UTC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import Brand, Channel
from greenroom.publishing.models import Campaign, PauseScope, PostState

if TYPE_CHECKING:
    _ChannelsField = forms.ModelMultipleChoiceField[Channel]
    _ChannelField = forms.ModelChoiceField[Channel]
    _BrandField = forms.ModelChoiceField[Brand]
    _CampaignField = forms.ModelChoiceField[Campaign]
else:  # the stubs make the fields generic; Django's classes are not subscriptable at run time
    _ChannelsField = forms.ModelMultipleChoiceField
    _ChannelField = forms.ModelChoiceField
    _BrandField = forms.ModelChoiceField
    _CampaignField = forms.ModelChoiceField


def _channel_label(channel: Channel) -> str:
    from greenroom.networks import rules

    try:
        network = rules.get_network(channel.kind).name
    except rules.UnknownNetwork:
        network = channel.kind
    return f"{channel.name} · {network} · {channel.brand.name}"


class ChannelsField(_ChannelsField):
    def label_from_instance(self, obj: Channel) -> str:
        return _channel_label(obj)


class ChannelField(_ChannelField):
    def label_from_instance(self, obj: Channel) -> str:
        return _channel_label(obj)


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class PostForm(forms.Form):
    text = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Each channel gets this text; it is checked against each network's rules."),
    )
    channels = ChannelsField(
        label=_("Channels"),
        queryset=Channel.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )
    link = forms.URLField(label=_("Link"), required=False, assume_scheme="https")
    campaign = _CampaignField(label=_("Campaign"), queryset=Campaign.objects.none(), required=False)
    publish_at = forms.DateTimeField(
        label=_("Publish at"),
        required=False,
        widget=LocalDateTimeInput(),
        help_text=_("In your time zone. Leave empty to choose later."),
    )

    def __init__(
        self,
        *args: Any,
        channels: QuerySet[Channel],
        campaigns: QuerySet[Campaign],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channels"].queryset = channels  # type: ignore[attr-defined]
        self.fields["campaign"].queryset = campaigns  # type: ignore[attr-defined]


class ScheduleForm(forms.Form):
    publish_at = forms.DateTimeField(
        label=_("Publish at"), widget=LocalDateTimeInput(), help_text=_("In your time zone.")
    )


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class PostFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Any state")), *PostState.choices]
    )
    brand = _BrandField(
        label=_("Brand"), required=False, queryset=Brand.objects.none(), empty_label=_("Any brand")
    )
    channel = ChannelField(
        label=_("Channel"),
        required=False,
        queryset=Channel.objects.none(),
        empty_label=_("Any channel"),
    )
    campaign = _CampaignField(
        label=_("Campaign"),
        required=False,
        queryset=Campaign.objects.none(),
        empty_label=_("Any campaign"),
    )

    def __init__(
        self,
        *args: Any,
        brands: QuerySet[Brand],
        channels: QuerySet[Channel],
        campaigns: QuerySet[Campaign],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands  # type: ignore[attr-defined]
        self.fields["channel"].queryset = channels  # type: ignore[attr-defined]
        self.fields["campaign"].queryset = campaigns  # type: ignore[attr-defined]


class PauseForm(forms.Form):
    scope = forms.ChoiceField(label=_("What to pause"), choices=PauseScope.choices)
    brand = _BrandField(
        label=_("Brand"),
        required=False,
        queryset=Brand.objects.none(),
        help_text=_("When pausing a brand."),
    )
    region = forms.CharField(
        label=_("Region"),
        required=False,
        max_length=64,
        help_text=_("When pausing a region: the channels' region, e.g. KR."),
    )
    channel = ChannelField(
        label=_("Channel"),
        required=False,
        queryset=Channel.objects.none(),
        help_text=_("When pausing one channel."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Everyone whose posts wait reads this."),
    )
    until = forms.DateTimeField(
        label=_("Until"),
        required=False,
        widget=LocalDateTimeInput(),
        help_text=_("Leave empty to pause until someone lifts it."),
    )

    def __init__(
        self, *args: Any, brands: QuerySet[Brand], channels: QuerySet[Channel], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands  # type: ignore[attr-defined]
        self.fields["channel"].queryset = channels  # type: ignore[attr-defined]
