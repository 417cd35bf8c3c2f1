"""Reading the business-hours form of the inbox settings page into what the action stores.

Each mistake is named with the day or line it is on, and everything typed is given back to the
page so nothing is lost."""

from __future__ import annotations

import itertools
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from greenroom.inbox.models import BusinessHours

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
