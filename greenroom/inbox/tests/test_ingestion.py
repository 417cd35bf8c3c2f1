"""Comments, mentions and DMs become conversations: once each, threaded, never lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import AuditEvent
from greenroom.inbox import actions, ingest, tasks
from greenroom.inbox.models import Contact, Conversation, ConversationStatus, Message
from greenroom.inbox.tests.conftest import BASE, conversation_of, item, land
from greenroom.networks.models import InboundEvent


def test_a_comment_delivered_by_webhook_lands_in_the_inbox(world: World, sandbox: Any) -> None:
    channel = world.coffee_x
    sandbox.connect(channel)
    sandbox.write(channel, "Is the oat latte back? 🙏", author="emma_k", in_reply_to="post_1")
    sandbox.deliver()

    conversation = Conversation.objects.get(channel=channel)
    assert conversation.kind == "comment"
    assert conversation.post_external_id == "post_1"
    assert conversation.status == ConversationStatus.OPEN
    assert conversation.contact is not None and conversation.contact.handle == "emma_k"
    assert conversation.first_response_due_at is not None
    message = conversation.messages.get()
    assert message.text == "Is the oat latte back? 🙏"
    assert message.raw["author"]["handle"] == "emma_k"
    assert not InboundEvent.objects.filter(processed_at__isnull=True).exists()


def test_a_replayed_delivery_is_stored_once(world: World) -> None:
    channel = world.coffee_x
    ids = land(channel, item("c1", "Where is my order?"))
    # The same webhook again, then the poll that overlaps it, then the task running twice.
    land(channel, item("c1", "Where is my order?"))
    actions.do_process_inbound(ids)
    InboundEvent.objects.filter(pk__in=ids).update(processed_at=None)
    report = actions.do_process_inbound(ids)

    assert report.duplicates == 1
    assert Message.objects.filter(channel=channel).count() == 1
    assert Conversation.objects.get(channel=channel).messages_in == 1


def test_a_reply_that_arrives_before_its_parent_joins_the_parents_thread(world: World) -> None:
    channel = world.coffee_x
    land(
        channel,
        item(
            "c2",
            "Same here, mine never came",
            author="jisoo",
            in_reply_to="c1",
            at=BASE + timedelta(minutes=5),
        ),
    )
    land(
        channel,
        item(
            "c3", "+1, also waiting", author="tom", in_reply_to="c2", at=BASE + timedelta(minutes=7)
        ),
    )
    assert Conversation.objects.filter(channel=channel).count() == 1

    land(channel, item("c1", "My order never arrived", author="minji", in_reply_to="post_9"))

    conversation = Conversation.objects.get(channel=channel)
    texts = list(conversation.messages.order_by("sent_at").values_list("external_id", flat=True))
    assert texts == ["c1", "c2", "c3"]
    assert conversation.post_external_id == "post_9"
    assert conversation.messages_in == 3
    # The clock runs from the oldest unanswered message.
    assert conversation.waiting_since == BASE


def test_dms_thread_by_person_and_a_closed_conversation_reopens(world: World) -> None:
    channel = world.coffee_x
    land(channel, item("d1", "hi, question about my order", kind="dm", author="sora"))
    land(
        channel,
        item("d2", "it's #123456", kind="dm", author="sora", at=BASE + timedelta(minutes=1)),
    )
    conversation = Conversation.objects.get(channel=channel)
    assert conversation.kind == "dm" and conversation.messages_in == 2

    actions.do_close([conversation], acting_user=world.alice)
    land(
        channel,
        item("d3", "still nothing", kind="dm", author="sora", at=BASE + timedelta(minutes=30)),
    )
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.OPEN
    assert conversation.first_response_due_at is not None


def test_a_person_has_one_history_across_channels_of_a_network(world: World) -> None:
    second_x = core_actions.do_create_channel(
        world.acme,
        brand=world.tea,
        kind="x",
        handle="@acmetea",
        sandboxed=True,
        acting_user=None,
    )
    land(world.coffee_x, item("x1", "love the coffee", author="hana"))
    land(second_x, item("x2", "and the tea!", author="hana"))
    contact = Contact.objects.get(handle="hana")
    assert contact.messages_in == 2
    assert contact.conversations.count() == 2


def test_a_killed_worker_loses_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    channel = world.coffee_x
    ids = land(channel, item("k1", "first"), item("k2", "second"), process=False)

    real = ingest._ingest_batch

    def dies_before_commit(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)  # the messages are written...
        raise SystemExit("worker killed")  # ...and the worker dies before the commit

    monkeypatch.setattr(ingest, "_ingest_batch", dies_before_commit)
    with pytest.raises(SystemExit):
        actions.do_process_inbound(ids)
    # Nothing committed: both events still wait, and no half-stored message exists.
    assert InboundEvent.objects.filter(pk__in=ids, processed_at__isnull=True).count() == 2
    assert not Message.objects.filter(channel=channel).exists()

    monkeypatch.setattr(ingest, "_ingest_batch", real)
    monkeypatch.setattr(tasks, "SWEEP_GRACE", timedelta(0))
    assert tasks.sweep_inbound() == 2
    assert Message.objects.filter(channel=channel).count() == 2


def test_an_unreadable_event_is_set_aside_not_retried_forever(world: World) -> None:
    channel = world.coffee_x
    ids = land(channel, item("u1", "fine"), process=False)
    InboundEvent.objects.filter(pk__in=ids).update(payload={"id": "u1"})
    report = actions.do_process_inbound(ids)
    assert report.unreadable == 1
    assert not InboundEvent.objects.filter(processed_at__isnull=True).exists()


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        # What connectors send, with a zone, with Z, with a fraction and another offset.
        ("2026-03-02T09:30:00+00:00", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
        ("2026-03-02T09:30:00Z", datetime(2026, 3, 2, 9, 30, tzinfo=UTC)),
        ("2026-03-02T18:30:00.250000+09:00", datetime(2026, 3, 2, 9, 30, 0, 250000, tzinfo=UTC)),
        # No zone, or no time at all: the arrival time stands in for it.
        ("2026-03-02T09:30:00", None),
        ("", None),
        # No network's time, and year 1 at +14:00 has no UTC equivalent to store: arrival time.
        ("0001-01-01T00:00:00+14:00", None),
        ("1969-12-31T23:59:59+00:00", None),
    ],
)
def test_a_message_keeps_the_time_its_payload_gives(
    world: World, written: str, expected: Any
) -> None:
    channel = world.coffee_x
    ids = land(channel, item("t1", "when?"), process=False)
    event = InboundEvent.objects.get(pk=ids[0])
    event.payload = {**event.payload, "created_at": written}
    event.save(update_fields=["payload"])
    actions.do_process_inbound(ids)
    sent_at = Message.objects.get(channel=channel, external_id="t1").sent_at
    assert sent_at == (expected if expected is not None else event.received_at)


def test_a_payload_whose_time_cannot_exist_is_set_aside(world: World) -> None:
    channel = world.coffee_x
    ids = land(channel, item("t13", "month thirteen"), process=False)
    event = InboundEvent.objects.get(pk=ids[0])
    event.payload = {**event.payload, "created_at": "2026-13-02T09:30:00+00:00"}
    event.save(update_fields=["payload"])
    report = actions.do_process_inbound(ids)
    assert report.unreadable == 1
    assert not Message.objects.filter(channel=channel, external_id="t13").exists()


def test_ingestion_is_audited_once_per_batch(world: World) -> None:
    land(world.coffee_x, item("a1", "one"), item("a2", "two", author="b"))
    event = AuditEvent.objects.filter(action="inbox.ingested").get()
    assert event.after["messages"] == 2


def test_language_sentiment_and_flags_are_read(world: World) -> None:
    channel = world.coffee_x
    land(
        channel,
        item("l1", "주문한 지 열흘인데 아직도 안 왔어요. 너무 실망이에요", author="a"),
        item("l2", "The new oat latte is amazing, thank you!", author="b"),
        item("l3", "🔥 Get 10k followers FAST 👉 bit.ly/grow-now", author="c"),
    )
    korean = conversation_of(channel, "l1")
    assert (korean.language, korean.sentiment) == ("ko", "negative")
    english = conversation_of(channel, "l2")
    assert (english.language, english.sentiment) == ("en", "positive")
    spam = conversation_of(channel, "l3")
    assert spam.is_spam and "spam" in spam.tags
