"""What the inbox's actions refuse on their own, whichever page or API calls them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from greenroom.api.tests.conftest import bearer, call, make_token
from greenroom.conftest import World
from greenroom.core.actions import ActionError
from greenroom.core.models import AuditEvent
from greenroom.inbox import actions, handout
from greenroom.inbox.models import AgentStatus, ConversationStatus
from greenroom.inbox.tests.conftest import conversation_of, item, land


def test_changing_a_conversation_needs_engage_on_its_channel(world: World) -> None:
    land(world.coffee_x, item("e1", "hello"))
    coffee = conversation_of(world.coffee_x, "e1")
    later = timezone.now() + timedelta(hours=1)
    for attempt in (
        lambda who: actions.do_set_priority([coffee], "high", acting_user=who),
        lambda who: actions.do_tag([coffee], add=["x"], acting_user=who),
        lambda who: actions.do_close([coffee], acting_user=who),
        lambda who: actions.do_snooze([coffee], later, acting_user=who),
        lambda who: actions.do_assign([coffee], None, acting_user=who),
    ):
        for outsider in (world.agnes, world.anna, world.gina):  # Tea only, analyst, Globex
            with pytest.raises(ActionError):
                attempt(outsider)
    coffee.refresh_from_db()
    assert (coffee.priority, coffee.tags, coffee.status) == ("normal", [], "open")
    assert actions.do_set_priority([coffee], "high", acting_user=world.bianca) == 1


def test_snoozing_a_closed_conversation_is_refused_and_reopening_wakes_a_snoozed_one(
    world: World,
) -> None:
    land(world.coffee_x, item("e2", "hello"), item("e3", "hi", author="b"))
    closed = conversation_of(world.coffee_x, "e2")
    actions.do_close([closed], acting_user=world.alice)
    closed.refresh_from_db()
    with pytest.raises(ActionError, match="reopen it first"):
        actions.do_snooze([closed], timezone.now() + timedelta(hours=1), acting_user=world.alice)

    snoozed = conversation_of(world.coffee_x, "e3")
    actions.do_snooze([snoozed], timezone.now() + timedelta(days=2), acting_user=world.alice)
    snoozed.refresh_from_db()
    actions.do_reopen(snoozed, acting_user=world.alice)
    snoozed.refresh_from_db()
    assert (snoozed.status, snoozed.snoozed_until) == (ConversationStatus.OPEN, None)


def test_an_unchanged_priority_records_nothing(world: World) -> None:
    land(world.coffee_x, item("e4", "hello"))
    conversation = conversation_of(world.coffee_x, "e4")
    assert actions.do_set_priority([conversation], "normal", acting_user=world.alice) == 0
    assert not AuditEvent.objects.filter(action="inbox.priority_set").exists()


def test_only_member_managers_set_someone_elses_availability(world: World) -> None:
    actions.do_set_agent(world.acme, world.agnes, status=AgentStatus.AWAY, acting_user=world.agnes)
    with pytest.raises(ActionError):
        actions.do_set_agent(world.acme, world.agnes, capacity=1, acting_user=world.bianca)
    profile = actions.do_set_agent(world.acme, world.agnes, capacity=3, acting_user=world.alice)
    assert (profile.status, profile.capacity) == (AgentStatus.AWAY, 3)


def test_a_saved_reply_edit_keeps_the_old_and_new_text_on_record(world: World) -> None:
    saved = actions.do_save_saved_reply(
        world.acme, title="Thanks", body="Thank you!", acting_user=world.alice
    )
    actions.do_save_saved_reply(
        world.acme, saved=saved, title="Thanks", body="Thank you so much!", acting_user=world.alice
    )
    edit = AuditEvent.objects.filter(action="inbox.saved_reply_saved").order_by("-id").first()
    assert edit is not None and edit.before is not None and edit.after is not None
    assert (edit.before["body"], edit.after["body"]) == ("Thank you!", "Thank you so much!")


def test_people_from_another_organisation_are_refused(world: World) -> None:
    with pytest.raises(ActionError, match="not a member"):
        actions.do_set_agent(world.acme, world.gina, capacity=2, acting_user=world.alice)
    with pytest.raises(ActionError, match="not a member"):
        actions.do_save_routing_rule(
            world.acme, name="To Gina", set_assignee=world.gina, acting_user=world.alice
        )


def test_deleting_business_hours_leaves_its_policies_around_the_clock(world: World) -> None:
    hours = actions.do_save_business_hours(
        world.acme,
        name="Office",
        weekly=[[["09:00", "18:00"]]] * 5 + [[], []],
        holidays=[],
        acting_user=world.alice,
    )
    policy = actions.do_save_sla_policy(
        world.acme, name="Office DMs", business_hours=hours, acting_user=world.alice
    )
    with pytest.raises(ActionError):
        actions.do_delete_business_hours(hours, acting_user=world.bianca)
    actions.do_delete_business_hours(hours, acting_user=world.alice)
    policy.refresh_from_db()
    assert policy.business_hours is None
    event = AuditEvent.objects.get(action="inbox.business_hours_deleted")
    assert event.before is not None and event.before["policies"] == ["Office DMs"]


def test_open_load_counts_what_capacity_counts(world: World, client: Any) -> None:
    # Open and pending conversations count against an agent's capacity; snoozed and closed do
    # not. The settings page, the API and routing read the same numbers.
    land(
        world.coffee_x,
        *(item(f"l{n}", "hello", author=f"p{n}") for n in range(4)),
    )
    mine = [conversation_of(world.coffee_x, f"l{n}") for n in range(4)]
    actions.do_assign(mine, world.adam, acting_user=world.alice)
    actions.do_snooze([mine[2]], timezone.now() + timedelta(hours=1), acting_user=world.alice)
    actions.do_close([mine[3]], acting_user=world.alice)
    assert handout.open_load(world.acme.pk, [world.adam]) == {world.adam.pk: 2}

    client.force_login(world.alice)
    rows = client.get("/inbox/settings/").context["agents"]
    assert next(r["load"] for r in rows if r["person"] == world.adam) == 2
    api = bearer(make_token(world, "alice")[1])
    listed = api.get("/api/inbox/agents").json()["items"]
    assert next(r for r in listed if r["person"]["id"] == world.adam.pk)["open_conversations"] == 2


def test_marking_a_contact_needs_engage_where_they_wrote_on_the_page_and_in_the_api(
    world: World, client: Any
) -> None:
    land(world.coffee_x, item("v1", "hello", author="emma"))
    contact = conversation_of(world.coffee_x, "v1").contact
    assert contact is not None
    for outsider in (world.agnes, world.anna):  # an agent on Tea only, an analyst
        with pytest.raises(ActionError, match="Engage"):
            actions.do_update_contact(contact, is_vip=True, acting_user=outsider)
    # Agnes may open the inbox and see the organisation's contacts, but the page refuses her.
    client.force_login(world.agnes)
    response = client.post(f"/inbox/contacts/{contact.pk}/", {"is_vip": "on"}, follow=True)
    assert response.status_code == 200
    assert "permission on a channel they wrote on" in response.content.decode()
    _token, plaintext = make_token(world, "agnes")
    refused = call(
        bearer(plaintext), "PATCH", f"/api/inbox/contacts/{contact.pk}", {"is_vip": True}
    )
    assert refused.status_code == 403
    contact.refresh_from_db()
    assert not contact.is_vip
    assert not AuditEvent.objects.filter(action="inbox.contact_updated").exists()

    client.force_login(world.bianca)  # brand manager of Coffee
    client.post(f"/inbox/contacts/{contact.pk}/", {"is_vip": "on", "is_customer": "on"})
    contact.refresh_from_db()
    assert (contact.is_vip, contact.is_customer) == (True, True)
    event = AuditEvent.objects.get(action="inbox.contact_updated")
    assert (event.before["is_vip"], event.after["is_vip"]) == (False, True)
