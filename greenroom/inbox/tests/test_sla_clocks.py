"""The three SLA clocks on one conversation: first response, next response and resolution, with
a warning share that is not the default."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.inbox import actions
from greenroom.inbox.tests.conftest import conversation_of, item, land


def test_first_next_and_resolution_clocks_with_a_custom_warning_share(world: World) -> None:
    actions.do_save_sla_policy(
        world.acme,
        name="Fast",
        first_response_minutes=60,
        next_response_minutes=30,
        resolution_minutes=240,
        warn_at_share=0.5,
        acting_user=world.alice,
    )
    t0 = timezone.now().replace(microsecond=0) - timedelta(minutes=10)
    land(world.coffee_x, item("k1", "Is my order shipped?", kind="dm", thread_id="t", at=t0))
    conversation = conversation_of(world.coffee_x, "k1")
    assert conversation.first_response_due_at == t0 + timedelta(minutes=60)
    assert conversation.resolution_due_at == t0 + timedelta(minutes=240)
    assert conversation.sla_due_at == t0 + timedelta(minutes=60)
    assert conversation.sla_warn_at == t0 + timedelta(minutes=30)  # half of the hour

    reply = actions.do_reply(conversation, "Checking now!", acting_user=world.alice)
    answered = timezone.now()
    actions.do_mark_reply_sent(reply, external_id="r1", sent_at=answered)
    conversation = conversation_of(world.coffee_x, "k1")  # read again, not narrowed
    assert conversation.first_response_at == answered
    assert conversation.first_response_due_at is None and conversation.waiting_since is None
    # Only resolution runs now: due four hours after the start, warning at half of it.
    assert conversation.sla_due_at == t0 + timedelta(minutes=240)
    assert conversation.sla_warn_at == t0 + timedelta(minutes=120)

    t1 = timezone.now().replace(microsecond=0)
    land(world.coffee_x, item("k2", "Any news?", kind="dm", thread_id="t", at=t1))
    conversation.refresh_from_db()
    assert conversation.first_response_due_at is None
    assert conversation.next_response_due_at == t1 + timedelta(minutes=30)
    assert conversation.sla_due_at == t1 + timedelta(minutes=30)
    assert conversation.sla_warn_at == t1 + timedelta(minutes=15)
    assert conversation.resolution_due_at == t0 + timedelta(minutes=240)


def test_vip_and_known_customer_conditions_route(world: World) -> None:
    vip_desk = core_actions.do_create_team(world.acme, name="VIP desk", acting_user=world.alice)
    actions.do_save_routing_rule(
        world.acme,
        name="VIPs",
        position=10,
        author_is_vip=True,
        set_team=vip_desk,
        set_priority="high",
        acting_user=world.alice,
    )
    actions.do_save_routing_rule(
        world.acme,
        name="Customers",
        position=20,
        author_is_customer=True,
        add_tags=["customer"],
        acting_user=world.alice,
    )
    land(world.coffee_x, item("p0", "first time", author="star"))
    contact = conversation_of(world.coffee_x, "p0").contact
    assert contact is not None
    actions.do_update_contact(contact, is_vip=True, is_customer=True, acting_user=world.alice)

    land(world.coffee_x, item("p1", "hello again", author="star"), item("p2", "hi", author="new"))
    star = conversation_of(world.coffee_x, "p1")
    stranger = conversation_of(world.coffee_x, "p2")
    assert (star.team, star.priority, star.tags) == (vip_desk, "high", ["customer"])
    assert (stranger.team, stranger.priority, stranger.tags) == (None, "normal", [])
