"""Forms of the publishing pages: a minimal composer, scheduling, comments and the pause switch.

Times are typed in the viewer's time zone (activated by the middleware) and stored in UTC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import Brand, Channel, Team, User
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


if TYPE_CHECKING:
    _TeamField = forms.ModelChoiceField[Team]
    _PeopleField = forms.ModelMultipleChoiceField[User]
else:
    _TeamField = forms.ModelChoiceField
    _PeopleField = forms.ModelMultipleChoiceField


class PeopleField(_PeopleField):
    def label_from_instance(self, obj: User) -> str:
        return obj.name


class PolicyForm(forms.Form):
    """Who approves posts for one brand or one channel (the steps come in StepForms)."""

    name = forms.CharField(
        label=_("Name"), max_length=200, help_text=_("E.g. Coffee: brand and legal.")
    )
    brand = _BrandField(
        label=_("Brand"),
        required=False,
        queryset=Brand.objects.none(),
        help_text=_("The policy covers every channel of this brand..."),
    )
    channel = ChannelField(
        label=_("Channel"),
        required=False,
        queryset=Channel.objects.none(),
        help_text=_("... or only this channel (a channel's own policy wins over its brand's)."),
    )

    def __init__(self, *args: Any, brands: QuerySet[Brand], channels: QuerySet[Channel], **kw: Any):
        super().__init__(*args, **kw)
        brand_field = self.fields["brand"]
        channel_field = self.fields["channel"]
        assert isinstance(brand_field, forms.ModelChoiceField)
        assert isinstance(channel_field, forms.ModelChoiceField)
        brand_field.queryset = brands
        channel_field.queryset = channels.select_related("brand")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("brand")) == bool(data.get("channel")):
            raise forms.ValidationError(_("Choose a brand or a channel, not both."))
        return data


class StepForm(forms.Form):
    name = forms.CharField(
        label=_("Step name"), max_length=200, required=False, help_text=_("E.g. Brand, Legal.")
    )
    team = _TeamField(label=_("Team"), required=False, queryset=Team.objects.none())
    approvers = PeopleField(
        label=_("People"),
        required=False,
        queryset=User.objects.none(),
        widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text=_("Hold Ctrl (⌘ on a Mac) to choose more than one."),
    )
    min_approvals = forms.IntegerField(label=_("Approvals needed"), min_value=1, initial=1)
    respond_within_hours = forms.DecimalField(
        label=_("Respond within (hours)"),
        required=False,
        min_value=0,
        max_digits=6,
        decimal_places=2,
        help_text=_("Empty: until the post's time."),
    )

    def __init__(self, *args: Any, teams: QuerySet[Team], people: QuerySet[User], **kw: Any):
        super().__init__(*args, **kw)
        team_field = self.fields["team"]
        people_field = self.fields["approvers"]
        assert isinstance(team_field, forms.ModelChoiceField)
        assert isinstance(people_field, forms.ModelMultipleChoiceField)
        team_field.queryset = teams
        people_field.queryset = people

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not (data.get("name") or data.get("team") or data.get("approvers"))
