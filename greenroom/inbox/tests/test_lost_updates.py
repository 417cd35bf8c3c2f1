"""What a message changes on its conversation survives the people working on it at the same time.

A view reads the conversations it acts on before the action's transaction begins, and an
ingestion batch reads the conversations it adds to before it writes them back. A message that
lands in between, or an action that commits in between, must not be written over with the
earlier copy: that loses counters, the preview and, worst, the response clock (a conversation
shown as unanswered after its reply, or a new message without its SLA timer).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core.actions import ActionError
from greenroom.inbox import actions, ingest, signals, tasks
from greenroom.inbox.models import (
    Contact,
    Conversation,
    ConversationStatus,
    DeliveryStatus,
    Message,
)
from greenroom.inbox.tests.conftest import BASE, conversation_of, item, land
from greenroom.networks.actions import inbound_stored


def dm(external_id: str, text: str, minutes: int) -> Any:
    return item(
        external_id,
        text,
        kind="dm",
        author="hana",
        thread_id="t-hana",
        at=BASE + timedelta(minutes=minutes),
    )


@pytest.mark.parametrize(
    "act",
    [
        pytest.param(
            lambda c, w: actions.do_set_priority([c], "high", acting_user=w.alice), id="priority"
        ),
        pytest.param(
            lambda c, w: actions.do_snooze(
                [c], timezone.now() + timedelta(hours=2), acting_user=w.alice
            ),
            id="snooze",
        ),
        pytest.param(
            lambda c, w: actions.do_assign([c], w.bianca, acting_user=w.alice), id="assign"
        ),
    ],
)
def test_an_action_on_a_copy_read_before_a_new_message_keeps_the_message(
    world: World, act: Any
) -> None:
    land(world.coffee_x, dm("m1", "Where is my order?", 0))
    conversation = conversation_of(world.coffee_x, "m1")
    copy = Conversation.objects.get(pk=conversation.pk)  # what the view read
    land(world.coffee_x, dm("m2", "Hello? Still waiting", 5))
    after_message = Conversation.objects.get(pk=conversation.pk)
    assert after_message.messages_in == 2

    act(copy, world)

    stored = Conversation.objects.get(pk=conversation.pk)
    assert stored.messages_in == 2
    assert stored.preview == "Hello? Still waiting"
    assert stored.last_message_at == after_message.last_message_at
    assert stored.waiting_since == after_message.waiting_since
    assert stored.first_response_due_at is not None


def test_closing_a_copy_read_before_a_new_message_keeps_its_count(world: World) -> None:
    land(world.coffee_x, dm("m1", "Where is my order?", 0))
    copy = Conversation.objects.get(pk=conversation_of(world.coffee_x, "m1").pk)
    land(world.coffee_x, dm("m2", "Hello? Still waiting", 5))

    assert actions.do_close([copy], acting_user=world.alice) == 1

    stored = Conversation.objects.get(pk=copy.pk)
    assert stored.status == ConversationStatus.CLOSED
    assert stored.messages_in == 2
    assert stored.preview == "Hello? Still waiting"
    # The caller's copy is the stored conversation now.
    assert copy.messages_in == 2 and copy.status == ConversationStatus.CLOSED


def test_marking_a_person_vip_from_an_earlier_copy_keeps_what_their_messages_changed(
    world: World,
) -> None:
    land(world.coffee_x, dm("m1", "Where is my order?", 0))
    copy = Contact.objects.get(handle="hana")
    land(world.coffee_x, item("c1", "and hello from the comments", author="hana", name="Hana Kim"))
    assert Contact.objects.get(pk=copy.pk).messages_in == 2

    actions.do_update_contact(copy, is_vip=True, acting_user=world.alice)

    stored = Contact.objects.get(pk=copy.pk)
    assert stored.is_vip
    assert stored.messages_in == 2
    assert stored.name == "Hana Kim"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's write transactions exclude each other; PostgreSQL's do not",
)
def test_a_reply_marked_sent_while_a_batch_adds_to_its_conversation_is_kept(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbound_stored.disconnect(dispatch_uid="inbox.process_inbound")
    try:
        land(world.coffee_x, dm("m1", "Where is my order?", 0))
        conversation = conversation_of(world.coffee_x, "m1")
        reply = Message.objects.create(
            organization=world.acme,
            channel=world.coffee_x,
            conversation=conversation,
            direction="out",
            status=DeliveryStatus.SENDING,
            text="It left this morning!",
            author=world.bianca,
        )
        land(world.coffee_x, dm("m2", "Hello?", 5), process=False)
    finally:
        signals.connect()

    # The batch has read the conversation and waits before writing it back.
    read, write = threading.Event(), threading.Event()
    real = ingest._write_threads

    def paused(*args: Any, **kwargs: Any) -> None:
        read.set()
        assert write.wait(timeout=30)
        real(*args, **kwargs)

    monkeypatch.setattr(ingest, "_write_threads", paused)
    failures: list[BaseException] = []

    def run(work: Any) -> None:
        try:
            work()
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)
        finally:
            connections.close_all()

    batch = threading.Thread(target=run, args=(tasks.drain_inbound,))
    batch.start()
    assert read.wait(timeout=30)
    sent = threading.Thread(
        target=run, args=(lambda: actions.do_mark_reply_sent(reply, external_id="r-1"),)
    )
    sent.start()
    time.sleep(0.5)  # the reply is marked sent now, or waits for the batch
    write.set()
    batch.join(timeout=60)
    sent.join(timeout=60)
    assert failures == []

    stored = Conversation.objects.get(pk=conversation.pk)
    assert stored.messages_in == 2
    assert stored.messages_out == 1
    assert stored.first_response_at is not None
    assert stored.waiting_since is None
    assert stored.first_response_due_at is None


def test_acting_on_a_reply_thread_merged_meanwhile_says_so(world: World) -> None:
    # The reply arrives first and starts a conversation of its own...
    land(world.coffee_x, item("r1", "same here!", author="mina", in_reply_to="p1"))
    orphan = conversation_of(world.coffee_x, "r1")
    copy = Conversation.objects.get(pk=orphan.pk)  # what the view read
    # ...then its parent arrives and the reply's conversation is merged into the parent's.
    land(world.coffee_x, item("p1", "is the store open?", author="hana"))
    assert not Conversation.objects.filter(pk=orphan.pk).exists()

    with pytest.raises(ActionError, match="merged into another one"):
        actions.do_close([copy], acting_user=world.alice)
    parent = conversation_of(world.coffee_x, "p1")
    assert parent.status != ConversationStatus.CLOSED
    assert parent.messages_in == 2
