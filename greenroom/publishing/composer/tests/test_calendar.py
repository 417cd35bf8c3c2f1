"""The calendar: posts on the day they go out in the viewer's zone, filters, campaign colours,
and rescheduling by drag (JSON) or by the keyboard form, with the publishing app's rights."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import AuditEvent, Channel, User
from greenroom.publishing import actions
from greenroom.publishing.models import Post, Variant, VariantState

MONTH = "/publishing/calendar/"
WEEK = "/publishing/calendar/week/"
MOVE = "/publishing/calendar/reschedule/"
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
JSON = {"Accept": "application/json"}


def in_seoul(*people: User) -> None:
    for person in people:
        core_actions.do_update_preferences(
            person, language="en", timezone_name="Asia/Seoul", acting_user=person
        )


def scheduled(
    world: World,
    at: datetime,
    *,
    text: str = "Cold brew is back",
    channels: list[Channel] | None = None,
    author: User | None = None,
    **kwargs: object,
) -> Post:
    """A post scheduled by someone who may publish without approval (paul by default)."""
    author = author or world.paul
    post = actions.do_create_post(
        world.acme,
        text=text,
        channels=channels or [world.coffee_x],
        publish_at=at,
        acting_user=author,
        **kwargs,  # type: ignore[arg-type]
    )
    return actions.do_submit_for_approval(post, acting_user=author)


def next_month_day(day: int) -> date:
    today = timezone.now().date()
    return (today.replace(day=1) + timedelta(days=32)).replace(day=day)


def cell_of(body: str, text: str) -> str | None:
    """The data-date of the calendar cell holding `text`."""
    for match in re.finditer(r'<td class="gr-cal-(?:day|slot)[^"]*" data-date="([0-9-]+)"', body):
        end = body.find("</td>", match.end())
        if text in body[match.end() : end]:
            return match.group(1)
    return None


def slot_of(body: str, text: str) -> tuple[str, int] | None:
    """The (date, hour) of the week view's slot holding `text`."""
    pattern = r'<td class="gr-cal-slot[^"]*" data-date="([0-9-]+)" data-hour="([0-9]+)"'
    for match in re.finditer(pattern, body):
        end = body.find("</td>", match.end())
        if text in body[match.end() : end]:
            return match.group(1), int(match.group(2))
    return None


# --- Time zones ----------------------------------------------------------------------------------


def test_a_post_at_2330_utc_shows_on_the_next_day_in_seoul(
    client_for: Callable[[str], Client], world: World
) -> None:
    day = next_month_day(10)
    at = datetime(day.year, day.month, day.day, 23, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    scheduled(world, at, text="Late night launch")
    in_seoul(world.paul)
    body = client_for("paul").get(MONTH, {"date": day.isoformat()}).content.decode()
    assert cell_of(body, "Late night launch") == (day + timedelta(days=1)).isoformat()
    assert "08:30" in body  # Seoul is UTC+9
    # The week view puts it at 08:00 on the 11th.
    body = client_for("paul").get(WEEK, {"date": day.isoformat()}).content.decode()
    assert slot_of(body, "Late night launch") == ((day + timedelta(days=1)).isoformat(), 8)

    # Someone in UTC sees the 10th at 23:30.
    body = client_for("bianca").get(MONTH, {"date": day.isoformat()}).content.decode()
    assert cell_of(body, "Late night launch") == day.isoformat()
    assert "23:30" in body


def test_a_published_channel_shows_when_it_went_out(
    client_for: Callable[[str], Client], world: World
) -> None:
    day = next_month_day(3)
    post = scheduled(world, datetime(day.year, day.month, day.day, 12, 0, tzinfo=SEOUL))
    went_out = datetime(day.year, day.month, day.day + 1, 9, 0, tzinfo=SEOUL)
    Variant.objects.filter(post=post).update(state=VariantState.PUBLISHED, published_at=went_out)
    in_seoul(world.paul)
    body = client_for("paul").get(MONTH, {"date": day.isoformat()}).content.decode()
    assert cell_of(body, "Cold brew is back") == (day + timedelta(days=1)).isoformat()
    # Published posts cannot be moved: no drag handle, no "Move" form.
    assert 'draggable="true"' not in body
    assert 'name="publish_at"' not in body


# --- What the calendar shows ---------------------------------------------------------------------


def test_filters_campaign_colours_and_reach(
    client_for: Callable[[str], Client], world: World
) -> None:
    day = next_month_day(15)
    at = datetime(day.year, day.month, day.day, 10, 0, tzinfo=SEOUL)
    winter = actions.do_create_campaign(
        world.acme, name="Winter", colour="#aa3366", acting_user=world.alice
    )
    scheduled(world, at, text="Coffee on X", campaign=winter)
    scheduled(world, at, text="Tea on Bluesky", channels=[world.tea_bluesky])
    scheduled(world, at, text="By alice", author=world.alice)
    paul = client_for("paul")

    body = paul.get(MONTH, {"date": day.isoformat()}).content.decode()
    assert "Coffee on X" in body and "Tea on Bluesky" in body
    assert "border-left-color: #aa3366" in body  # the campaign's colour
    assert "Winter" in body  # the legend

    body = paul.get(MONTH, {"date": day.isoformat(), "network": "bluesky"}).content.decode()
    assert "Tea on Bluesky" in body and "Coffee on X" not in body
    body = paul.get(MONTH, {"date": day.isoformat(), "campaign": str(winter.pk)}).content.decode()
    assert "Coffee on X" in body and "Tea on Bluesky" not in body
    body = paul.get(
        MONTH, {"date": day.isoformat(), "author": str(world.alice.pk)}
    ).content.decode()
    assert "By alice" in body and "Coffee on X" not in body
    body = paul.get(MONTH, {"date": day.isoformat(), "state": "published"}).content.decode()
    assert "Coffee on X" not in body
    body = paul.get(MONTH, {"date": day.isoformat(), "brand": str(world.tea.pk)}).content.decode()
    assert "Tea on Bluesky" in body and "Coffee on X" not in body

    # Bianca manages Coffee only: Tea's posts are not on her calendar; Globex sees nothing.
    body = client_for("bianca").get(MONTH, {"date": day.isoformat()}).content.decode()
    assert "Coffee on X" in body and "Tea on Bluesky" not in body
    body = client_for("gina").get(MONTH, {"date": day.isoformat()}).content.decode()
    assert "Coffee on X" not in body and "Tea on Bluesky" not in body


# --- Rescheduling --------------------------------------------------------------------------------


@pytest.fixture
def planned(world: World) -> Variant:
    day = next_month_day(20)
    post = scheduled(world, datetime(day.year, day.month, day.day, 10, 15, tzinfo=SEOUL))
    return Variant.objects.get(post=post)


def test_dragging_reschedules_in_the_persons_zone(
    client_for: Callable[[str], Client], world: World, planned: Variant
) -> None:
    in_seoul(world.paul)
    assert planned.publish_at is not None
    new_day = timezone.localtime(planned.publish_at, SEOUL).date() + timedelta(days=2)
    response = client_for("paul").post(
        MOVE,
        {"variants": str(planned.pk), "publish_at": f"{new_day.isoformat()}T10:15"},
        headers=JSON,
    )
    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True
    assert response.json()["date"] == new_day.isoformat()
    planned.refresh_from_db()
    assert planned.publish_at == datetime.combine(new_day, datetime.min.time(), SEOUL).replace(
        hour=10, minute=15
    )
    assert planned.state == VariantState.SCHEDULED
    assert AuditEvent.objects.filter(
        action="variant.rescheduled", target_id=str(planned.pk), actor=world.paul
    ).exists()


def test_the_keyboard_form_moves_it_too(
    client_for: Callable[[str], Client], world: World, planned: Variant
) -> None:
    paul = client_for("paul")
    assert planned.publish_at is not None
    month = timezone.localtime(planned.publish_at).date().isoformat()
    body = paul.get(MONTH, {"date": month}).content.decode()
    assert f'name="variants" value="{planned.pk}"' in body  # the "Move" form of the entry
    later = timezone.localtime(planned.publish_at) + timedelta(hours=3)
    response = paul.post(
        MOVE,
        {
            "variants": str(planned.pk),
            "publish_at": later.strftime("%Y-%m-%dT%H:%M"),
            "next": f"{MONTH}?date={month}",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == f"{MONTH}?date={month}"
    assert "moved to" in response.content.decode()
    planned.refresh_from_db()
    assert timezone.localtime(planned.publish_at).hour == later.hour


def test_someone_who_may_not_schedule_gets_the_reason(
    client_for: Callable[[str], Client], world: World, planned: Variant
) -> None:
    before = planned.publish_at
    assert before is not None
    # Carl may only draft, and the post is Paul's: he sees it but may not move it.
    body = (
        client_for("carl")
        .get(MONTH, {"date": timezone.localtime(before).date().isoformat()})
        .content.decode()
    )
    assert "Cold brew is back" in body and 'draggable="true"' not in body
    response = client_for("carl").post(
        MOVE,
        {"variants": str(planned.pk), "publish_at": "2099-01-01T09:00"},
        headers=JSON,
    )
    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert "publish permission" in response.json()["message"]
    planned.refresh_from_db()
    assert planned.publish_at == before

    # Without JavaScript the same refusal comes back as a message on the calendar.
    response = client_for("carl").post(
        MOVE, {"variants": str(planned.pk), "publish_at": "2099-01-01T09:00"}, follow=True
    )
    assert "publish permission" in response.content.decode()


def test_a_post_out_of_reach_is_a_404(client_for: Callable[[str], Client], world: World) -> None:
    day = next_month_day(21)
    post = scheduled(
        world,
        datetime(day.year, day.month, day.day, 9, 0, tzinfo=SEOUL),
        channels=[world.tea_bluesky],
    )
    tea = Variant.objects.get(post=post)
    move = {"variants": str(tea.pk), "publish_at": "2099-01-01T09:00"}
    assert client_for("bianca").post(MOVE, move, headers=JSON).status_code == 404  # Coffee only
    assert client_for("gina").post(MOVE, move, headers=JSON).status_code == 404  # another tenant
    assert (
        client_for("paul").post(MOVE, {**move, "variants": "999999"}, headers=JSON).status_code
        == 404
    )


def test_a_time_in_the_past_is_refused_with_the_reason(
    client_for: Callable[[str], Client], world: World, planned: Variant
) -> None:
    response = client_for("paul").post(
        MOVE, {"variants": str(planned.pk), "publish_at": "2001-01-01T09:00"}, headers=JSON
    )
    assert response.status_code == 400
    assert "already passed" in response.json()["message"]
    response = client_for("paul").post(
        MOVE, {"variants": str(planned.pk), "publish_at": "not a time"}, headers=JSON
    )
    assert response.status_code == 400
