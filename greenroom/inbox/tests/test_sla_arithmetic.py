"""Business-hours clocks: weekends, holidays, lunch breaks and DST changes in three zones."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.inbox import sla

NY = zoneinfo.ZoneInfo("America/New_York")
LONDON = zoneinfo.ZoneInfo("Europe/London")
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
WEEKDAYS_9_TO_5 = [[["09:00", "17:00"]]] * 5 + [[], []]
ALWAYS = [[["00:00", "24:00"]]] * 7


def at(zone: zoneinfo.ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[arg-type,misc]


def test_around_the_clock_is_elapsed_time() -> None:
    start = at(SEOUL, 2026, 3, 6, 23, 0)
    assert sla.add_business_time(start, timedelta(hours=24), None) == start + timedelta(hours=24)


def test_a_friday_evening_message_is_due_on_monday() -> None:
    cal = sla.calendar_from("America/New_York", WEEKDAYS_9_TO_5)
    due = sla.add_business_time(at(NY, 2026, 1, 9, 16, 0), timedelta(hours=4), cal)
    assert due == at(NY, 2026, 1, 12, 12, 0)


def test_a_message_at_the_weekend_starts_counting_on_monday_morning() -> None:
    cal = sla.calendar_from("America/New_York", WEEKDAYS_9_TO_5)
    due = sla.add_business_time(at(NY, 2026, 1, 10, 11, 0), timedelta(hours=1), cal)
    assert due == at(NY, 2026, 1, 12, 10, 0)


def test_holidays_are_skipped() -> None:
    cal = sla.calendar_from("America/New_York", WEEKDAYS_9_TO_5, ["2026-12-25"])
    # Thursday 24 December, 16:00; Friday is Christmas; due Monday 28th.
    due = sla.add_business_time(at(NY, 2026, 12, 24, 16, 0), timedelta(hours=3), cal)
    assert due == at(NY, 2026, 12, 28, 11, 0)


def test_a_lunch_break_and_a_korean_holiday_in_seoul() -> None:
    weekly = [[["09:00", "12:00"], ["13:00", "18:00"]]] * 5 + [[], []]
    cal = sla.calendar_from("Asia/Seoul", weekly, ["2026-09-24", "2026-09-25"])
    # Wednesday 23 September (before Chuseok), 11:00; two hours: 11-12, 13-14.
    assert sla.add_business_time(at(SEOUL, 2026, 9, 23, 11, 0), timedelta(hours=2), cal) == at(
        SEOUL, 2026, 9, 23, 14, 0
    )
    # 17:00 the same day; five hours: 17-18 Wednesday, then Monday 28th 09-12, 13-14.
    assert sla.add_business_time(at(SEOUL, 2026, 9, 23, 17, 0), timedelta(hours=5), cal) == at(
        SEOUL, 2026, 9, 28, 14, 0
    )


def test_business_hours_follow_the_clock_across_spring_forward_in_new_york() -> None:
    cal = sla.calendar_from("America/New_York", WEEKDAYS_9_TO_5)
    # Friday 6 March 2026 16:00 EST; the clocks change on Sunday 8 March.
    due = sla.add_business_time(at(NY, 2026, 3, 6, 16, 0), timedelta(hours=4), cal)
    assert due == at(NY, 2026, 3, 9, 12, 0)
    assert due.astimezone(UTC).hour == 16  # 12:00 EDT, not 17:00 UTC as in winter


def test_a_24_hour_day_across_spring_forward_is_23_real_hours() -> None:
    cal = sla.calendar_from("America/New_York", ALWAYS)
    start = at(NY, 2026, 3, 7, 12, 0)
    due = sla.add_business_time(start, timedelta(hours=24), cal)
    # Open around the clock: 24 real hours later, which reads 13:00 on the new offset.
    assert due - start == timedelta(hours=24)
    assert due.astimezone(NY).hour == 13


def test_fall_back_in_london_gives_the_long_sunday_its_extra_hour() -> None:
    sundays = [[], [], [], [], [], [], [["00:00", "24:00"]]]
    cal = sla.calendar_from("Europe/London", sundays)
    start = at(LONDON, 2026, 10, 25, 0, 0)
    assert sla.business_time_between(start, start + timedelta(days=2), cal) == timedelta(hours=25)


def test_opening_inside_the_skipped_hour_starts_when_the_clock_moves_on() -> None:
    cal = sla.calendar_from("America/New_York", [[], [], [], [], [], [], [["02:30", "04:00"]]])
    due = sla.add_business_time(at(NY, 2026, 3, 8, 0, 0), timedelta(minutes=10), cal)
    # 02:30 does not exist that night; the window opens at 03:30 EDT (07:30 UTC).
    assert due.astimezone(UTC) == datetime(2026, 3, 8, 7, 40, tzinfo=UTC)


def test_the_warning_comes_at_three_quarters_of_the_target() -> None:
    cal = sla.calendar_from("Europe/London", WEEKDAYS_9_TO_5)
    clock = sla.deadline(at(LONDON, 2026, 6, 1, 9, 0), timedelta(hours=8), cal, 0.75)
    assert clock.warn_at == at(LONDON, 2026, 6, 1, 15, 0)
    assert clock.due_at == at(LONDON, 2026, 6, 1, 17, 0)


def test_unreadable_hours_are_refused() -> None:
    with pytest.raises(sla.CalendarError):
        sla.calendar_from("America/New_York", [[["17:00", "09:00"]]] * 7)
    with pytest.raises(sla.CalendarError):
        sla.calendar_from("Mars/Olympus", ALWAYS)
    with pytest.raises(sla.CalendarError):
        sla.calendar_from("UTC", [[]] * 7)


def test_hour_of_week_uses_the_channels_wall_clock() -> None:
    moment = datetime(2026, 6, 1, 0, 30, tzinfo=UTC)  # Monday 00:30 UTC = Monday 09:30 Seoul
    assert sla.hour_of_week(moment, "Asia/Seoul") == 9
    assert sla.hour_of_week(moment, "America/New_York") == 6 * 24 + 20  # Sunday 20:30


@pytest.mark.parametrize(
    ("utc", "zone", "expected"),
    [
        # Kathmandu is UTC+5:45: 03:14 UTC is 08:59 there, 03:15 is 09:00.
        (datetime(2026, 6, 1, 3, 14, 59, tzinfo=UTC), "Asia/Kathmandu", 8),
        (datetime(2026, 6, 1, 3, 15, tzinfo=UTC), "Asia/Kathmandu", 9),
        # Chatham is UTC+12:45 in winter: 20:15 UTC on Sunday is Monday 09:00 there.
        (datetime(2026, 5, 31, 20, 14, 59, tzinfo=UTC), "Pacific/Chatham", 8),
        (datetime(2026, 5, 31, 20, 15, tzinfo=UTC), "Pacific/Chatham", 9),
        # New York moves its clocks at 2026-03-08 07:00 UTC (02:00 EST becomes 03:00 EDT).
        (datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC), "America/New_York", 6 * 24 + 1),
        (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), "America/New_York", 6 * 24 + 3),
    ],
)
def test_hour_of_week_turns_on_the_local_hour_in_quarter_hour_zones_and_at_dst(
    utc: datetime, zone: str, expected: int
) -> None:
    assert sla.hour_of_week(utc, zone) == expected
    assert sla.hour_of_week(utc.astimezone(zoneinfo.ZoneInfo(zone)), zone) == expected


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    zone=st.sampled_from(
        ["Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns"]
    ),
)
@settings(max_examples=300, deadline=None)
def test_hour_of_week_is_the_local_weekday_and_hour(moment: datetime, zone: str) -> None:
    local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    assert sla.hour_of_week(moment, zone) == local.weekday() * 24 + local.hour


ZONES = st.sampled_from(["America/New_York", "Europe/London", "Asia/Seoul"])


@settings(max_examples=60, deadline=None)
@given(
    zone=ZONES,
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 10),
)
def test_counting_open_time_back_gives_the_target(zone: str, start: datetime, minutes: int) -> None:
    cal = sla.calendar_from(zone, WEEKDAYS_9_TO_5, ["2026-12-25", "2027-01-01"])
    target = timedelta(minutes=minutes)
    due = sla.add_business_time(start, target, cal)
    assert due >= start
    assert sla.business_time_between(start, due, cal) == target
    local = due.astimezone(zoneinfo.ZoneInfo(zone))
    if minutes:
        assert local.weekday() < 5 and (9, 0) <= (local.hour, local.minute) <= (17, 0)


# One calendar per zone, kept across examples: it remembers the days it has worked out, and
# must answer as a calendar that has seen nothing does.
_KEPT = {
    zone: sla.calendar_from(zone, [[["09:00", "12:00"], ["13:00", "18:00"]]] * 5 + [[], []])
    for zone in ("America/New_York", "Europe/London", "Asia/Seoul")
}


@settings(max_examples=100, deadline=None)
@given(
    zone=ZONES,
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 10),
)
def test_a_calendar_reused_for_many_clocks_gives_what_a_fresh_one_gives(
    zone: str, start: datetime, minutes: int
) -> None:
    fresh = sla.calendar_from(zone, [[["09:00", "12:00"], ["13:00", "18:00"]]] * 5 + [[], []])
    target = timedelta(minutes=minutes)
    assert sla.add_business_time(start, target, _KEPT[zone]) == sla.add_business_time(
        start, target, fresh
    )
    later = start + timedelta(days=3, minutes=minutes)
    assert sla.business_time_between(start, later, _KEPT[zone]) == sla.business_time_between(
        start, later, fresh
    )
