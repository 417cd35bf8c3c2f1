"""Business-hours arithmetic for SLA clocks: pure functions, no database.

A `Calendar` is opening intervals per weekday plus holidays, in one time zone; `None` means 24/7.
Intervals are read as local wall-clock times on each local date and turned into UTC instants, so
a DST change moves them with the clock (a 09:00-17:00 day is 8 real hours on either side of the
change; a day whose interval crosses the change is shorter or longer, as it really is).
"""

from __future__ import annotations

import functools
import itertools
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

# Past this many days without an opening (a calendar that is closed for good), give up.
MAX_SEARCH_DAYS = 3 * 366


class CalendarError(ValueError):
    """Opening hours that cannot be read (a bad time, an interval ending before it starts)."""


@dataclass(frozen=True)
class Calendar:
    timezone: str
    # weekday (0 = Monday) -> sorted, non-overlapping (start, end) local times; end may be 24:00,
    # written as time.max.
    weekly: Mapping[int, tuple[tuple[time, time], ...]]
    holidays: frozenset[date] = field(default_factory=frozenset)
    # Each local date's opening intervals in UTC, worked out once (a batch of messages asks
    # for the same few days again and again). Not part of what the calendar is.
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def day_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The opening intervals of one local date, in UTC (none on a holiday)."""
        found = self._days.get(day)
        if found is None:
            zone = self.zone
            intervals = []
            if day not in self.holidays:
                for open_at, close_at in self.weekly.get(day.weekday(), ()):
                    a = _local(day, open_at, zone).astimezone(UTC)
                    b = _local(day, close_at, zone).astimezone(UTC)
                    if b > a:
                        intervals.append((a, b))
            found = self._days[day] = tuple(intervals)
        return found


def _parse_time(value: str) -> time:
    text = value.strip()
    if text in ("24:00", "24:00:00"):
        return time.max
    try:
        hours, minutes = text.split(":")[:2]
        return time(int(hours), int(minutes))
    except (ValueError, TypeError) as exc:
        raise CalendarError(f"{value!r} is not a time of day like 09:00") from exc


def calendar_from(
    timezone: str, weekly: Sequence[Sequence[Sequence[str]]], holidays: Sequence[str] = ()
) -> Calendar:
    """A calendar from stored JSON: seven lists (Monday first) of ["HH:MM", "HH:MM"]."""
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown time zone {timezone!r}") from exc
    if len(weekly) != 7:
        raise CalendarError("opening hours need seven days, Monday first")
    days: dict[int, tuple[tuple[time, time], ...]] = {}
    for weekday, intervals in enumerate(weekly):
        parsed = sorted((_parse_time(a), _parse_time(b)) for a, b in intervals)
        for start, end in parsed:
            if end <= start:
                raise CalendarError(f"{start:%H:%M}-{end:%H:%M} ends before it starts")
        for (_, end), (start, _) in itertools.pairwise(parsed):
            if start < end:
                raise CalendarError("opening intervals overlap")
        days[weekday] = tuple(parsed)
    try:
        off = frozenset(date.fromisoformat(d) for d in holidays)
    except ValueError as exc:
        raise CalendarError(f"a holiday is not a date like 2026-12-25: {exc}") from exc
    if not any(days.values()):
        raise CalendarError("the calendar is never open")
    return Calendar(timezone=timezone, weekly=days, holidays=off)


def _local(day: date, moment: time, zone: zoneinfo.ZoneInfo) -> datetime:
    if moment == time.max:
        return datetime.combine(day + timedelta(days=1), time.min, zone)
    # A wall time inside a spring-forward gap resolves (fold=0) to the instant an hour later
    # on the new offset: the interval starts when the clock first shows a later time.
    return datetime.combine(day, moment, zone)


def open_intervals(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Opening intervals in UTC that end after `start`, in order (the first may have begun)."""
    day = start.astimezone(calendar.zone).date() - timedelta(days=1)
    for _ in range(MAX_SEARCH_DAYS):
        for a, b in calendar.day_intervals(day):
            if b > start:
                yield max(a, start), b
        day += timedelta(days=1)
    raise CalendarError("no opening hours within three years")


def add_business_time(start: datetime, duration: timedelta, calendar: Calendar | None) -> datetime:
    """The instant when `duration` of open time has passed after `start` (UTC out)."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    start = start.astimezone(UTC)
    if calendar is None:
        return start + duration
    left = duration
    for a, b in open_intervals(calendar, start):
        span = b - a
        if left <= span:
            return a + left
        left -= span
    raise AssertionError("unreachable")  # pragma: no cover


def business_time_between(start: datetime, end: datetime, calendar: Calendar | None) -> timedelta:
    """Open time between two instants (zero when `end` is not after `start`)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    if end <= start:
        return timedelta(0)
    if calendar is None:
        return end - start
    total = timedelta(0)
    for a, b in open_intervals(calendar, start.astimezone(UTC)):
        if a >= end:
            break
        total += min(b, end) - a
    return total


@dataclass(frozen=True)
class Deadline:
    """When a clock started, when it warns and when it is due."""

    started_at: datetime
    warn_at: datetime
    due_at: datetime


def deadline(
    start: datetime, target: timedelta, calendar: Calendar | None, warn_share: float = 0.75
) -> Deadline:
    """A clock of `target` open time started at `start`; it warns after `warn_share` of it."""
    return Deadline(
        started_at=start,
        warn_at=warn_time(start, target, calendar, warn_share),
        due_at=add_business_time(start, target, calendar),
    )


def warn_time(
    start: datetime, target: timedelta, calendar: Calendar | None, warn_share: float = 0.75
) -> datetime:
    """When a clock of `target` open time started at `start` warns (`deadline(...).warn_at`)."""
    share = min(max(warn_share, 0.0), 1.0)
    return add_business_time(start, target * share, calendar)


def hour_of_week(moment: datetime, timezone: str) -> int:
    """0 = Monday 00:00-01:00 ... 167 = Sunday 23:00-24:00, in `timezone`'s wall clock."""
    # Every zone's offset is a whole number of quarter hours, so the hour of the week is the
    # same for a whole quarter hour: ingestion asks for one per message, worked out once each.
    return _hour_of_week(int(moment.timestamp()) // _QUARTER, timezone)


_QUARTER = 900


@functools.lru_cache(maxsize=4096)
def _hour_of_week(quarter: int, timezone: str) -> int:
    local = datetime.fromtimestamp(quarter * _QUARTER, zoneinfo.ZoneInfo(timezone))
    return local.weekday() * 24 + local.hour
