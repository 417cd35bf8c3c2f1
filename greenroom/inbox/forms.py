"""The forms of the inbox settings page, read into what the actions store.

Each mistake is named next to its field (or with the day or line it is on, for business hours),
and everything typed is given back to the page so nothing is lost. Choices of brands, channels,
teams, people and saved replies come from the current organisation only."""

from __future__ import annotations

import itertools
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from greenroom.core.models import Brand, Channel, Organization, Team, User
from greenroom.core.templatetags.greenroom import language_label, network_name
from greenroom.inbox.models import (
    AgentStatus,
    BusinessHours,
    ConversationKind,
    Priority,
    SavedReply,
    Sentiment,
)

WEEKDAYS = (
    gettext_lazy("Monday"),
    gettext_lazy("Tuesday"),
    gettext_lazy("Wednesday"),
    gettext_lazy("Thursday"),
    gettext_lazy("Friday"),
    gettext_lazy("Saturday"),
    gettext_lazy("Sunday"),
)
_TIME = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
_RANGE = re.compile(r"^\s*(\S+)\s*[-–~]\s*(\S+)\s*$")


@dataclass
class HoursForm:
    """What the page shows in one business-hours form, and what was wrong with it."""

    pk: int | None = None
    name: str = ""
    timezone: str = ""
    days: list[str] = field(default_factory=lambda: [""] * 7)
    holidays: str = ""
    errors: list[str] = field(default_factory=list)
    # Read from the form when it has no errors.
    weekly: list[list[list[str]]] = field(default_factory=list)
    holiday_dates: list[str] = field(default_factory=list)
    holiday_names: dict[str, str] = field(default_factory=dict)

    @property
    def day_rows(self) -> list[tuple[int, Any, str]]:
        return [(n, WEEKDAYS[n], self.days[n]) for n in range(7)]

    @classmethod
    def of(cls, hours: BusinessHours) -> HoursForm:
        weekly = list(hours.weekly or []) + [[]] * 7
        names = hours.holiday_names or {}
        return cls(
            pk=hours.pk,
            name=hours.name,
            timezone=hours.timezone,
            days=[", ".join(f"{a}-{b}" for a, b in day) for day in weekly[:7]],
            holidays="\n".join(f"{d} {names.get(d, '')}".strip() for d in hours.holidays or []),
        )

    @classmethod
    def read(cls, post: Any, pk: int | None) -> HoursForm:
        form = cls(
            pk=pk,
            name=post.get("name", "").strip(),
            timezone=post.get("timezone", "").strip(),
            days=[post.get(f"day{n}", "").strip() for n in range(7)],
            holidays=post.get("holidays", "").strip(),
        )
        form._check()
        return form

    def _check(self) -> None:
        if not self.name:
            self.errors.append(_("Give the business hours a name."))
        if len(self.name) > 200:
            self.errors.append(_("The name is longer than 200 characters."))
        if self.timezone and self.timezone not in zoneinfo.available_timezones():
            self.errors.append(
                _("%(zone)s is not a time zone; pick one from the list.") % {"zone": self.timezone}
            )
        self.weekly = [self._day(n, text) for n, text in enumerate(self.days)]
        if not self.errors and not any(self.weekly):
            self.errors.append(_("The hours are never open: give at least one day opening hours."))
        self._holidays()

    def _day(self, n: int, text: str) -> list[list[str]]:
        day = WEEKDAYS[n]
        if not text or text.lower() in ("closed", _("closed").lower()):
            return []
        ranges: list[tuple[time, time, str, str]] = []
        for part in (p for p in text.split(",") if p.strip()):
            found = _RANGE.match(part)
            if found is None:
                self.errors.append(
                    _("%(day)s: “%(text)s” is not a range like 09:00-18:00.")
                    % {"day": day, "text": part.strip()}
                )
                continue
            start, end = found[1], found[2]
            opens, closes = _time(start), _time(end)
            if opens is None or closes is None:
                bad = start if opens is None else end
                self.errors.append(
                    _("%(day)s: “%(text)s” is not a time of day like 09:00.")
                    % {"day": day, "text": bad}
                )
                continue
            if closes <= opens:
                self.errors.append(
                    _("%(day)s: %(start)s-%(end)s closes before it opens.")
                    % {"day": day, "start": start, "end": end}
                )
                continue
            ranges.append((opens, closes, start, end))
        ranges.sort()
        for first, second in itertools.pairwise(ranges):
            if second[0] < first[1]:
                self.errors.append(
                    _("%(day)s: %(a)s and %(b)s overlap.")
                    % {
                        "day": day,
                        "a": f"{first[2]}-{first[3]}",
                        "b": f"{second[2]}-{second[3]}",
                    }
                )
        return [[_canonical(r[0]), _canonical(r[1])] for r in ranges]

    def _holidays(self) -> None:
        for number, line in enumerate(self.holidays.splitlines(), start=1):
            if not line.strip():
                continue
            text, _sep, name = line.strip().partition(" ")
            try:
                day = date.fromisoformat(text)
            except ValueError:
                self.errors.append(
                    _("Holidays, line %(line)d: “%(text)s” is not a date like 2026-12-25.")
                    % {"line": number, "text": text}
                )
                continue
            iso = day.isoformat()
            if iso not in self.holiday_dates:
                self.holiday_dates.append(iso)
            if name.strip():
                self.holiday_names[iso] = name.strip()[:200]
        self.holiday_dates.sort()


def _time(text: str) -> time | None:
    found = _TIME.match(text)
    if found is None:
        return None
    hours, minutes = int(found[1]), int(found[2])
    if hours == 24:
        return time.max if minutes == 0 else None
    return time(hours, minutes)


def _canonical(moment: time) -> str:
    return "24:00" if moment == time.max else f"{moment:%H:%M}"


ANY = [("", gettext_lazy("Any"))]
NOTHING = [("", "—")]
YES_NO_ANY = [("", gettext_lazy("Any")), ("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]
_NUMBER = {
    "invalid": gettext_lazy("Enter a whole number, like 60."),
}


def _in_org(model: Any, user: User, org: Organization) -> QuerySet[Any]:
    rows: QuerySet[Any] = model.objects.restrict(user, "view_org")
    return rows.filter(organization=org)


def _languages(org: Organization) -> list[tuple[str, Any]]:
    return ANY + [(code, language_label(code)) for code in org.languages or []]


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def yes_no_of(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


class _OrgForm(forms.Form):
    """A form whose object choices are the organisation's, as the person may see them."""

    def __init__(self, *args: Any, org: Organization, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org, self.user = org, user
        for each in self.fields.values():
            if isinstance(each, forms.ModelChoiceField):
                each.empty_label = _("Any")

    def _objects(self, name: str, queryset: QuerySet[Any], empty_label: str | None = None) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = queryset
        if empty_label is not None:
            field.empty_label = empty_label

    def _choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


class SavedReplyForm(_OrgForm):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    body = forms.CharField(label=gettext_lazy("Text"), widget=forms.Textarea(attrs={"rows": 3}))
    brand = forms.ModelChoiceField(
        label=gettext_lazy("Brand"), queryset=Brand.objects.none(), required=False
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)

    def __init__(self, *args: Any, org: Organization, user: User, **kwargs: Any) -> None:
        super().__init__(*args, org=org, user=user, **kwargs)
        self._objects("brand", _in_org(Brand, user, org))
        self._choices("language", _languages(org))

    @classmethod
    def initial_of(cls, saved: SavedReply) -> dict[str, Any]:
        return {
            "title": saved.title,
            "body": saved.body,
            "brand": saved.brand_id,
            "language": saved.language,
        }


class SlaPolicyForm(_OrgForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    brand = forms.ModelChoiceField(
        label=gettext_lazy("Brand"), queryset=Brand.objects.none(), required=False
    )
    channel = forms.ModelChoiceField(
        label=gettext_lazy("Channel"), queryset=Channel.objects.none(), required=False
    )
    priority = forms.ChoiceField(
        label=gettext_lazy("Priority"), choices=ANY + list(Priority.choices), required=False
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=ANY + list(ConversationKind.choices), required=False
    )
    first_response_minutes = forms.IntegerField(
        label=gettext_lazy("First response (minutes)"),
        min_value=1,
        max_value=525600,
        initial=1440,
        error_messages=_NUMBER,
    )
    next_response_minutes = forms.IntegerField(
        label=gettext_lazy("Next response (minutes)"),
        min_value=1,
        max_value=525600,
        required=False,
        error_messages=_NUMBER,
    )
    resolution_minutes = forms.IntegerField(
        label=gettext_lazy("Resolution (minutes)"),
        min_value=1,
        max_value=525600,
        required=False,
        error_messages=_NUMBER,
    )
    business_hours = forms.ModelChoiceField(
        label=gettext_lazy("Business hours"), queryset=BusinessHours.objects.none(), required=False
    )
    warn_at_percent = forms.IntegerField(
        label=gettext_lazy("Warn at (% of the target)"),
        min_value=1,
        max_value=100,
        initial=75,
        required=False,
        error_messages=_NUMBER,
        help_text=gettext_lazy("Empty: 75."),
    )

    def __init__(self, *args: Any, org: Organization, user: User, **kwargs: Any) -> None:
        super().__init__(*args, org=org, user=user, **kwargs)
        self._objects("brand", _in_org(Brand, user, org))
        self._objects("channel", _in_org(Channel, user, org))
        hours = _in_org(BusinessHours, user, org).order_by("name")
        self._objects("business_hours", hours, _("Around the clock"))

    def values(self) -> dict[str, Any]:
        """What `actions.do_save_sla_policy` takes."""
        data = dict(self.cleaned_data)
        percent = data.pop("warn_at_percent")
        data["warn_at_share"] = (75 if percent is None else percent) / 100
        return data

    @classmethod
    def initial_of(cls, policy: Any) -> dict[str, Any]:
        return {
            "name": policy.name,
            "brand": policy.brand_id,
            "channel": policy.channel_id,
            "priority": policy.priority,
            "kind": policy.kind,
            "first_response_minutes": policy.first_response_minutes,
            "next_response_minutes": policy.next_response_minutes,
            "resolution_minutes": policy.resolution_minutes,
            "business_hours": policy.business_hours_id,
            "warn_at_percent": round(policy.warn_at_share * 100),
        }


class RoutingRuleForm(_OrgForm):
    # The words first: they are what most rules are about.
    field_order = ["name", "keywords"]

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    position = forms.IntegerField(
        label=gettext_lazy("Position"),
        min_value=0,
        max_value=100000,
        initial=100,
        required=False,
        error_messages=_NUMBER,
        help_text=gettext_lazy("Lower numbers run first. Empty: 100."),
    )
    # Conditions: empty means any.
    channel = forms.ModelChoiceField(
        label=gettext_lazy("Channel"), queryset=Channel.objects.none(), required=False
    )
    brand = forms.ModelChoiceField(
        label=gettext_lazy("Brand"), queryset=Brand.objects.none(), required=False
    )
    network = forms.ChoiceField(label=gettext_lazy("Network"), required=False)
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), choices=ANY + list(ConversationKind.choices), required=False
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)
    sentiment = forms.ChoiceField(
        label=gettext_lazy("Sentiment"), choices=ANY + list(Sentiment.choices), required=False
    )
    keywords = forms.CharField(
        label=gettext_lazy("When the message contains any of (comma-separated)"),
        required=False,
        max_length=5000,
    )
    author_is_vip = forms.ChoiceField(
        label=gettext_lazy("Author is a VIP"), choices=YES_NO_ANY, required=False
    )
    author_is_customer = forms.ChoiceField(
        label=gettext_lazy("Author is a known customer"), choices=YES_NO_ANY, required=False
    )
    # Actions.
    set_team = forms.ModelChoiceField(
        label=gettext_lazy("Then: team"), queryset=Team.objects.none(), required=False
    )
    set_assignee = forms.ModelChoiceField(
        label=gettext_lazy("Then: assign to"), queryset=User.objects.none(), required=False
    )
    set_priority = forms.ChoiceField(
        label=gettext_lazy("Then: priority"),
        choices=NOTHING + list(Priority.choices),
        required=False,
    )
    add_tags = forms.CharField(
        label=gettext_lazy("Then: tags (comma-separated)"), required=False, max_length=1000
    )
    auto_reply = forms.ModelChoiceField(
        label=gettext_lazy("Then: answer with saved reply"),
        queryset=SavedReply.objects.none(),
        required=False,
    )
    require_approval = forms.BooleanField(
        label=gettext_lazy("Replies need approval"), required=False
    )
    four_eyes = forms.BooleanField(
        label=gettext_lazy("Four eyes: approvers' own replies wait too, for a colleague"),
        required=False,
    )
    stop = forms.BooleanField(label=gettext_lazy("Stop after this rule"), required=False)

    def __init__(self, *args: Any, org: Organization, user: User, **kwargs: Any) -> None:
        super().__init__(*args, org=org, user=user, **kwargs)
        channels = _in_org(Channel, user, org)
        self._objects("channel", channels)
        self._objects("brand", _in_org(Brand, user, org))
        kinds = sorted(set(channels.values_list("kind", flat=True)))
        self._choices("network", ANY + [(k, network_name(k)) for k in kinds])
        self._choices("language", _languages(org))
        self._objects("set_team", _in_org(Team, user, org), "—")
        members = User.objects.filter(
            memberships__organization=org, memberships__is_active=True
        ).order_by("display_name", "username")
        self._objects("set_assignee", members.distinct(), "—")
        self._objects("auto_reply", _in_org(SavedReply, user, org), "—")

    def values(self) -> dict[str, Any]:
        """What `actions.do_save_routing_rule` takes."""
        data = dict(self.cleaned_data)
        if data["position"] is None:
            data["position"] = 100
        data["author_is_vip"] = _yes_no(data["author_is_vip"])
        data["author_is_customer"] = _yes_no(data["author_is_customer"])
        data["add_tags"] = [t.strip() for t in data["add_tags"].split(",") if t.strip()]
        return data

    @classmethod
    def initial_of(cls, rule: Any) -> dict[str, Any]:
        return {
            "name": rule.name,
            "position": rule.position,
            "channel": rule.channel_id,
            "brand": rule.brand_id,
            "network": rule.network,
            "kind": rule.kind,
            "language": rule.language,
            "sentiment": rule.sentiment,
            "keywords": rule.keywords,
            "author_is_vip": yes_no_of(rule.author_is_vip),
            "author_is_customer": yes_no_of(rule.author_is_customer),
            "set_team": rule.set_team_id,
            "set_assignee": rule.set_assignee_id,
            "set_priority": rule.set_priority,
            "add_tags": ", ".join(rule.add_tags or []),
            "auto_reply": rule.auto_reply_id,
            "require_approval": rule.require_approval,
            "four_eyes": rule.four_eyes,
            "stop": rule.stop,
        }


class AgentForm(forms.Form):
    """An agent's availability: on shift or away, and how many conversations at once."""

    status = forms.ChoiceField(label=gettext_lazy("Status"), choices=AgentStatus.choices)
    capacity = forms.IntegerField(
        label=gettext_lazy("Conversations at once"),
        min_value=0,
        max_value=1000,
        error_messages={"invalid": gettext_lazy("Enter a whole number from 0 to 1000.")},
    )
