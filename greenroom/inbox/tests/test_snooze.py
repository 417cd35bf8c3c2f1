"""Snoozing: a conversation set aside comes back at its time, or at once when the customer
writes again; it is out of the working queues meanwhile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from greenroom.api.tests.conftest import bearer, make_token
from greenroom.conftest import World
from greenroom.core.actions import ActionError
from greenroom.inbox import actions
from greenroom.inbox.models import ConversationStatus
from greenroom.inbox.tests.conftest import conversation_of, item, land


def test_a_snoozed_conversation_wakes_at_its_time(world: World) -> None:
    land(world.coffee_x, item("z1", "when is the sale?"))
    conversation = conversation_of(world.coffee_x, "z1")
    until = timezone.now() + timedelta(hours=2)
    assert actions.do_snooze([conversation], until, acting_user=world.alice) == 1
    conversation.refresh_from_db()
    assert (conversation.status, conversation.snoozed_until) == (ConversationStatus.SNOOZED, until)

    assert actions.do_wake_snoozed(until - timedelta(minutes=1)) == 0
    assert actions.do_wake_snoozed(until) == 1
    conversation.refresh_from_db()
    assert (conversation.status, conversation.snoozed_until) == (ConversationStatus.OPEN, None)


def test_a_new_message_wakes_a_snoozed_conversation_at_once(world: World) -> None:
    land(world.coffee_x, item("z2", "hi", kind="dm", author="minji", thread_id="t1"))
    conversation = conversation_of(world.coffee_x, "z2")
    actions.do_snooze([conversation], timezone.now() + timedelta(days=1), acting_user=world.alice)

    land(
        world.coffee_x,
        item("z3", "still there?", kind="dm", author="minji", thread_id="t1", at=timezone.now()),
    )

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.OPEN
    assert conversation.snoozed_until is None
    assert conversation.messages_in == 2


def test_snoozing_into_the_past_is_refused(world: World) -> None:
    land(world.coffee_x, item("z4", "hello"))
    conversation = conversation_of(world.coffee_x, "z4")
    with pytest.raises(ActionError):
        actions.do_snooze(
            [conversation], timezone.now() - timedelta(minutes=1), acting_user=world.alice
        )
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.OPEN


def test_snoozed_conversations_leave_the_working_queues(world: World, client: Client) -> None:
    land(world.coffee_x, item("q1", "later please", author="a"), item("q2", "now", author="b"))
    later = conversation_of(world.coffee_x, "q1")
    until = timezone.now() + timedelta(hours=3)
    actions.do_snooze([later], until, acting_user=world.alice)
    client.force_login(world.alice)

    def shown(queue: str) -> set[str]:
        response = client.get("/inbox/", {"queue": queue})
        assert response.status_code == 200
        return {row.handle for row in response.context["rows"]}

    assert shown("unassigned") == {"b"}
    assert shown("all") == {"b"}
    assert shown("snoozed") == {"a"}
    snoozed_page = client.get("/inbox/", {"queue": "snoozed"}).content.decode()
    assert "Snoozed until" in snoozed_page

    api = bearer(make_token(world, "alice")[1])
    listed = api.get("/api/inbox/conversations", {"queue": "snoozed"}).json()["items"]
    assert [row["id"] for row in listed] == [later.pk]
    listed = api.get("/api/inbox/conversations", {"queue": "unassigned"}).json()["items"]
    assert later.pk not in [row["id"] for row in listed]


# --- The Snooze menus -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "zone", "now", "expected"),
    [
        ("1h", "Asia/Seoul", "2026-11-27T23:30:00+00:00", "2026-11-28T00:30:00+00:00"),
        ("4h", "Asia/Seoul", "2026-11-27T23:30:00+00:00", "2026-11-28T03:30:00+00:00"),
        ("", "Asia/Seoul", "2026-11-27T23:30:00+00:00", "2026-11-28T03:30:00+00:00"),
        ("nonsense", "UTC", "2026-11-27T23:30:00+00:00", "2026-11-28T03:30:00+00:00"),
        # Seoul: it is already Saturday 08:30 there, so "tomorrow" is Sunday 09:00 KST.
        ("tomorrow", "Asia/Seoul", "2026-11-27T23:30:00+00:00", "2026-11-29T00:00:00+00:00"),
        # New York, the same moment: Friday 18:30, so Saturday 09:00 EST.
        ("tomorrow", "America/New_York", "2026-11-27T23:30:00+00:00", "2026-11-28T14:00:00+00:00"),
        # Monday 09:00 next week; on a Monday, the Monday after.
        ("monday", "Asia/Seoul", "2026-11-27T23:30:00+00:00", "2026-11-30T00:00:00+00:00"),
        ("monday", "UTC", "2026-11-30T08:00:00+00:00", "2026-12-07T09:00:00+00:00"),
        # Across the autumn clock change: 09:00 is EST (UTC-5) on the Monday after it, not EDT.
        ("monday", "America/New_York", "2026-10-30T12:00:00+00:00", "2026-11-02T14:00:00+00:00"),
    ],
)
def test_a_snooze_ends_when_its_menu_says_in_the_persons_zone(
    choice: str, zone: str, now: str, expected: str
) -> None:
    from datetime import datetime

    from greenroom.inbox.views import snooze_until

    with timezone.override(zone):
        assert snooze_until(choice, datetime.fromisoformat(now)) == datetime.fromisoformat(expected)


def test_the_conversation_page_snoozes_until_tomorrow_morning(client: Client, world: World) -> None:
    land(world.coffee_x, item("z9", "reply tomorrow is fine"))
    conversation = conversation_of(world.coffee_x, "z9")
    client.force_login(world.alice)
    page = client.get(f"/inbox/c/{conversation.pk}/").content.decode()
    assert '<option value="tomorrow">Tomorrow 09:00</option>' in page
    response = client.post(
        f"/inbox/c/{conversation.pk}/act/", {"action": "snooze", "snooze": "tomorrow"}
    )
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.SNOOZED
    assert conversation.snoozed_until is not None
    local = timezone.localtime(conversation.snoozed_until)
    assert (local.hour, local.minute) == (9, 0)
    assert local.date() == timezone.localdate() + timedelta(days=1)
