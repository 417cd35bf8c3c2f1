"""Forms of the compliance pages. They only parse input; the actions check and write."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from greenroom.compliance.models import (
    Guideline,
    PersonalData,
    RequirementScope,
    RuleEffect,
    RuleKind,
    TrainingCourse,
)
from greenroom.core.models import Brand, Channel, User

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def end_of_day(day: Any) -> datetime:
    """A date picked in the viewer's zone, as the last minute of that day (deadlines)."""
    return timezone.make_aware(datetime.combine(day, time(23, 59)))


def start_of_day(day: Any, at: time = time(0, 0)) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


class StartReviewForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    deadline = forms.DateField(
        label=_("Deadline"),
        widget=DATE_INPUT,
        help_text=_("Reviewers decide by the end of this day; what is not certified is revoked."),
    )

    def clean_deadline(self) -> datetime:
        day = self.cleaned_data["deadline"]
        when = end_of_day(day)
        if when <= timezone.now():
            raise forms.ValidationError(_("Choose a day after today."))
        return when


def default_deadline(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("certify", _("Certify")), ("revoke", _("Revoke"))], widget=forms.HiddenInput
    )
    note = forms.CharField(label=_("Note"), max_length=2000, required=False)


class ReviewSettingsForm(forms.Form):
    quarterly_reviews = forms.BooleanField(
        label=_("Start an access review every quarter"), required=False
    )
    next_review = forms.DateField(
        label=_("Next quarterly review starts on"),
        required=False,
        widget=DATE_INPUT,
        help_text=_("Empty: the first day of the next quarter."),
    )
    review_days = forms.IntegerField(label=_("Days reviewers have"), min_value=1, max_value=365)
    remind_days = forms.IntegerField(
        label=_("Remind reviewers this many days before the deadline"), min_value=0, max_value=364
    )

    def next_review_at(self) -> datetime | None:
        day = self.cleaned_data.get("next_review")
        return start_of_day(day, time(9, 0)) if day else None


def _lines(value: str) -> list[str]:
    """The entries of a text box: one per line, commas also separate."""
    out: list[str] = []
    for line in value.replace("\r\n", "\n").split("\n"):
        out += [part.strip() for part in line.split(",")]
    return [v for v in out if v]


class PolicyRuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=RuleKind.choices)
    action = forms.ChoiceField(
        label=_("When broken"),
        choices=RuleEffect.choices,
        help_text=_("Block: the post cannot be submitted or published. Warn: it can, with a note."),
    )
    brand = forms.ModelChoiceField(label=_("Brand"), queryset=Brand.objects.none(), required=False)
    region = forms.CharField(
        label=_("Region"),
        max_length=64,
        required=False,
        help_text=_("Empty: every region. Otherwise only channels of this region (e.g. KR)."),
    )
    terms = forms.CharField(
        label=_("Terms or domains"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One per line or separated by commas: banned terms (any language), accepted "
            "disclosures (#ad, #광고), or domains (acme.com covers shop.acme.com)."
        ),
    )
    data_kinds = forms.MultipleChoiceField(
        label=_("Personal data to look for"),
        choices=PersonalData.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For a personal data rule. None ticked: all of them."),
    )
    reason = forms.CharField(
        label=_("Why (shown to the author)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, brands: QuerySet[Brand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["brand"].queryset = brands  # type: ignore[attr-defined]
        self.fields["brand"].empty_label = _("Every brand")  # type: ignore[attr-defined]

    def term_list(self) -> list[str]:
        return _lines(self.cleaned_data.get("terms") or "")


class GuidelineForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_("Plain text; blank lines separate paragraphs."),
    )


class GuidelineVersionForm(forms.Form):
    body = forms.CharField(label=_("New text"), widget=forms.Textarea(attrs={"rows": 10}))
    changes = forms.CharField(
        label=_("What changed"),
        required=False,
        max_length=2000,
        help_text=_("Everyone must acknowledge the new version again."),
    )


class CourseForm(forms.Form):
    name = forms.CharField(label=_("Course"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class TrainingRecordForm(forms.Form):
    course = forms.ModelChoiceField(label=_("Course"), queryset=TrainingCourse.objects.none())
    person = forms.ModelChoiceField(label=_("Person"), queryset=User.objects.none())
    completed_on = forms.DateField(label=_("Completed on"), widget=DATE_INPUT)
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=DATE_INPUT,
        help_text=_("Empty: never expires."),
    )
    evidence = forms.CharField(
        label=_("Evidence"),
        required=False,
        max_length=2000,
        help_text=_("How you know: certificate number, attendance list, quiz result."),
    )

    def __init__(
        self,
        *args: Any,
        courses: QuerySet[TrainingCourse],
        people: QuerySet[User],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = courses  # type: ignore[attr-defined]
        self.fields["person"].queryset = people  # type: ignore[attr-defined]

    def completed_at(self) -> datetime:
        return start_of_day(self.cleaned_data["completed_on"], time(12, 0))

    def expires_at(self) -> datetime | None:
        day = self.cleaned_data.get("expires_on")
        return start_of_day(day) if day else None


class RequirementForm(forms.Form):
    channel = forms.ModelChoiceField(label=_("Channel"), queryset=Channel.objects.none())
    guideline = forms.ModelChoiceField(
        label=_("Guideline"), queryset=Guideline.objects.none(), required=False
    )
    course = forms.ModelChoiceField(
        label=_("or training course"), queryset=TrainingCourse.objects.none(), required=False
    )
    applies_to = forms.ChoiceField(
        label=_("Holds back"),
        choices=RequirementScope.choices,
        initial=RequirementScope.PUBLISH_AND_ENGAGE,
    )

    def __init__(
        self,
        *args: Any,
        channels: QuerySet[Channel],
        guidelines: QuerySet[Guideline],
        courses: QuerySet[TrainingCourse],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = channels  # type: ignore[attr-defined]
        self.fields["guideline"].queryset = guidelines  # type: ignore[attr-defined]
        self.fields["course"].queryset = courses  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("guideline")) == bool(data.get("course")):
            raise forms.ValidationError(_("Choose either a guideline or a training course."))
        return data
