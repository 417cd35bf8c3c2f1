"""Replies held for approval are announced: to the people who may approve them when they start
waiting (the customer's clock runs meanwhile), and to their author when they are sent back."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from greenroom.conftest import World
from greenroom.core.models import User
from greenroom.inbox import actions, tasks
from greenroom.inbox.models import DeliveryStatus, Message
from greenroom.inbox.tests.conftest import Captured, conversation_of, item, land


@pytest.fixture
def everyone_listens(escalations: Captured, world: World) -> Captured:
    """Everyone but April has an apprise URL of their own (April is told by e-mail)."""
    escalations.notifications.clear()
    for name in ("adam", "agnes", "anna", "bianca", "alice", "carl", "paul", "otto"):
        person = world.people[name]
        actions.do_set_notify_url(world.acme, person, url=f"capture://{name}", acting_user=person)
    return escalations


def held_reply(world: World, text: str = "So sorry! DM us your order number") -> Message:
    actions.do_save_routing_rule(
        world.acme, name="Careful", require_approval=True, acting_user=world.alice
    )
    land(world.tea_bluesky, item("t1", "Your tea made me sick <b>twice</b>", author="jun"))
    conversation = conversation_of(world.tea_bluesky, "t1")
    reply = actions.do_reply(conversation, text, acting_user=world.agnes)
    assert reply.status == DeliveryStatus.AWAITING_APPROVAL
    return reply


def test_everyone_who_may_approve_on_the_channel_is_asked_but_not_the_author(
    world: World, everyone_listens: Captured, settings: Any
) -> None:
    settings.BASE_URL = "https://greenroom.example.org"
    reply = held_reply(world)

    delivered = tasks.notify_reply_waiting(reply.pk)

    # Alice (owner) and Adam (admin) approve on every channel; April approves Tea's, and has no
    # URL of her own, so she is e-mailed. Bianca manages Coffee only; Agnes wrote it; the rest
    # (agent, analyst, auditor, publisher, contributor) may not approve.
    assert delivered == ["alice", "adam", "e-mail to april"]
    assert sorted(n["url"] for n in everyone_listens.notifications) == [
        "capture://adam",
        "capture://alice",
    ]
    assert [m.to for m in mail.outbox] == [[world.april.email]]
    sent = everyone_listens.notifications[0]
    assert "Agnes" in sent["title"] and "waits for your approval" in sent["title"]
    # What the customer wrote and the reply, quoted as they are (plain text), and where to decide.
    assert "> Your tea made me sick <b>twice</b>" in sent["body"]
    assert "> So sorry! DM us your order number" in sent["body"]
    assert "https://greenroom.example.org/inbox/approvals/" in sent["body"]


def test_approvers_read_it_in_their_language(world: World, everyone_listens: Captured) -> None:
    User.objects.filter(pk=world.adam.pk).update(language="ko")
    reply = held_reply(world)
    tasks.notify_reply_waiting(reply.pk)
    to_adam = next(n for n in everyone_listens.notifications if n["url"] == "capture://adam")
    assert "승인" in to_adam["title"]
    assert "고객이 쓴 글:" in to_adam["body"]


def test_the_notice_goes_after_the_reply_is_stored_and_only_for_held_replies(
    world: World, everyone_listens: Captured, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        reply = held_reply(world)
    assert everyone_listens.notifications == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert len(everyone_listens.notifications) == 2
    # Decided already: a late task tells nobody.
    actions.do_approve_reply(reply, acting_user=world.alice)
    everyone_listens.notifications.clear()
    assert tasks.notify_reply_waiting(reply.pk) == []
    # An approver's own reply does not wait, so nobody is asked.
    land(world.tea_bluesky, item("t2", "and another thing", author="mia"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        own = actions.do_reply(
            conversation_of(world.tea_bluesky, "t2"), "On it", acting_user=world.alice
        )
    assert own.status != DeliveryStatus.AWAITING_APPROVAL
    assert not any("notify_reply_waiting" in repr(c) for c in callbacks)


def test_a_reply_sent_back_tells_its_author_why(
    world: World, everyone_listens: Captured, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.BASE_URL = "https://greenroom.example.org"
    reply = held_reply(world)
    everyone_listens.notifications.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.do_reject_reply(
            reply, reason="Don't ask for order numbers in public", acting_user=world.alice
        )
    (sent,) = everyone_listens.notifications
    assert sent["url"] == "capture://agnes"
    assert "Alice" in sent["title"] and "sent back your reply" in sent["title"]
    assert "> Don't ask for order numbers in public" in sent["body"]
    assert "> So sorry! DM us your order number" in sent["body"]
    assert f"https://greenroom.example.org/inbox/c/{reply.conversation_id}/" in sent["body"]


def test_an_author_who_left_is_not_told(world: World, everyone_listens: Captured) -> None:
    reply = held_reply(world)
    actions.do_reject_reply(reply, reason="", acting_user=world.alice)
    world.agnes.memberships.update(is_active=False)
    everyone_listens.notifications.clear()
    assert tasks.notify_reply_returned(reply.pk) == []
    assert everyone_listens.notifications == []
