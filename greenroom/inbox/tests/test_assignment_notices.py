"""A person a colleague assigns conversations to is told: once per hand-over, with what each
customer wrote, when the answer is due and a link; never for what they took themselves or what
routing handed out."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from greenroom.conftest import World
from greenroom.core.models import User
from greenroom.inbox import actions, tasks
from greenroom.inbox.models import Conversation
from greenroom.inbox.tests.conftest import Captured, conversation_of, item, land


@pytest.fixture
def listening(escalations: Captured, world: World) -> Captured:
    escalations.notifications.clear()
    for name in ("adam", "agnes", "alice", "bianca"):
        person = world.people[name]
        actions.do_set_notify_url(world.acme, person, url=f"capture://{name}", acting_user=person)
    return escalations


def test_the_assignee_hears_what_was_written_and_when_it_is_due(
    world: World, listening: Captured, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BASE_URL = "https://greenroom.example.org"
    User.objects.filter(pk=world.agnes.pk).update(timezone="Asia/Seoul")
    land(world.tea_bluesky, item("a1", "Your tea made me sick <b>twice</b>", author="jun"))
    conversation = conversation_of(world.tea_bluesky, "a1")
    assert conversation.sla_due_at is not None

    with django_capture_on_commit_callbacks(execute=True):
        actions.do_assign([conversation], world.agnes, acting_user=world.alice)

    (sent,) = listening.notifications
    assert sent["url"] == "capture://agnes"
    assert sent["title"] == f"Alice assigned you a conversation on {world.tea_bluesky.name}"
    body = sent["body"]
    assert f"from Jun on {world.tea_bluesky.name}" in body
    assert "> Your tea made me sick <b>twice</b>" in body  # plain text, as written
    due = conversation.sla_due_at.astimezone(ZoneInfo("Asia/Seoul"))
    assert f"Answer by {due:%Y-%m-%d %H:%M} (Asia/Seoul)" in body
    assert f"https://greenroom.example.org/inbox/c/{conversation.pk}/" in body


def test_nobody_is_told_about_what_they_took_or_kept(
    world: World, listening: Captured, django_capture_on_commit_callbacks: Any
) -> None:
    land(world.tea_bluesky, item("b1", "hello", author="jun"))
    land(world.tea_bluesky, item("b2", "hello again", author="mia"))
    first = conversation_of(world.tea_bluesky, "b1")
    second = conversation_of(world.tea_bluesky, "b2")
    with django_capture_on_commit_callbacks(execute=True):
        # Taking one yourself, and answering an unassigned one (which takes it).
        actions.do_assign([first], world.agnes, acting_user=world.agnes)
        actions.do_reply(second, "On it!", acting_user=world.agnes)
    assert listening.notifications == []
    second.refresh_from_db()
    assert second.assignee_id == world.agnes.pk
    # Assigning someone what they already have, or unassigning, tells nobody either.
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_assign([first], world.agnes, acting_user=world.alice)
        actions.do_assign([second], None, acting_user=world.alice)
    assert listening.notifications == []


def test_a_bulk_hand_over_is_one_notice_soonest_due_first(
    world: World, listening: Captured, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BASE_URL = "https://greenroom.example.org"
    for n in range(12):
        land(world.coffee_x, item(f"c{n}", f"question number {n}", author=f"fan{n}"))
    conversations = list(Conversation.objects.filter(channel=world.coffee_x))
    assert len(conversations) == 12
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_assign(conversations, world.adam, acting_user=world.alice)

    (sent,) = listening.notifications
    assert sent["url"] == "capture://adam"
    assert sent["title"] == "Alice assigned you 12 conversations"
    quoted = re.findall(r"^> question number (\d+)$", sent["body"], flags=re.M)
    assert len(quoted) == 10
    order = Conversation.objects.filter(channel=world.coffee_x).order_by("sla_due_at", "pk")
    expected = [c.preview.rsplit(" ", 1)[1] for c in order[:10]]
    assert quoted == expected
    assert "… and 2 more: https://greenroom.example.org/inbox/?queue=mine" in sent["body"]


def test_the_notice_says_what_is_still_theirs_when_it_is_written(
    world: World, listening: Captured
) -> None:
    land(world.coffee_x, item("d1", "first", author="fan1"))
    land(world.coffee_x, item("d2", "second", author="fan2"))
    one, two = conversation_of(world.coffee_x, "d1"), conversation_of(world.coffee_x, "d2")
    actions.do_assign([one, two], world.adam, acting_user=world.alice)
    # Before the task runs, Bianca takes one over.
    actions.do_assign([two], world.bianca, acting_user=world.bianca)
    listening.notifications.clear()

    assert tasks.notify_assigned(world.adam.pk, [one.pk, two.pk], world.alice.pk) == ["adam"]
    (sent,) = listening.notifications
    assert "> first" in sent["body"] and "> second" not in sent["body"]
    assert sent["title"].endswith(world.coffee_x.name)  # one conversation: it names the channel

    # All gone, or the person left the organisation: nothing is sent.
    listening.notifications.clear()
    assert tasks.notify_assigned(world.adam.pk, [two.pk], world.alice.pk) == []
    world.adam.memberships.update(is_active=False)
    assert tasks.notify_assigned(world.adam.pk, [one.pk], world.alice.pk) == []
    assert listening.notifications == []


def test_another_organisations_conversation_is_never_named(
    world: World, listening: Captured
) -> None:
    land(world.globex_x, item("g1", "Globex secret", author="spy"))
    theirs = conversation_of(world.globex_x, "g1")
    Conversation.objects.filter(pk=theirs.pk).update(assignee=world.adam)
    assert tasks.notify_assigned(world.adam.pk, [theirs.pk], world.alice.pk) == []
    assert listening.notifications == []


def test_the_assignee_reads_it_in_their_language(
    world: World, listening: Captured, django_capture_on_commit_callbacks: Any
) -> None:
    User.objects.filter(pk=world.agnes.pk).update(language="ko")
    land(world.tea_bluesky, item("k1", "배송이 아직 안 왔어요 ☕", author="minji"))
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_assign(
            [conversation_of(world.tea_bluesky, "k1")], world.agnes, acting_user=world.alice
        )
    (sent,) = listening.notifications
    assert "배정" in sent["title"]
    assert "> 배송이 아직 안 왔어요 ☕" in sent["body"]
    assert "까지 답하세요" in sent["body"]


def test_a_conversation_the_person_may_not_open_is_never_named(
    world: World, listening: Captured
) -> None:
    """Agnes answers on Tea only. A Coffee conversation that ended up hers (an old assignment,
    her access narrowed since) is not quoted to her; a Tea one in the same hand-over is."""
    land(world.coffee_x, item("r1", "Coffee secret", author="fan1"))
    land(world.tea_bluesky, item("r2", "Tea question", author="fan2"))
    coffee, tea = conversation_of(world.coffee_x, "r1"), conversation_of(world.tea_bluesky, "r2")
    Conversation.objects.filter(pk__in=[coffee.pk, tea.pk]).update(assignee=world.agnes)

    assert tasks.notify_assigned(world.agnes.pk, [coffee.pk, tea.pk], world.alice.pk) == ["agnes"]
    (sent,) = listening.notifications
    assert "> Tea question" in sent["body"] and "Coffee secret" not in sent["body"]
    listening.notifications.clear()
    assert tasks.notify_assigned(world.agnes.pk, [coffee.pk], world.alice.pk) == []
    assert listening.notifications == []
