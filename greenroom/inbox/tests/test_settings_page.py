"""The inbox settings page: SLA policies, routing rules and saved replies are created with every
field, changed, switched off and deleted from the page; numbers that are not numbers come back
with the mistake next to the field (400, nothing saved, nothing typed lost); managers set their
agents' availability. Another organisation's ids are a 404; people without manage_org are
refused."""

from __future__ import annotations

import pytest
from django.test import Client

from greenroom.conftest import World
from greenroom.core import actions as core
from greenroom.core.models import AuditEvent, User
from greenroom.inbox import actions
from greenroom.inbox.models import (
    AgentProfile,
    BusinessHours,
    Conversation,
    RoutingRule,
    SavedReply,
    SlaPolicy,
)
from greenroom.inbox.tests.conftest import conversation_of, item, land

WEEK = [[["09:00", "18:00"]]] * 5 + [[], []]


def _hours(world: World) -> BusinessHours:
    return actions.do_save_business_hours(
        world.acme, name="Office", weekly=WEEK, holidays=[], acting_user=world.alice
    )


def _admin(client: Client, world: World) -> Client:
    client.force_login(world.adam)
    return client


def _policy_form(world: World, hours: BusinessHours, **changes: str) -> dict[str, str]:
    return {
        "form": "policy",
        "name": "VIP mentions on X",
        "brand": str(world.coffee.pk),
        "channel": str(world.coffee_x.pk),
        "priority": "high",
        "kind": "mention",
        "first_response_minutes": "30",
        "next_response_minutes": "60",
        "resolution_minutes": "480",
        "business_hours": str(hours.pk),
        "warn_at_percent": "50",
        **changes,
    }


def test_a_policy_is_created_with_every_field(client: Client, world: World) -> None:
    hours = _hours(world)
    response = _admin(client, world).post("/inbox/settings/", _policy_form(world, hours))
    assert response.status_code == 302
    policy = SlaPolicy.objects.get(organization=world.acme)
    assert (policy.name, policy.brand, policy.channel) == (
        "VIP mentions on X",
        world.coffee,
        world.coffee_x,
    )
    assert (policy.priority, policy.kind, policy.business_hours) == ("high", "mention", hours)
    assert (policy.first_response_minutes, policy.next_response_minutes) == (30, 60)
    assert (policy.resolution_minutes, policy.warn_at_share, policy.is_active) == (480, 0.5, True)
    assert AuditEvent.objects.filter(action="inbox.sla_policy_saved", actor=world.adam).exists()
    page = client.get("/inbox/settings/").content.decode()
    assert "VIP mentions on X" in page and f"/inbox/settings/policies/{policy.pk}/" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_response_minutes", "abc", "Enter a whole number, like 60."),
        ("next_response_minutes", "1.5", "Enter a whole number, like 60."),
        ("resolution_minutes", "0", "greater than or equal to 1"),
        ("warn_at_percent", "150", "less than or equal to 100"),
    ],
)
def test_a_bad_number_is_named_next_to_its_field_and_nothing_is_saved(
    client: Client, world: World, field: str, value: str, message: str
) -> None:
    hours = _hours(world)
    response = _admin(client, world).post(
        "/inbox/settings/", _policy_form(world, hours, **{field: value})
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "invalid literal" not in page
    assert f'id="policy-{field}_errors"' in page and message in page
    assert 'value="VIP mentions on X"' in page  # what was typed is still there
    assert not SlaPolicy.objects.filter(organization=world.acme).exists()


def test_a_policy_is_edited_switched_off_and_deleted(client: Client, world: World) -> None:
    hours = _hours(world)
    policy = actions.do_save_sla_policy(
        world.acme, name="Slow", first_response_minutes=600, acting_user=world.alice
    )
    _admin(client, world)
    form = client.get(f"/inbox/settings/policies/{policy.pk}/").content.decode()
    assert 'value="Slow"' in form and 'value="600"' in form  # filled with what it is now
    response = client.post(
        f"/inbox/settings/policies/{policy.pk}/save/", _policy_form(world, hours, name="Fast")
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.name, policy.first_response_minutes, policy.channel) == (
        "Fast",
        30,
        world.coffee_x,
    )
    bad = client.post(
        f"/inbox/settings/policies/{policy.pk}/save/",
        _policy_form(world, hours, first_response_minutes="soon"),
    )
    assert bad.status_code == 400 and 'value="soon"' in bad.content.decode()
    policy.refresh_from_db()
    assert policy.first_response_minutes == 30
    client.post(f"/inbox/settings/policies/{policy.pk}/active/", {"active": "0"})
    policy.refresh_from_db()
    assert not policy.is_active
    assert "Turn on" in client.get("/inbox/settings/").content.decode()
    client.post(f"/inbox/settings/policies/{policy.pk}/active/", {"active": "1"})
    assert SlaPolicy.objects.get(pk=policy.pk).is_active
    assert client.post(f"/inbox/settings/policies/{policy.pk}/delete/").status_code == 302
    assert not SlaPolicy.objects.filter(pk=policy.pk).exists()
    assert AuditEvent.objects.filter(action="inbox.sla_policy_deleted", actor=world.adam).exists()


def _rule_form(world: World, **changes: str) -> dict[str, str]:
    saved = actions.do_save_saved_reply(
        world.acme, title="On it", body="We are on it, {first_name}.", acting_user=world.alice
    )
    team = core.do_create_team(world.acme, name="Care", members=[world.agnes], acting_user=None)
    return {
        "form": "rule",
        "name": "VIP customers on X",
        "position": "5",
        "channel": str(world.coffee_x.pk),
        "brand": str(world.coffee.pk),
        "network": "x",
        "kind": "mention",
        "sentiment": "negative",
        "keywords": "refund, 환불",
        "author_is_vip": "yes",
        "author_is_customer": "no",
        "set_team": str(team.pk),
        "set_assignee": str(world.agnes.pk),
        "set_priority": "urgent",
        "add_tags": "vip, refund",
        "auto_reply": str(saved.pk),
        "require_approval": "on",
        "stop": "on",
        **changes,
    }


def test_a_rule_is_created_with_every_condition_and_action(client: Client, world: World) -> None:
    form = _rule_form(world)
    assert _admin(client, world).post("/inbox/settings/", form).status_code == 302
    rule = RoutingRule.objects.get(organization=world.acme)
    assert (rule.position, rule.channel, rule.brand, rule.network) == (
        5,
        world.coffee_x,
        world.coffee,
        "x",
    )
    assert (rule.kind, rule.sentiment, rule.keywords) == ("mention", "negative", "refund, 환불")
    assert (rule.author_is_vip, rule.author_is_customer) == (True, False)
    assert (rule.set_team.name, rule.set_assignee, rule.set_priority) == (
        "Care",
        world.agnes,
        "urgent",
    )
    assert rule.auto_reply is not None and rule.auto_reply.title == "On it"
    assert (rule.add_tags, rule.require_approval, rule.stop) == (["vip", "refund"], True, True)


def test_a_rule_with_conditions_left_empty_matches_anyone(client: Client, world: World) -> None:
    response = _admin(client, world).post(
        "/inbox/settings/", {"form": "rule", "name": "Everything", "author_is_vip": ""}
    )
    assert response.status_code == 302
    rule = RoutingRule.objects.get(organization=world.acme)
    assert (rule.author_is_vip, rule.author_is_customer, rule.position) == (None, None, 100)


def test_a_rule_is_edited_switched_off_and_deleted(client: Client, world: World) -> None:
    rule = actions.do_save_routing_rule(
        world.acme, name="Refunds", keywords="refund", acting_user=world.alice
    )
    _admin(client, world)
    assert 'value="Refunds"' in client.get(f"/inbox/settings/rules/{rule.pk}/").content.decode()
    bad = client.post(f"/inbox/settings/rules/{rule.pk}/save/", _rule_form(world, position="x"))
    assert bad.status_code == 400 and 'id="rule-position_errors"' in bad.content.decode()
    rule.refresh_from_db()
    assert rule.name == "Refunds"
    saved = client.post(
        f"/inbox/settings/rules/{rule.pk}/save/",
        {"name": "Refunds, VIP", "keywords": "refund", "author_is_vip": "yes", "position": "1"},
    )
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert (rule.name, rule.author_is_vip, rule.position) == ("Refunds, VIP", True, 1)
    client.post(f"/inbox/settings/rules/{rule.pk}/active/", {"active": "0"})
    rule.refresh_from_db()
    assert rule.is_active is False
    client.post(f"/inbox/settings/rules/{rule.pk}/delete/")
    assert not RoutingRule.objects.filter(pk=rule.pk).exists()


def test_a_switched_off_rule_no_longer_routes(client: Client, world: World) -> None:
    rule = actions.do_save_routing_rule(
        world.acme, name="Urgent refunds", keywords="refund", set_priority="urgent",
        acting_user=world.alice,
    )  # fmt: skip
    _admin(client, world).post(f"/inbox/settings/rules/{rule.pk}/active/", {"active": "0"})
    land(world.coffee_x, item("off1", "refund please"))
    assert conversation_of(world.coffee_x, "off1").priority != "urgent"


def test_a_saved_reply_is_edited_and_deleted(client: Client, world: World) -> None:
    saved = actions.do_save_saved_reply(
        world.acme, title="Thanks", body="Thank you!", acting_user=world.alice
    )
    _admin(client, world)
    assert 'value="Thanks"' in client.get(f"/inbox/settings/replies/{saved.pk}/").content.decode()
    empty = client.post(f"/inbox/settings/replies/{saved.pk}/save/", {"title": "", "body": "x"})
    assert empty.status_code == 400 and 'id="saved_reply-title_errors"' in empty.content.decode()
    client.post(
        f"/inbox/settings/replies/{saved.pk}/save/",
        {"title": "Thanks a lot", "body": "Thank you, {first_name}!", "brand": world.coffee.pk},
    )
    saved.refresh_from_db()
    assert (saved.title, saved.brand) == ("Thanks a lot", world.coffee)
    client.post(f"/inbox/settings/replies/{saved.pk}/delete/")
    assert not SavedReply.objects.filter(pk=saved.pk).exists()


def test_a_saved_reply_switched_off_is_not_offered_nor_sent_and_editing_keeps_it_off(
    client: Client, world: World
) -> None:
    saved = actions.do_save_saved_reply(
        world.acme, title="Thanks", body="Thanks for writing!", acting_user=world.alice
    )
    actions.do_save_routing_rule(
        world.acme, name="Greet", keywords="hello", auto_reply=saved, acting_user=world.alice
    )
    land(world.coffee_x, item("on1", "hello there", author="a"))
    assert conversation_of(world.coffee_x, "on1").messages.filter(direction="out").count() == 1
    page = _admin(client, world).get(f"/inbox/c/{conversation_of(world.coffee_x, 'on1').pk}/")
    assert "Thanks for writing!" in page.content.decode()

    switched = client.post(f"/inbox/settings/replies/{saved.pk}/active/", {"active": "0"})
    assert switched.status_code == 302
    saved.refresh_from_db()
    assert not saved.is_active
    event = AuditEvent.objects.filter(action="inbox.saved_reply_saved").latest("id")
    assert (event.before["is_active"], event.after["is_active"]) == (True, False)
    settings_page = client.get("/inbox/settings/").content.decode()
    assert "Turn on" in settings_page

    land(world.coffee_x, item("off2", "hello again", author="b"))
    off = conversation_of(world.coffee_x, "off2")
    assert off.messages.filter(direction="out").count() == 0
    assert "Thanks for writing!" not in client.get(f"/inbox/c/{off.pk}/").content.decode()

    # Editing its text from the page leaves it off.
    client.post(
        f"/inbox/settings/replies/{saved.pk}/save/", {"title": "Thanks", "body": "Thank you!"}
    )
    saved.refresh_from_db()
    assert (saved.body, saved.is_active) == ("Thank you!", False)
    client.post(f"/inbox/settings/replies/{saved.pk}/active/", {"active": "1"})
    saved.refresh_from_db()
    assert saved.is_active


def _globex_objects(world: World) -> dict[str, int]:
    gina = world.gina
    return {
        "policies": actions.do_save_sla_policy(
            world.globex, name="G", first_response_minutes=5, acting_user=gina
        ).pk,
        "rules": actions.do_save_routing_rule(world.globex, name="G", acting_user=gina).pk,
        "replies": actions.do_save_saved_reply(
            world.globex, title="G", body="G", acting_user=gina
        ).pk,
    }


@pytest.mark.parametrize(
    ("part", "action"),
    [
        (part, action)
        for part in ("policies", "rules")
        for action in ("", "save/", "delete/", "active/")
    ]
    + [("replies", action) for action in ("", "save/", "delete/", "active/")],
)
def test_another_organisations_object_is_a_404(
    client: Client, world: World, part: str, action: str
) -> None:
    pk = _globex_objects(world)[part]
    path = f"/inbox/settings/{part}/{pk}/{action}"
    _admin(client, world)
    response = client.get(path) if not action else client.post(path, {"active": "0", "name": "X"})
    assert response.status_code == 404
    assert SlaPolicy.objects.get(organization=world.globex).is_active
    assert SlaPolicy.objects.get(organization=world.globex).name == "G"
    assert RoutingRule.objects.filter(organization=world.globex, name="G").exists()
    assert SavedReply.objects.filter(organization=world.globex, title="G", is_active=True).exists()


@pytest.mark.parametrize("person", ["bianca", "agnes"])
@pytest.mark.parametrize("action", ["", "save/", "delete/", "active/"])
def test_people_without_manage_org_are_refused(
    client: Client, world: World, person: str, action: str
) -> None:
    policy = actions.do_save_sla_policy(
        world.acme, name="Slow", first_response_minutes=600, acting_user=world.alice
    )
    client.force_login(world.people[person])
    path = f"/inbox/settings/policies/{policy.pk}/{action}"
    response = client.get(path) if not action else client.post(path, {"active": "0", "name": "X"})
    assert response.status_code == 404
    policy.refresh_from_db()
    assert (policy.name, policy.is_active) == ("Slow", True)
    assert "/inbox/settings/policies/" not in client.get("/inbox/settings/").content.decode()


def test_a_manager_sees_and_changes_an_agents_status_and_capacity(
    client: Client, world: World
) -> None:
    land(world.coffee_x, item("load1", "hello"))
    conversation = conversation_of(world.coffee_x, "load1")
    Conversation.objects.filter(pk=conversation.pk).update(assignee=world.agnes)
    _admin(client, world)
    page = client.get("/inbox/settings/").content.decode()
    assert 'id="agent-list"' in page and world.agnes.name in page
    assert "1 of 20" in page  # one open conversation of a capacity of 20
    response = client.post(
        f"/inbox/settings/agents/{world.agnes.pk}/", {"status": "away", "capacity": "5"}
    )
    assert response.status_code == 302
    profile = AgentProfile.objects.get(organization=world.acme, user=world.agnes)
    assert (profile.status, profile.capacity) == ("away", 5)
    assert AuditEvent.objects.filter(action="inbox.agent_updated", actor=world.adam).exists()


@pytest.mark.parametrize("capacity", ["many", "-1", "1001", ""])
def test_a_capacity_that_is_not_a_number_is_an_error_not_saved(
    client: Client, world: World, capacity: str
) -> None:
    _admin(client, world)
    response = client.post(
        f"/inbox/settings/agents/{world.agnes.pk}/", {"status": "away", "capacity": capacity}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert f'id="agent{world.agnes.pk}-capacity_errors"' in page and "Saved." not in page
    assert not AgentProfile.objects.filter(organization=world.acme, user=world.agnes).exists()
    mine = client.post(
        "/inbox/settings/", {"form": "availability", "status": "away", "capacity": capacity}
    )
    assert mine.status_code == 400 and 'id="me-capacity_errors"' in mine.content.decode()
    assert not AgentProfile.objects.filter(organization=world.acme, user=world.adam).exists()


def test_an_agent_sets_only_their_own_availability(client: Client, world: World) -> None:
    client.force_login(world.agnes)
    page = client.get("/inbox/settings/").content.decode()
    assert 'id="agent-list"' not in page
    mine = client.post(
        f"/inbox/settings/agents/{world.agnes.pk}/", {"status": "away", "capacity": "3"}
    )
    assert mine.status_code == 302
    other = client.post(
        f"/inbox/settings/agents/{world.adam.pk}/", {"status": "away", "capacity": "3"}
    )
    assert other.status_code == 404
    assert not AgentProfile.objects.filter(organization=world.acme, user=world.adam).exists()


def test_another_organisations_agent_is_a_404(client: Client, world: World) -> None:
    _admin(client, world)
    response = client.post(
        f"/inbox/settings/agents/{world.gina.pk}/", {"status": "away", "capacity": "1"}
    )
    assert response.status_code == 404
    assert not AgentProfile.objects.filter(user=world.gina).exists()


def test_the_page_reads_in_korean(client: Client, world: World) -> None:
    User.objects.filter(pk=world.adam.pk).update(language="ko")
    client.force_login(User.objects.get(pk=world.adam.pk))
    hours = _hours(world)
    response = client.post(
        "/inbox/settings/", _policy_form(world, hours, first_response_minutes="abc"),
        HTTP_ACCEPT_LANGUAGE="ko",
    )  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 400
    assert "정수를 입력하세요" in page and "다음 응답(분)" in page and "상담원" in page
