"""The batched ingestion path: many landed events in one transaction behave exactly like the
same events taken one at a time, and a failing batch loses nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import AuditEvent
from greenroom.inbox import actions, ingest, tasks
from greenroom.inbox.models import (
    AgentProfile,
    AgentStatus,
    Contact,
    Conversation,
    InboxActivity,
    Message,
    UnreadableEvent,
)
from greenroom.inbox.tests.conftest import BASE, conversation_of, item, land
from greenroom.networks.actions import do_ingest_inbound
from greenroom.networks.base import InboundItem
from greenroom.networks.models import InboundEvent


def _pending() -> list[int]:
    return list(
        InboundEvent.objects.filter(processed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def test_the_same_message_delivered_twice_before_the_worker_runs_is_stored_once(
    world: World,
) -> None:
    channel = world.coffee_x
    first = do_ingest_inbound(
        channel,
        [item("d1", "Where is my order?"), item("d1", "Where is my order?"), item("d2", "Hi")],
        source="webhook",
    )
    again = do_ingest_inbound(channel, [item("d1", "Where is my order?")], source="poll")
    assert (first.created, first.duplicates, again.created, again.duplicates) == (2, 1, 0, 1)

    report = actions.do_process_inbound()

    assert (report.events, report.messages, report.duplicates) == (2, 2, 0)
    assert Message.objects.filter(channel=channel, external_id="d1").count() == 1
    assert Contact.objects.get(handle="minji").messages_in == 2


def test_a_batch_mixing_replayed_and_new_events_stores_only_the_new_ones(world: World) -> None:
    channel = world.coffee_x
    stored = land(channel, item("r1", "first"), item("r2", "second", author="tom"))
    # The same events come back (a worker died after its commit but before its ack, an operator
    # replayed them) together with new ones.
    InboundEvent.objects.filter(pk__in=stored).update(processed_at=None)
    land(channel, item("r3", "third", author="ana"), process=False)

    report = actions.do_process_inbound()

    assert (report.messages, report.duplicates) == (1, 2)
    assert Message.objects.filter(channel=channel).count() == 3
    assert sorted(Conversation.objects.values_list("messages_in", flat=True)) == [1, 1, 1]
    assert Contact.objects.get(handle="minji").messages_in == 1
    assert InboxActivity.objects.filter(kind="message_in").count() == 3
    assert not _pending()


def test_a_replay_across_batches_changes_nothing(world: World) -> None:
    channel = world.coffee_x
    land(channel, item("x1", "Where is my order?"))
    before = Conversation.objects.values().get()

    land(channel, item("x1", "Where is my order?"))
    actions.do_process_inbound()

    assert Conversation.objects.values().get() == before
    assert Message.objects.count() == 1


def test_a_reply_before_its_parent_in_the_same_batch_joins_the_parents_thread(
    world: World,
) -> None:
    channel = world.coffee_x
    do_ingest_inbound(
        channel,
        [
            item(
                "c2", "Same here", author="jisoo", in_reply_to="c1", at=BASE + timedelta(minutes=5)
            ),
            item("c3", "+1", author="tom", in_reply_to="c2", at=BASE + timedelta(minutes=7)),
            item("c1", "My order never arrived", author="minji", in_reply_to="post_9", at=BASE),
        ],
        source="webhook",
    )
    report = actions.do_process_inbound()

    assert (report.messages, report.conversations) == (3, 1)
    conversation = Conversation.objects.get(channel=channel)
    assert list(
        conversation.messages.order_by("sent_at").values_list("external_id", flat=True)
    ) == ["c1", "c2", "c3"]
    assert conversation.post_external_id == "post_9"
    assert conversation.messages_in == 3
    assert conversation.waiting_since == BASE
    assert conversation.preview == "+1"


def test_a_reply_before_its_parent_across_batches_is_adopted_when_the_parent_arrives(
    world: World,
) -> None:
    channel = world.coffee_x
    land(
        channel,
        item("c2", "Same here", author="jisoo", in_reply_to="c1", at=BASE + timedelta(minutes=5)),
    )
    orphan = conversation_of(channel, "c2")
    assert orphan.post_external_id == "c1"
    # The parent arrives in a later batch with an unrelated message.
    land(
        channel,
        item("c1", "My order never arrived", in_reply_to="post_9", at=BASE),
        item("z1", "Unrelated", author="ana", at=BASE + timedelta(minutes=1)),
    )

    parent = conversation_of(channel, "c1")
    assert conversation_of(channel, "c2") == parent
    assert not Conversation.objects.filter(pk=orphan.pk).exists()
    assert parent.post_external_id == "post_9"
    assert parent.messages_in == 2
    assert InboxActivity.objects.filter(conversation=parent, kind="message_in").count() == 2
    assert Conversation.objects.count() == 2


def _routing_world(world: World) -> list[InboundItem]:
    """Rules, a team with capacities and an away agent, and messages that exercise them."""
    extra = [
        core_actions.do_create_user(
            username=n, email=f"{n}@example.com", password=None, acting_user=None
        )
        for n in ("ben", "cho", "dan")
    ]
    for person in extra:
        core_actions.do_add_member(world.acme, person, "community_agent", acting_user=world.alice)
    ben, cho, dan = extra
    team = core_actions.do_create_team(
        world.acme, name="Care", members=[world.adam, ben, cho, dan], acting_user=world.alice
    )
    actions.do_set_agent(world.acme, cho, status=AgentStatus.AWAY, acting_user=cho)
    actions.do_set_agent(world.acme, ben, capacity=2, acting_user=world.alice)
    actions.do_set_agent(world.acme, world.adam, capacity=3, acting_user=world.alice)
    actions.do_set_agent(world.acme, dan, capacity=2, acting_user=world.alice)
    # Dan was given one yesterday, Adam never: the round robin starts from there.
    AgentProfile.objects.filter(user=dan).update(
        last_assigned_at=timezone.now() - timedelta(days=1)
    )
    hours = actions.do_save_business_hours(
        world.acme,
        name="Office",
        weekly=[[["09:00", "18:00"]]] * 5 + [[], []],
        holidays=[],
        acting_user=world.alice,
    )
    actions.do_save_sla_policy(
        world.acme,
        name="DMs",
        kind="dm",
        first_response_minutes=90,
        resolution_minutes=600,
        business_hours=hours,
        acting_user=world.alice,
    )
    actions.do_save_routing_rule(
        world.acme,
        name="Orders",
        position=10,
        keywords="order, 주문",
        set_priority="high",
        add_tags=["order"],
        set_team=team,
        acting_user=world.alice,
    )
    actions.do_save_routing_rule(
        world.acme,
        name="Negative",
        position=20,
        sentiment="negative",
        add_tags=["negative"],
        set_team=team,
        acting_user=world.alice,
    )
    actions.do_save_routing_rule(
        world.acme,
        name="Spam",
        position=5,
        keywords="bit.ly",
        stop=True,
        add_tags=["spam"],
        acting_user=world.alice,
    )
    texts = [
        ("Where is my order? It's late", "comment"),
        ("주문한 지 열흘인데 아직도 안 왔어요. 너무 실망이에요", "dm"),
        ("Love the new latte", "comment"),
        ("This is terrible service, awful", "mention"),
        ("free order voucher at bit.ly/x", "comment"),
        ("order #5 missing", "dm"),
        ("order #6 missing too", "comment"),
        ("주문 취소하고 싶어요", "comment"),
        ("terrible, the worst coffee", "comment"),
        ("another order question", "mention"),
        ("order number 11", "comment"),
    ]
    return [
        item(
            f"e{i}",
            text,
            kind=kind,
            author=f"person{i % 7}",
            thread_id=f"t{i % 7}" if kind == "dm" else "",
            at=BASE + timedelta(minutes=3 * i),
        )
        for i, (text, kind) in enumerate(texts)
    ] + [
        # A reply to the first message, and a DM continuing an earlier DM thread.
        item(
            "e20",
            "any news on my order?",
            author="person0",
            in_reply_to="e0",
            at=BASE + timedelta(hours=1),
        ),
        item(
            "e21",
            "hello again",
            kind="dm",
            author="person1",
            thread_id="t1",
            at=BASE + timedelta(hours=2),
        ),
    ]


def _outcome(channel: Any) -> list[tuple[Any, ...]]:
    """What people see of every message's conversation, by message id."""
    return [
        (
            m.external_id,
            m.conversation.thread_key,
            m.conversation.assignee_id,
            m.conversation.team_id,
            m.conversation.priority,
            m.conversation.tags,
            m.conversation.requires_approval,
            m.conversation.language,
            m.conversation.sentiment,
            m.conversation.messages_in,
            m.conversation.sla_policy_id,
            m.conversation.first_response_due_at,
            m.conversation.resolution_due_at,
            m.conversation.sla_due_at,
            m.conversation.sla_warn_at,
            m.conversation.waiting_since,
            m.conversation.contact.handle if m.conversation.contact else None,
            m.contact.messages_in if m.contact else None,
        )
        for m in Message.objects.filter(channel=channel)
        .select_related("conversation__contact", "contact")
        .order_by("external_id")
    ]


class _Rollback(Exception):
    pass


def test_routing_assignment_capacity_and_clocks_match_one_at_a_time(world: World) -> None:
    channel = world.coffee_x
    items = _routing_world(world)

    def run(one_at_a_time: bool) -> tuple[list[tuple[Any, ...]], dict[int, Any]]:
        try:
            with transaction.atomic():
                do_ingest_inbound(channel, items, source="webhook")
                if one_at_a_time:
                    for event_id in _pending():
                        actions.do_process_inbound([event_id])
                else:
                    report = actions.do_process_inbound()
                    assert report.events == len(items)
                outcome = _outcome(channel)
                rounds = dict(
                    AgentProfile.objects.order_by("user_id").values_list("user_id", "capacity")
                )
                assigned = {
                    user_id: Conversation.objects.filter(assignee_id=user_id).count()
                    for user_id in rounds
                }
                raise _Rollback((outcome, assigned))
        except _Rollback as done:
            return done.args[0]  # type: ignore[no-any-return]

    single, single_load = run(one_at_a_time=True)
    batched, batched_load = run(one_at_a_time=False)

    assert batched == single
    assert batched_load == single_load
    # The set-up really exercises the rules: some conversations are assigned, within capacity.
    assert sum(batched_load.values()) >= 4
    capacities = dict(AgentProfile.objects.values_list("user_id", "capacity"))
    assert all(batched_load[u] <= capacities[u] for u in batched_load)
    assert any(row[4] == "high" for row in batched) and any("spam" in row[5] for row in batched)


def test_the_round_robin_goes_on_across_batches_as_it_would_one_at_a_time(
    world: World,
) -> None:
    channel = world.coffee_x
    items = _routing_world(world)

    def run(batch: int) -> list[Any]:
        try:
            with transaction.atomic():
                do_ingest_inbound(channel, items, source="webhook")
                while actions.do_process_inbound(limit=batch).events:
                    pass
                raise _Rollback(
                    list(
                        Message.objects.filter(channel=channel)
                        .order_by("external_id")
                        .values_list("external_id", "conversation__assignee_id")
                    )
                )
        except _Rollback as done:
            return done.args[0]  # type: ignore[no-any-return]

    assert run(batch=3) == run(batch=1) == run(batch=100)


def test_a_failure_in_the_middle_of_a_batch_rolls_it_back_and_loses_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = world.coffee_x
    land(channel, *(item(f"f{i}", f"message {i}", author=f"p{i}") for i in range(6)), process=False)
    audits = AuditEvent.objects.count()
    real = ingest._add_message
    calls = []

    def breaks_on_the_fourth(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("disk full")
        real(*args, **kwargs)

    monkeypatch.setattr(ingest, "_add_message", breaks_on_the_fourth)
    with pytest.raises(RuntimeError):
        actions.do_process_inbound()

    assert len(_pending()) == 6
    assert not Message.objects.exists()
    assert not Conversation.objects.exists()
    assert not Contact.objects.exists()
    assert not InboxActivity.objects.exists()
    assert AuditEvent.objects.count() == audits

    monkeypatch.setattr(ingest, "_add_message", real)
    report = actions.do_process_inbound()
    assert (report.messages, report.duplicates) == (6, 0)
    assert Message.objects.count() == 6
    assert not _pending()


def test_an_event_that_breaks_its_batch_is_set_aside_and_the_others_go_through(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = world.coffee_x
    land(channel, *(item(f"b{i}", f"message {i}", author=f"p{i}") for i in range(5)), process=False)
    real = ingest._read_item_json

    def reader(event: Any) -> ingest.Incoming:
        if event.external_id == "b2":
            raise RuntimeError("a payload this version cannot handle")
        return real(event)

    monkeypatch.setitem(ingest.PAYLOAD_READERS, channel.kind, reader)

    assert tasks.drain_inbound() == 4

    assert sorted(Message.objects.values_list("external_id", flat=True)) == [
        "b0",
        "b1",
        "b3",
        "b4",
    ]
    aside = UnreadableEvent.objects.get()
    assert aside.event.external_id == "b2" and "cannot handle" in aside.error
    assert not _pending()
    assert AuditEvent.objects.filter(action="inbox.event_set_aside").count() == 1


def test_the_task_takes_everything_waiting_and_the_tasks_behind_it_find_nothing(
    world: World,
) -> None:
    first = land(world.coffee_x, item("t1", "one"), process=False)
    second = land(world.tea_bluesky, item("t2", "two", author="b"), process=False)
    land(world.coffee_x, item("t3", "three", author="c"), process=False)

    assert tasks.process_inbound(first) == 3
    assert tasks.process_inbound(second) == 0
    assert Message.objects.count() == 3
    assert not _pending()


def test_a_task_that_finds_nothing_waiting_claims_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = land(world.coffee_x, item("t1", "one"), item("t2", "two", author="b"), process=False)
    claims: list[object] = []
    real = actions.do_process_inbound

    def counted(*args: Any, **kwargs: Any) -> ingest.IngestReport:
        claims.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "do_process_inbound", counted)

    assert tasks.process_inbound(ids) == 2
    assert len(claims) == 1
    # The tasks queued behind it look, find nothing waiting and take no batch.
    assert tasks.process_inbound(ids) == 0
    assert tasks.process_inbound(ids) == 0
    assert len(claims) == 1
    # A new delivery is seen by the next task.
    land(world.coffee_x, item("t3", "three", author="c"), process=False)
    assert tasks.process_inbound([]) == 1
    assert len(claims) == 2
    assert not _pending()


def test_a_batch_larger_than_the_limit_is_taken_in_several_transactions(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest, "BATCH", 4)
    land(
        world.coffee_x, *(item(f"m{i}", "hello", author=f"p{i}") for i in range(10)), process=False
    )

    assert tasks.drain_inbound() == 10
    assert AuditEvent.objects.filter(action="inbox.ingested").count() == 3
    assert Message.objects.count() == 10
