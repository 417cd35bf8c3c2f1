"""Business hours and holidays on the inbox settings page: the form, who may use it, and SLA
due times that follow what was saved there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from greenroom.conftest import World
from greenroom.core.models import AuditEvent, User
from greenroom.inbox import actions
from greenroom.inbox.models import BusinessHours, SlaPolicy
from greenroom.inbox.tests.conftest import conversation_of, item, land

WEEK = {
    "day0": "09:00-12:00, 13:00-18:00",
    "day1": "09:00-18:00",
    "day2": "09:00-18:00",
    "day3": "09:00-18:00",
    "day4": "09:00-18:00",
    "day5": "",
    "day6": "closed",
}


def _form(**changes: Any) -> dict[str, Any]:
    return {
        "form": "hours",
        "name": "Seoul office",
        "timezone": "",
        **WEEK,
        "holidays": "2026-12-25 Christmas Day\n2027-01-01",
        **changes,
    }


def test_an_owner_saves_business_hours_from_the_settings_page(client: Client, world: World) -> None:
    client.force_login(world.alice)
    response = client.post("/inbox/settings/", _form())
    assert response.status_code == 302
    hours = BusinessHours.objects.get(organization=world.acme)
    assert hours.weekly == [[["09:00", "12:00"], ["13:00", "18:00"]]] + [
        [["09:00", "18:00"]]
    ] * 4 + [[], []]
    assert hours.holidays == ["2026-12-25", "2027-01-01"]
    assert hours.holiday_names == {"2026-12-25": "Christmas Day"}
    assert hours.timezone == ""  # each channel's own zone
    assert AuditEvent.objects.filter(
        action="inbox.business_hours_saved", actor=world.alice, target_id=str(hours.pk)
    ).exists()
    page = client.get("/inbox/settings/").content.decode()
    assert "2026-12-25 Christmas Day" in page
    assert "09:00-12:00, 13:00-18:00" in page

    # Editing the same hours changes them in place.
    response = client.post(
        "/inbox/settings/",
        _form(hours_id=str(hours.pk), timezone="Europe/London", day5="10:00-14:00"),
    )
    assert response.status_code == 302
    hours.refresh_from_db()
    assert (hours.timezone, hours.weekly[5]) == ("Europe/London", [["10:00", "14:00"]])
    assert BusinessHours.objects.filter(organization=world.acme).count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"day1": "18:00-09:00"}, "Tuesday: 18:00-09:00 closes before it opens."),
        ({"day2": "09:00-13:00, 12:00-18:00"}, "Wednesday: 09:00-13:00 and 12:00-18:00 overlap."),
        ({"day3": "9am to 5"}, "Thursday: “9am to 5” is not a range like 09:00-18:00."),
        ({"day4": "09:00-25:00"}, "Friday: “25:00” is not a time of day like 09:00."),
        (
            {"holidays": "2026-12-25\n2026-02-30 Nope"},
            "Holidays, line 2: “2026-02-30” is not a date like 2026-12-25.",
        ),
        ({"timezone": "Mars/Olympus"}, "Mars/Olympus is not a time zone"),
        ({f"day{n}": "" for n in range(7)}, "The hours are never open"),
        ({"name": ""}, "Give the business hours a name."),
    ],
)
def test_mistakes_are_named_and_nothing_typed_is_lost(
    client: Client, world: World, changes: dict[str, str], message: str
) -> None:
    client.force_login(world.alice)
    response = client.post("/inbox/settings/", _form(**changes))
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    # What was typed is still in the form.
    for value in changes.values():
        if value:
            assert value.splitlines()[0] in page
    assert not BusinessHours.objects.exists()


@pytest.mark.parametrize("person", ["bianca", "agnes"])
def test_people_who_do_not_manage_the_organisation_cannot_save_hours(
    client: Client, world: World, person: str
) -> None:
    client.force_login(world.people[person])
    assert client.post("/inbox/settings/", _form()).status_code == 403
    assert not BusinessHours.objects.exists()


@pytest.mark.parametrize("person", ["paul", "anna", "charlie"])
def test_people_outside_the_inbox_get_a_404(client: Client, world: World, person: str) -> None:
    client.force_login(world.people[person])
    assert client.post("/inbox/settings/", _form()).status_code in (404, 302)
    assert not BusinessHours.objects.exists()


def test_another_organisations_hours_are_a_404(client: Client, world: World) -> None:
    theirs = actions.do_save_business_hours(
        world.globex,
        name="Globex",
        weekly=[[["08:00", "16:00"]]] * 7,
        holidays=[],
        acting_user=world.gina,
    )
    client.force_login(world.alice)
    response = client.post("/inbox/settings/", _form(hours_id=str(theirs.pk)))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Globex"
    assert "Globex" not in client.get("/inbox/settings/").content.decode()


def test_sla_due_times_follow_the_hours_saved_through_the_form(
    client: Client, world: World
) -> None:
    client.force_login(world.alice)
    client.post("/inbox/settings/", _form(holidays="2026-06-08 Office closed"))
    hours = BusinessHours.objects.get(organization=world.acme)
    response = client.post(
        "/inbox/settings/",
        {
            "form": "policy",
            "name": "Office hours",
            "first_response_minutes": "60",
            "business_hours": str(hours.pk),
        },
    )
    assert response.status_code == 302
    assert SlaPolicy.objects.get(organization=world.acme).business_hours == hours
    # Saturday 2026-06-06 10:00 in Seoul (the channel's zone); Monday the 8th is a holiday, so
    # the hour runs Tuesday 09:00-10:00 Seoul = 01:00 UTC.
    land(world.coffee_x, item("bh1", "weekend question", at=datetime(2026, 6, 6, 1, tzinfo=UTC)))
    due = conversation_of(world.coffee_x, "bh1").first_response_due_at
    assert due == datetime(2026, 6, 9, 1, 0, tzinfo=UTC)


def test_the_form_and_its_mistakes_read_in_korean(client: Client, world: World) -> None:
    User.objects.filter(pk=world.alice.pk).update(language="ko")
    client.force_login(User.objects.get(pk=world.alice.pk))
    response = client.post("/inbox/settings/", _form(day1="18:00-09:00"), HTTP_ACCEPT_LANGUAGE="ko")
    page = response.content.decode()
    assert response.status_code == 400
    assert "영업시간과 휴일" in page
    assert "화요일: 18:00-09:00은(는) 여는 시각보다 닫는 시각이 빠릅니다." in page
