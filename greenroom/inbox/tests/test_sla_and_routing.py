"""SLA policies on real conversations, breach escalation, routing precedence and assignment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import AuditEvent
from greenroom.inbox import actions, tasks
from greenroom.inbox.models import (
    AgentStatus,
    Conversation,
    DeliveryStatus,
    InboxActivity,
    Message,
    SlaEvent,
)
from greenroom.inbox.tests.conftest import Captured, conversation_of, item, land


def test_without_a_policy_the_first_response_is_due_in_24_hours(world: World) -> None:
    now = timezone.now()
    land(world.coffee_x, item("s1", "hello?", at=now))
    conversation = conversation_of(world.coffee_x, "s1")
    assert conversation.first_response_due_at == now + timedelta(hours=24)
    assert conversation.sla_warn_at == now + timedelta(hours=18)


def test_the_most_specific_policy_wins(world: World) -> None:
    alice = world.alice
    actions.do_save_sla_policy(
        world.acme, name="Brand", brand=world.coffee, first_response_minutes=240, acting_user=alice
    )
    actions.do_save_sla_policy(
        world.acme,
        name="Channel",
        channel=world.coffee_x,
        first_response_minutes=60,
        acting_user=alice,
    )
    actions.do_save_sla_policy(
        world.acme,
        name="Urgent anywhere",
        priority="urgent",
        first_response_minutes=30,
        acting_user=alice,
    )
    actions.do_save_sla_policy(
        world.acme,
        name="Urgent coffee",
        brand=world.coffee,
        priority="urgent",
        first_response_minutes=15,
        acting_user=alice,
    )
    now = timezone.now()
    land(world.coffee_x, item("p1", "hi", at=now))
    land(world.coffee_instagram, item("p2", "hi", at=now))
    assert conversation_of(world.coffee_x, "p1").first_response_due_at == now + timedelta(hours=1)
    instagram = conversation_of(world.coffee_instagram, "p2")
    assert instagram.first_response_due_at == now + timedelta(hours=4)

    # Raising the priority moves the clock to the brand's urgent target (brand and priority
    # beat brand alone, and beat priority alone).
    actions.do_set_priority([instagram], "urgent", acting_user=alice)
    instagram.refresh_from_db()
    assert instagram.first_response_due_at == now + timedelta(minutes=15)


def test_business_hours_of_a_policy_apply_in_the_channels_zone(world: World) -> None:
    hours = actions.do_save_business_hours(
        world.acme,
        name="Seoul office",
        weekly=[[["09:00", "18:00"]]] * 5 + [[], []],
        holidays=[],
        acting_user=world.alice,
    )
    actions.do_save_sla_policy(
        world.acme,
        name="Office hours",
        first_response_minutes=60,
        business_hours=hours,
        acting_user=world.alice,
    )
    # Saturday 2026-06-06 10:00 in Seoul (the channel's zone): due Monday 10:00 Seoul.
    saturday = datetime(2026, 6, 6, 1, 0, tzinfo=UTC)
    land(world.coffee_x, item("b1", "weekend question", at=saturday))
    due = conversation_of(world.coffee_x, "b1").first_response_due_at
    assert due == datetime(2026, 6, 8, 1, 0, tzinfo=UTC)


def test_a_breach_is_recorded_once_and_escalates_to_the_team_lead(
    world: World, escalations: Captured, django_capture_on_commit_callbacks: Any
) -> None:
    team = core_actions.do_create_team(
        world.acme, name="Care", lead=world.adam, members=[world.agnes], acting_user=world.alice
    )
    actions.do_set_notify_url(world.acme, world.adam, url="capture://adam", acting_user=world.adam)
    long_ago = timezone.now() - timedelta(hours=30)
    land(world.coffee_x, item("e1", "anyone?", at=long_ago))
    conversation = conversation_of(world.coffee_x, "e1")
    actions.do_set_team([conversation], team, acting_user=world.alice)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.check_sla()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.check_sla()  # the next sweep finds nothing new

    event = SlaEvent.objects.get(level="breach")
    assert event.clock == "first_response"
    assert sorted(event.notified) == ["escalation target 1", "team lead adam"]
    urls = sorted(n["url"] for n in escalations.notifications)
    assert urls == ["capture://adam", "capture://ops"]
    assert "SLA breached" in escalations.notifications[0]["title"]
    conversation.refresh_from_db()
    assert conversation.sla_breached
    assert InboxActivity.objects.filter(kind="breach").count() == 1
    assert AuditEvent.objects.filter(action="inbox.sla_breach").count() == 1


def test_a_warning_comes_before_the_breach(world: World, escalations: Captured) -> None:
    land(world.coffee_x, item("w1", "hello", at=timezone.now() - timedelta(hours=19)))
    tasks.check_sla()
    assert list(SlaEvent.objects.values_list("level", flat=True)) == ["warning"]
    assert escalations.notifications == []


def test_recorded_breaches_do_not_hide_newer_ones_from_the_sweep(
    world: World, escalations: Captured
) -> None:
    # More breached, unanswered conversations than one sweep takes: the ones already recorded
    # must not fill every sweep, or the newer ones are never recorded.
    now = timezone.now()
    for n in range(4):
        land(
            world.coffee_x, item(f"old{n}", "anyone?", author=f"o{n}", at=now - timedelta(hours=40))
        )
    assert len(actions.do_check_sla(limit=4)) == 4
    for n in range(3):
        land(
            world.coffee_x, item(f"new{n}", "hello?", author=f"n{n}", at=now - timedelta(hours=30))
        )
    land(world.coffee_x, item("warn", "hi", author="w", at=now - timedelta(hours=20)))

    created = actions.do_check_sla(limit=4)

    events = SlaEvent.objects.filter(pk__in=created)
    assert sorted(e.conversation.thread_key for e in events) == [
        "c:new0",
        "c:new1",
        "c:new2",
        "c:warn",
    ]
    assert actions.do_check_sla(limit=4) == []


def _rule(world: World, name: str, position: int, **values: Any) -> Any:
    return actions.do_save_routing_rule(
        world.acme, name=name, position=position, acting_user=world.alice, **values
    )


def test_routing_rules_run_in_order_and_combine(world: World) -> None:
    care = core_actions.do_create_team(world.acme, name="Care", acting_user=world.alice)
    vip = core_actions.do_create_team(world.acme, name="VIP desk", acting_user=world.alice)
    _rule(
        world,
        "Refunds are urgent",
        10,
        keywords="refund, 환불",
        set_priority="urgent",
        add_tags=["refund"],
        set_team=care,
    )
    _rule(world, "Korean", 20, language="ko", add_tags=["korean"], set_team=vip, set_priority="low")
    _rule(world, "Stop spam", 5, keywords="bit.ly", add_tags=["spam-link"], stop=True)
    _rule(world, "Negative needs approval", 30, sentiment="negative", require_approval=True)

    land(world.coffee_x, item("r1", "환불 언제 되나요? 너무 실망이에요", author="a"))
    first = conversation_of(world.coffee_x, "r1")
    assert first.priority == "urgent"  # the earlier rule wins
    assert first.team == care
    assert first.tags == ["refund", "korean"]
    assert first.requires_approval

    land(world.coffee_x, item("r2", "free refund at bit.ly/x", author="b"))
    spam = conversation_of(world.coffee_x, "r2")
    assert spam.tags[0] == "spam-link" and spam.team is None and spam.priority == "normal"


def test_a_rule_edited_between_batches_routes_the_same_words_anew(world: World) -> None:
    # Decisions are remembered across batches by what they looked at; an edited, deactivated
    # or deleted rule must not leave an old decision behind.
    rule = _rule(world, "Refunds", 10, keywords="refund", set_priority="urgent", add_tags=["r"])
    land(world.coffee_x, item("e1", "a refund please", author="a"))
    assert conversation_of(world.coffee_x, "e1").priority == "urgent"

    actions.do_save_routing_rule(
        world.acme, rule=rule, set_priority="high", add_tags=["money"], acting_user=world.alice
    )
    land(world.coffee_x, item("e2", "a refund please", author="b"))
    edited = conversation_of(world.coffee_x, "e2")
    assert (edited.priority, edited.tags) == ("high", ["money"])

    actions.do_save_routing_rule(world.acme, rule=rule, is_active=False, acting_user=world.alice)
    land(world.coffee_x, item("e3", "a refund please", author="c"))
    off = conversation_of(world.coffee_x, "e3")
    assert (off.priority, off.tags) == ("normal", [])

    # The same words on a channel whose brand changed are routed by the new brand's rules.
    actions.do_save_routing_rule(world.acme, rule=rule, is_active=True, acting_user=world.alice)
    _rule(world, "Tea only", 5, brand=world.tea, add_tags=["tea"])
    land(world.coffee_x, item("e4", "a refund please", author="d"))
    assert conversation_of(world.coffee_x, "e4").tags == ["money"]
    world.coffee_x.brand = world.tea
    world.coffee_x.save(update_fields=["brand"])
    land(world.coffee_x, item("e5", "a refund please", author="e"))
    assert conversation_of(world.coffee_x, "e5").tags == ["tea", "money"]


def test_round_robin_honours_capacity_and_availability(world: World) -> None:
    extra = [
        core_actions.do_create_user(
            username=n, email=f"{n}@example.com", password=None, acting_user=None
        )
        for n in ("ben", "cho")
    ]
    for person in extra:
        core_actions.do_add_member(world.acme, person, "community_agent", acting_user=world.alice)
    ben, cho = extra
    team = core_actions.do_create_team(
        world.acme, name="Care", members=[world.adam, ben, cho], acting_user=world.alice
    )
    _rule(world, "Everything to Care", 10, set_team=team)
    actions.do_set_agent(world.acme, cho, status=AgentStatus.AWAY, acting_user=cho)
    actions.do_set_agent(world.acme, ben, capacity=1, acting_user=world.alice)

    for n in range(4):
        land(world.coffee_x, item(f"rr{n}", "hi", author=f"p{n}"))
    assignees = [conversation_of(world.coffee_x, f"rr{n}").assignee for n in range(4)]
    # Ben takes one (his capacity), Cho is away: Adam takes the rest.
    assert assignees == [world.adam, ben, world.adam, world.adam]

    # Ben closes his; the next conversation can go to him again.
    actions.do_close(Conversation.objects.filter(assignee=ben), acting_user=ben)
    land(world.coffee_x, item("rr9", "hi", author="p9"))
    assert conversation_of(world.coffee_x, "rr9").assignee == ben


def test_an_auto_reply_goes_out_through_the_connector(world: World, sandbox: Any) -> None:
    channel = world.coffee_x
    sandbox.connect(channel)
    saved = actions.do_save_saved_reply(
        world.acme,
        title="Thanks",
        body="Thanks {first_name}! We'll get back to you soon.",
        acting_user=world.alice,
    )
    _rule(world, "Acknowledge DMs", 10, kind="dm", auto_reply=saved)
    sandbox.write(channel, "hello, my order?", kind="dm", author="lee.jisoo")
    sandbox.deliver()

    reply = Message.objects.get(direction="out")
    assert reply.status == DeliveryStatus.SENT
    assert reply.text == "Thanks Lee.Jisoo! We'll get back to you soon."
    conversation = reply.conversation
    assert conversation.first_response_at is not None
    assert conversation.first_response_due_at is None


def test_sla_settings_changed_between_batches_time_the_next_conversation_anew(
    world: World,
) -> None:
    # Each batch keeps the organisation's policies and calendars while its settings are
    # unchanged: a changed policy, set of hours or channel time zone must not time the next
    # conversation by the old ones.
    saturday = datetime(2026, 11, 7, 3, 0, tzinfo=UTC)  # 12:00 in Seoul, a Saturday
    channel = world.coffee_x
    channel.timezone = "Asia/Seoul"
    channel.save(update_fields=["timezone"])

    def due(external_id: str) -> datetime | None:
        land(channel, item(external_id, "hello", author=external_id, at=saturday))
        return conversation_of(channel, external_id).first_response_due_at

    assert due("s0") == saturday + timedelta(hours=24)
    policy = actions.do_save_sla_policy(
        world.acme, name="Fast", first_response_minutes=60, acting_user=world.alice
    )
    assert due("s1") == saturday + timedelta(minutes=60)
    actions.do_save_sla_policy(
        world.acme, policy=policy, first_response_minutes=30, acting_user=world.alice
    )
    assert due("s2") == saturday + timedelta(minutes=30)

    hours = actions.do_save_business_hours(
        world.acme,
        name="Office",
        weekly=[[["09:00", "18:00"]]] * 5 + [[], []],
        holidays=[],
        acting_user=world.alice,
    )
    actions.do_save_sla_policy(
        world.acme, policy=policy, business_hours=hours, acting_user=world.alice
    )
    # Monday 09:30 in Seoul.
    assert due("s3") == datetime(2026, 11, 9, 0, 30, tzinfo=UTC)
    actions.do_save_business_hours(
        world.acme,
        hours=hours,
        name="Office",
        weekly=[[["10:00", "18:00"]]] * 5 + [[], []],
        holidays=["2026-11-09"],
        acting_user=world.alice,
    )
    # Monday is a holiday now: Tuesday 10:30 in Seoul.
    assert due("s4") == datetime(2026, 11, 10, 1, 30, tzinfo=UTC)

    channel.timezone = "Europe/London"
    channel.save(update_fields=["timezone"])
    # The hours follow the channel's zone: Tuesday 10:30 in London.
    assert due("s5") == datetime(2026, 11, 10, 10, 30, tzinfo=UTC)
