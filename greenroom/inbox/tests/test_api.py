"""The inbox API: who may call what (every persona), and what the calls do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from greenroom.api.tests.conftest import ACME_PEOPLE, bearer, call, make_token
from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import AuditEvent
from greenroom.inbox import actions
from greenroom.inbox.models import (
    Contact,
    Conversation,
    Message,
    RoutingRule,
    SavedReply,
    SlaPolicy,
)
from greenroom.inbox.tests.conftest import conversation_of, item, land

ENGAGE_COFFEE = {"alice", "adam", "bianca"}
VIEW_COFFEE = {"alice", "adam", "bianca", "paul", "carl", "april", "anna", "otto"}
ADMINS = {"alice", "adam"}


@pytest.fixture
def ctx(world: World) -> dict[str, Any]:
    land(world.coffee_x, item("api1", "Where is my order?", author="emma"))
    land(world.globex_x, item("api2", "Globex", author="gus"))
    coffee = conversation_of(world.coffee_x, "api1")
    alice = world.alice
    saved = actions.do_save_saved_reply(world.acme, title="Hi", body="Hi!", acting_user=alice)
    policy = actions.do_save_sla_policy(world.acme, name="P", acting_user=alice)
    rule = actions.do_save_routing_rule(world.acme, name="R", acting_user=alice)
    coffee.requires_approval = True
    held = actions.do_reply(coffee, "Held for approval", acting_user=world.bianca)
    coffee.requires_approval = False
    Message.objects.filter(pk=held.pk).update(status="awaiting_approval")
    return {
        "saved": saved.pk,
        "policy": policy.pk,
        "rule": rule.pk,
        "held": held.pk,
        "coffee": coffee.pk,
        "globex": conversation_of(world.globex_x, "api2").pk,
        "clients": {n: bearer(make_token(world, n)[1]) for n in [*ACME_PEOPLE, "gina"]},
    }


def grid(ok: int, who: set[str], other: int, **special: int) -> dict[str, int]:
    table = {n: ok if n in who else other for n in ACME_PEOPLE}
    table.update(special)
    return table


# (id, method, route, expected per Acme person, gina, body, audit action of a success)
CASES: list[tuple[str, str, str, dict[str, int], int, Any, str | None]] = [
    ("list", "GET", "/api/inbox/conversations", grid(200, set(ACME_PEOPLE), 0), 200, None, None),
    (
        "get",
        "GET",
        "/api/inbox/conversations/{coffee}",
        grid(200, VIEW_COFFEE, 404),
        404,
        None,
        None,
    ),
    (
        "get.globex",
        "GET",
        "/api/inbox/conversations/{globex}",
        grid(404, set(), 404),
        200,
        None,
        None,
    ),
    (
        "messages",
        "GET",
        "/api/inbox/conversations/{coffee}/messages",
        grid(200, VIEW_COFFEE, 404),
        404,
        None,
        None,
    ),
    (
        "reply",
        "POST",
        "/api/inbox/conversations/{coffee}/reply",
        grid(201, ENGAGE_COFFEE, 403, agnes=404),
        404,
        {"text": "On its way!"},
        "inbox.reply_queued",
    ),
    (
        "note",
        "POST",
        "/api/inbox/conversations/{coffee}/notes",
        grid(201, ENGAGE_COFFEE, 403, agnes=404),
        404,
        {"text": "checking"},
        "inbox.note_added",
    ),
    (
        "assign",
        "POST",
        "/api/inbox/conversations/{coffee}/assign",
        grid(200, ENGAGE_COFFEE, 403, agnes=404),
        404,
        {"assignee_id": None},
        "inbox.assigned",
    ),
    (
        "tags",
        "POST",
        "/api/inbox/conversations/{coffee}/tags",
        grid(200, ENGAGE_COFFEE, 403, agnes=404),
        404,
        {"add": ["order"]},
        "inbox.tagged",
    ),
    (
        "close",
        "POST",
        "/api/inbox/conversations/{coffee}/close",
        grid(200, ENGAGE_COFFEE, 403, agnes=404),
        404,
        None,
        "inbox.closed",
    ),
    (
        "saved.list",
        "GET",
        "/api/inbox/saved-replies",
        grid(200, set(ACME_PEOPLE), 0),
        200,
        None,
        None,
    ),
    (
        "saved.create",
        "POST",
        "/api/inbox/saved-replies",
        grid(201, ADMINS, 403),
        201,
        {"title": "Thanks", "body": "Thanks {first_name}!"},
        "inbox.saved_reply_saved",
    ),
    (
        "policies.list",
        "GET",
        "/api/inbox/sla-policies",
        grid(200, set(ACME_PEOPLE), 0),
        200,
        None,
        None,
    ),
    (
        "policies.create",
        "POST",
        "/api/inbox/sla-policies",
        grid(201, ADMINS, 403),
        201,
        {"name": "Urgent", "priority": "urgent", "first_response_minutes": 30},
        "inbox.sla_policy_saved",
    ),
    (
        "hours.list",
        "GET",
        "/api/inbox/business-hours",
        grid(200, set(ACME_PEOPLE), 0),
        200,
        None,
        None,
    ),
    (
        "hours.create",
        "POST",
        "/api/inbox/business-hours",
        grid(201, ADMINS, 403),
        201,
        {
            "name": "Seoul office",
            "timezone": "Asia/Seoul",
            "weekly": [[["09:00", "18:00"]]] * 5 + [[], []],
            "holidays": ["2026-12-25"],
        },
        "inbox.business_hours_saved",
    ),
    (
        "saved.delete",
        "DELETE",
        "/api/inbox/saved-replies/{saved}",
        grid(204, ADMINS, 403),
        404,
        None,
        "inbox.saved_reply_deleted",
    ),
    (
        "policies.delete",
        "DELETE",
        "/api/inbox/sla-policies/{policy}",
        grid(204, ADMINS, 403),
        404,
        None,
        "inbox.sla_policy_deleted",
    ),
    (
        "rules.delete",
        "DELETE",
        "/api/inbox/rules/{rule}",
        grid(204, ADMINS, 403),
        404,
        None,
        "inbox.rule_deleted",
    ),
    (
        "approve",
        "POST",
        "/api/inbox/replies/{held}/approve",
        # Bianca wrote it: nobody approves their own reply.
        grid(200, ENGAGE_COFFEE | {"april"}, 403, agnes=404, bianca=400),
        404,
        None,
        "inbox.reply_approved",
    ),
    ("rules.list", "GET", "/api/inbox/rules", grid(200, set(ACME_PEOPLE), 0), 200, None, None),
    (
        "rules.create",
        "POST",
        "/api/inbox/rules",
        grid(201, ADMINS, 403),
        201,
        {"name": "Refunds", "keywords": "refund", "set_priority": "high"},
        "inbox.rule_saved",
    ),
]


def _run(client: Any, method: str, route: str, body: Any, action: str | None, who: Any) -> int:
    with transaction.atomic():
        before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        status: int = call(client, method, route, body).status_code
        new = list(AuditEvent.objects.filter(pk__gt=before).values_list("action", "actor_id"))
        if action and status < 300:
            assert (action, who.pk) in new, new
        elif method != "GET":
            assert new == [], new
        transaction.set_rollback(True)
    return status


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_inbox_permission_matrix(case: Any, ctx: dict[str, Any], world: World) -> None:
    _id, method, route, expect, gina, body, action = case
    path = route.format(**ctx)
    got = {
        n: _run(ctx["clients"][n], method, path, body, action, world.people[n]) for n in ACME_PEOPLE
    }
    assert got == expect
    assert _run(ctx["clients"]["gina"], method, path, body, action, world.gina) == gina


def test_the_api_works_a_conversation(ctx: dict[str, Any], world: World) -> None:
    alice = ctx["clients"]["alice"]
    pk = ctx["coffee"]
    assert (
        call(
            alice, "POST", f"/api/inbox/conversations/{pk}/assign", {"assignee_id": world.bianca.pk}
        ).json()["assignee"]["username"]
        == "bianca"
    )
    tagged = call(alice, "POST", f"/api/inbox/conversations/{pk}/tags", {"add": ["Late Order"]})
    assert tagged.json()["tags"] == ["late-order"]
    mine = call(ctx["clients"]["bianca"], "GET", "/api/inbox/conversations", {"queue": "mine"})
    assert [c["id"] for c in mine.json()["items"]] == [pk]
    messages = call(alice, "GET", f"/api/inbox/conversations/{pk}/messages").json()
    assert messages["items"][0]["text"] == "Where is my order?"
    closed = call(alice, "POST", f"/api/inbox/conversations/{pk}/close").json()
    assert closed["status"] == "closed" and closed["sla_due_at"] is None


def test_a_rule_created_by_api_routes_new_messages(ctx: dict[str, Any], world: World) -> None:
    created = call(
        ctx["clients"]["alice"],
        "POST",
        "/api/inbox/rules",
        {"name": "Refunds", "keywords": "refund", "set_priority": "high", "add_tags": ["refund"]},
    )
    assert created.status_code == 201
    assert RoutingRule.objects.get(name="Refunds").set_priority == "high"
    land(world.coffee_x, item("api3", "I want a refund", author="z"))
    routed = Conversation.objects.get(messages__external_id="api3")
    assert (routed.priority, routed.tags) == ("high", ["refund"])


def test_a_four_eyes_rule_holds_an_approvers_reply_for_a_colleague(
    ctx: dict[str, Any], world: World
) -> None:
    alice, adam = ctx["clients"]["alice"], ctx["clients"]["adam"]
    rule = {"name": "Crisis", "keywords": "recall", "require_approval": True, "four_eyes": True}
    created = call(alice, "POST", "/api/inbox/rules", rule)
    assert created.status_code == 201 and created.json()["four_eyes"] is True
    land(world.coffee_x, item("api4", "Is the recall true?", author="y"))
    pk = conversation_of(world.coffee_x, "api4").pk
    assert call(adam, "GET", f"/api/inbox/conversations/{pk}").json()["four_eyes"] is True

    reply = call(adam, "POST", f"/api/inbox/conversations/{pk}/reply", {"text": "Not true."})
    assert reply.json()["status"] == "awaiting_approval"
    own = call(adam, "POST", f"/api/inbox/replies/{reply.json()['id']}/approve")
    assert own.status_code == 400 and "Nobody approves their own reply" in own.json()["detail"]
    approved = call(alice, "POST", f"/api/inbox/replies/{reply.json()['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] != "awaiting_approval"

    # Four eyes means nothing without approval: refused, not saved half-way.
    half = call(alice, "POST", "/api/inbox/rules", {"name": "Half", "four_eyes": True})
    assert half.status_code == 400 and not RoutingRule.objects.filter(name="Half").exists()


def test_bad_input_is_a_422_not_a_crash(ctx: dict[str, Any]) -> None:
    alice = ctx["clients"]["alice"]
    pk = ctx["coffee"]
    replies = Message.objects.filter(direction="out").count()
    assert (
        call(alice, "POST", f"/api/inbox/conversations/{pk}/reply", {"text": "a\x00b"}).status_code
        == 422
    )
    assert (
        call(
            alice, "POST", "/api/inbox/sla-policies", {"name": "x", "warn_at_share": 3}
        ).status_code
        == 422
    )
    assert call(alice, "GET", "/api/inbox/conversations", {"queue": "nope"}).status_code == 422
    assert Message.objects.filter(direction="out").count() == replies


# --- What the calls added for parity with the pages do -------------------------------------------


def _audit(action: str, target: Any) -> AuditEvent:
    """The one audit event of `action` on `target`."""
    events = AuditEvent.objects.filter(
        action=action, target_type=target._meta.label_lower, target_id=str(target.pk)
    )
    assert events.count() == 1, list(events.values_list("action", "target_type", "target_id"))
    return events.get()


def _detail(response: Any, status: int) -> Any:
    assert response.status_code == status, response.content
    return response.json()["detail"]


def _refused(response: Any) -> str:
    """The one field of the body a 422 says is wrong (a union's members each explain)."""
    detail = _detail(response, 422)
    assert all(entry["msg"] and entry["loc"][:2] == ["body", "body"] for entry in detail), detail
    fields = {entry["loc"][2] for entry in detail}
    assert len(fields) == 1, detail
    return str(fields.pop())


def test_snoozing_sets_a_conversation_aside_until_a_future_time(
    ctx: dict[str, Any], world: World
) -> None:
    alice = ctx["clients"]["alice"]
    pk = ctx["coffee"]
    url = f"/api/inbox/conversations/{pk}/snooze"
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    assert "future" in _detail(call(alice, "POST", url, {"until": past}), 400)
    assert _refused(call(alice, "POST", url, {"until": "tomorrow"})) == "until"
    assert Conversation.objects.get(pk=pk).status == "open"
    assert not AuditEvent.objects.filter(action="inbox.snoozed").exists()

    # A time without an offset is UTC, as everywhere in the API.
    until = (timezone.now() + timedelta(hours=3)).replace(microsecond=0, tzinfo=None)
    snoozed = call(alice, "POST", url, {"until": until.isoformat()})
    assert snoozed.status_code == 200, snoozed.content
    body = snoozed.json()
    assert body["status"] == "snoozed"
    assert datetime.fromisoformat(body["snoozed_until"]) == until.replace(tzinfo=UTC)
    event = _audit("inbox.snoozed", Conversation.objects.get(pk=pk))
    assert event.actor_id == world.alice.pk
    assert event.after == {"until": until.replace(tzinfo=UTC).isoformat()}
    queue = call(alice, "GET", "/api/inbox/conversations", {"queue": "snoozed"}).json()
    assert [c["id"] for c in queue["items"]] == [pk]
    working = call(alice, "GET", "/api/inbox/conversations").json()
    assert pk not in [c["id"] for c in working["items"]]


def test_reopening_brings_a_closed_conversation_back(ctx: dict[str, Any], world: World) -> None:
    alice = ctx["clients"]["alice"]
    pk = ctx["coffee"]
    base = f"/api/inbox/conversations/{pk}"
    assert call(alice, "POST", base + "/close").json()["status"] == "closed"
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    refused = _detail(call(alice, "POST", base + "/snooze", {"until": later}), 400)
    assert "reopen it" in refused
    assert Conversation.objects.get(pk=pk).status == "closed"

    reopened = call(alice, "POST", base + "/reopen")
    assert reopened.status_code == 200, reopened.content
    assert (reopened.json()["status"], reopened.json()["closed_at"]) == ("open", None)
    assert _audit("inbox.reopened", Conversation.objects.get(pk=pk)).actor_id == world.alice.pk
    # Open already: nothing changes and nothing is recorded.
    assert call(alice, "POST", base + "/reopen").json()["status"] == "open"
    assert AuditEvent.objects.filter(action="inbox.reopened").count() == 1
    # Snoozed is not closed: the answer says when it comes back.
    call(alice, "POST", base + "/snooze", {"until": later})
    assert "snoozed, not closed" in _detail(call(alice, "POST", base + "/reopen"), 400)
    assert Conversation.objects.get(pk=pk).status == "snoozed"


def test_a_new_priority_retimes_the_sla_clock(ctx: dict[str, Any], world: World) -> None:
    alice = ctx["clients"]["alice"]
    pk = ctx["coffee"]
    actions.do_save_sla_policy(
        world.acme,
        name="Urgent",
        priority="urgent",
        first_response_minutes=30,
        acting_user=world.alice,
    )
    url = f"/api/inbox/conversations/{pk}/priority"
    assert _refused(call(alice, "POST", url, {"priority": "critical"})) == ("priority")
    before = Conversation.objects.get(pk=pk)
    assert before.priority == "normal"
    changed = call(alice, "POST", url, {"priority": "urgent"})
    assert changed.status_code == 200, changed.content
    after = Conversation.objects.get(pk=pk)
    assert after.priority == "urgent" and changed.json()["priority"] == "urgent"
    assert before.waiting_since is not None
    assert after.first_response_due_at == before.waiting_since + timedelta(minutes=30)
    event = _audit("inbox.priority_set", after)
    assert (event.before, event.after) == ({"priority": "normal"}, {"priority": "urgent"})


def test_a_conversation_goes_to_a_team_of_the_organisation_only(
    ctx: dict[str, Any], world: World
) -> None:
    alice = ctx["clients"]["alice"]
    pk = ctx["coffee"]
    url = f"/api/inbox/conversations/{pk}/team"
    care = core_actions.do_create_team(
        world.acme, name="Care", members=[world.bianca], acting_user=world.alice
    )
    theirs = core_actions.do_create_team(world.globex, name="Care", acting_user=world.gina)
    assert f"no team with id {theirs.pk}" in _detail(
        call(alice, "POST", url, {"team_id": theirs.pk}), 400
    )
    assert Conversation.objects.get(pk=pk).team_id is None
    assert call(alice, "POST", url, {"team_id": care.pk}).json()["team_id"] == care.pk
    event = _audit("inbox.team_set", Conversation.objects.get(pk=pk))
    assert (event.before, event.after) == ({"team": None}, {"team": care.pk})
    assert call(alice, "POST", url, {"team_id": None}).json()["team_id"] is None
    assert Conversation.objects.get(pk=pk).team_id is None


def test_hiding_a_comment_marks_it_and_refuses_what_cannot_be_hidden(
    ctx: dict[str, Any], world: World
) -> None:
    bianca = ctx["clients"]["bianca"]
    comment = Message.objects.get(channel=world.coffee_x, external_id="api1")
    hidden = call(bianca, "POST", f"/api/inbox/messages/{comment.pk}/hide")
    assert hidden.status_code == 200, hidden.content
    comment.refresh_from_db()
    assert comment.hidden_at is not None and hidden.json()["hidden_at"] is not None
    assert _audit("inbox.message_hidden", comment).actor_id == world.bianca.pk
    # Our own reply, and a direct message, cannot be hidden; nothing changes.
    reply = Message.objects.get(pk=ctx["held"])
    assert "Only messages people sent" in _detail(
        call(bianca, "POST", f"/api/inbox/messages/{reply.pk}/hide"), 400
    )
    land(world.coffee_x, item("dm1", "Private question", kind="dm", author="dora"))
    dm = Message.objects.get(channel=world.coffee_x, external_id="dm1")
    assert "Direct messages cannot be hidden" in _detail(
        call(bianca, "POST", f"/api/inbox/messages/{dm.pk}/hide"), 400
    )
    dm.refresh_from_db()
    assert dm.hidden_at is None
    assert AuditEvent.objects.filter(action="inbox.message_hidden").count() == 1


def test_a_vip_contact_is_routed_as_one(ctx: dict[str, Any], world: World) -> None:
    alice = ctx["clients"]["alice"]
    contact = Conversation.objects.get(pk=ctx["coffee"]).contact
    assert contact is not None and not contact.is_vip
    url = f"/api/inbox/contacts/{contact.pk}"
    assert _refused(call(alice, "PATCH", url, {"is_vip": None})) == "is_vip"
    # Nothing sent, nothing changed or recorded.
    assert call(alice, "PATCH", url, {}).json()["is_vip"] is False
    assert not AuditEvent.objects.filter(action="inbox.contact_updated").exists()

    marked = call(alice, "PATCH", url, {"is_vip": True})
    assert marked.status_code == 200, marked.content
    assert (marked.json()["is_vip"], marked.json()["is_customer"]) == (True, False)
    contact = Contact.objects.get(pk=contact.pk)
    assert contact.is_vip
    event = _audit("inbox.contact_updated", contact)
    assert (event.before["is_vip"], event.after["is_vip"]) == (False, True)
    actions.do_save_routing_rule(
        world.acme, name="VIPs", author_is_vip=True, set_priority="high", acting_user=world.alice
    )
    land(world.coffee_x, item("api-vip", "Another question", author="emma"))
    assert conversation_of(world.coffee_x, "api-vip").priority == "high"


def test_agents_show_their_load_and_set_their_availability(
    ctx: dict[str, Any], world: World
) -> None:
    agnes = ctx["clients"]["agnes"]
    listed = call(agnes, "GET", "/api/inbox/agents")
    assert listed.status_code == 200, listed.content
    rows = {row["person"]["username"]: row for row in listed.json()["items"]}
    # Whoever may answer somewhere: owner, admin, brand manager, community agent.
    assert set(rows) == {"alice", "adam", "bianca", "agnes"}
    assert listed.json()["total"] == 4
    assert rows["agnes"] | {"person": None} == {
        "person": None,
        "status": "on_shift",
        "capacity": 20,
        "open_conversations": 0,
        "last_assigned_at": None,
    }
    # bianca answered the Coffee conversation, so it is hers.
    assert rows["bianca"]["open_conversations"] == 1

    # Tea's care team waits for agnes, who is away.
    land(world.tea_bluesky, item("api-tea", "차가 안 왔어요", author="minji"))
    waiting = conversation_of(world.tea_bluesky, "api-tea")
    care = core_actions.do_create_team(
        world.acme, name="Tea care", members=[world.agnes], acting_user=world.alice
    )
    actions.do_set_agent(world.acme, world.agnes, status="away", acting_user=world.agnes)
    actions.do_set_team([waiting], care, acting_user=world.alice)
    url = f"/api/inbox/agents/{world.agnes.pk}"
    for bad in ({"capacity": 5000}, {"capacity": -1}, {"status": "asleep"}, {"status": None}):
        assert call(agnes, "PATCH", url, bad).status_code == 422, bad
    # Someone else's availability needs manage_members.
    assert "manage_members" in _detail(
        call(ctx["clients"]["bianca"], "PATCH", url, {"status": "on_shift"}), 403
    )
    assert Conversation.objects.get(pk=waiting.pk).assignee_id is None

    back = call(agnes, "PATCH", url, {"status": "on_shift", "capacity": 2})
    assert back.status_code == 200, back.content
    assert (back.json()["status"], back.json()["capacity"]) == ("on_shift", 2)
    # Back on shift: what waited for her team is hers now, and counts against her capacity.
    assert Conversation.objects.get(pk=waiting.pk).assignee_id == world.agnes.pk
    assert back.json()["open_conversations"] == 1
    events = AuditEvent.objects.filter(action="inbox.agent_updated", actor=world.agnes)
    assert [(e.before, e.after) for e in events.order_by("pk")][-1] == (
        {"status": "away", "capacity": 20},
        {"status": "on_shift", "capacity": 2},
    )
    # An admin sets anyone's.
    adam = call(ctx["clients"]["adam"], "PATCH", url, {"status": "away"})
    assert adam.json()["status"] == "away"
    assert AuditEvent.objects.filter(action="inbox.agent_updated", actor=world.adam).count() == 1


def test_changing_a_saved_reply_keeps_what_was_not_sent(ctx: dict[str, Any], world: World) -> None:
    alice = ctx["clients"]["alice"]
    url = f"/api/inbox/saved-replies/{ctx['saved']}"
    assert _refused(call(alice, "PATCH", url, {"title": None})) == "title"
    assert _refused(call(alice, "PATCH", url, {"body": ""})) == "body"
    foreign = world.globex_x.brand_id
    assert f"no brand with id {foreign}" in _detail(
        call(alice, "PATCH", url, {"brand_id": foreign}), 400
    )
    changed = call(alice, "PATCH", url, {"body": "Hi {first_name}!", "brand_id": world.coffee.pk})
    assert changed.status_code == 200, changed.content
    saved = SavedReply.objects.get(pk=ctx["saved"])
    assert (saved.title, saved.body, saved.brand_id) == ("Hi", "Hi {first_name}!", world.coffee.pk)
    assert (
        AuditEvent.objects.filter(action="inbox.saved_reply_saved", target_id=str(saved.pk)).count()
        == 2
    )  # created, then changed
    assert call(alice, "PATCH", url, {"brand_id": None}).json()["brand_id"] is None
    assert (
        call(alice, "PATCH", "/api/inbox/saved-replies/999999", {"title": "x"}).status_code == 404
    )
    # Off: kept and listed as off; a change of text leaves it off; null is not a state.
    assert _refused(call(alice, "PATCH", url, {"is_active": None})) == "is_active"
    assert call(alice, "PATCH", url, {"is_active": False}).json()["is_active"] is False
    assert call(alice, "PATCH", url, {"title": "Hello"}).json()["is_active"] is False
    listed = call(alice, "GET", "/api/inbox/saved-replies").json()["items"]
    assert [r["is_active"] for r in listed if r["id"] == ctx["saved"]] == [False]
    created = call(
        alice,
        "POST",
        "/api/inbox/saved-replies",
        {"title": "Later", "body": "x", "is_active": False},
    )
    assert created.status_code == 201 and created.json()["is_active"] is False


def test_changing_an_sla_policy(ctx: dict[str, Any], world: World) -> None:
    alice = ctx["clients"]["alice"]
    url = f"/api/inbox/sla-policies/{ctx['policy']}"
    for bad, field in (
        ({"name": None}, "name"),
        ({"warn_at_share": 2}, "warn_at_share"),
        ({"first_response_minutes": 0}, "first_response_minutes"),
        ({"priority": "critical"}, "priority"),
    ):
        assert _refused(call(alice, "PATCH", url, bad)) == field, bad
    hours = actions.do_save_business_hours(
        world.acme,
        name="Office",
        weekly=[[["09:00", "18:00"]]] * 5 + [[], []],
        holidays=[],
        acting_user=world.alice,
    )
    changed = call(
        alice,
        "PATCH",
        url,
        {
            "priority": "high",
            "first_response_minutes": 60,
            "resolution_minutes": 480,
            "channel_id": world.coffee_x.pk,
            "business_hours_id": hours.pk,
        },
    )
    assert changed.status_code == 200, changed.content
    policy = SlaPolicy.objects.get(pk=ctx["policy"])
    assert (policy.name, policy.priority, policy.first_response_minutes) == ("P", "high", 60)
    assert (policy.resolution_minutes, policy.channel_id) == (480, world.coffee_x.pk)
    assert policy.business_hours_id == hours.pk
    event = AuditEvent.objects.filter(action="inbox.sla_policy_saved").order_by("-pk").first()
    assert event is not None and event.target_id == str(policy.pk)
    assert (event.before["first_response_minutes"], event.after["first_response_minutes"]) == (
        24 * 60,
        60,
    )
    cleared = call(alice, "PATCH", url, {"channel_id": None, "business_hours_id": None}).json()
    assert (cleared["channel_id"], cleared["business_hours_id"], cleared["priority"]) == (
        None,
        None,
        "high",
    )


def test_a_changed_rule_routes_the_next_messages(ctx: dict[str, Any], world: World) -> None:
    alice = ctx["clients"]["alice"]
    url = f"/api/inbox/rules/{ctx['rule']}"
    assert _refused(call(alice, "PATCH", url, {"add_tags": None})) == "add_tags"
    assert _refused(call(alice, "PATCH", url, {"sentiment": "angry"})) == ("sentiment")
    assert "not a member" in _detail(
        call(alice, "PATCH", url, {"set_assignee_id": world.gina.pk}), 400
    )
    changed = call(
        alice,
        "PATCH",
        url,
        {"keywords": "broken", "set_priority": "urgent", "add_tags": ["Broken Cup"]},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["add_tags"] == ["broken-cup"] and changed.json()["name"] == "R"
    event = AuditEvent.objects.filter(action="inbox.rule_saved").order_by("-pk").first()
    assert (
        event is not None and event.before["keywords"] == "" and event.after["keywords"] == "broken"
    )
    land(world.coffee_x, item("api-broken", "My cup arrived broken", author="fay"))
    land(world.coffee_x, item("api-fine", "Lovely cup", author="gil"))
    routed = conversation_of(world.coffee_x, "api-broken")
    assert (routed.priority, routed.tags) == ("urgent", ["broken-cup"])
    assert conversation_of(world.coffee_x, "api-fine").priority == "normal"


def test_a_read_only_token_reads_agents_but_cannot_change_them(world: World) -> None:
    reader = bearer(make_token(world, "agnes", scopes=("read",))[1])
    assert call(reader, "GET", "/api/inbox/agents").status_code == 200
    refused = call(reader, "PATCH", f"/api/inbox/agents/{world.agnes.pk}", {"status": "away"})
    assert "write scope" in _detail(refused, 403)
    assert not AuditEvent.objects.filter(action="inbox.agent_updated").exists()
