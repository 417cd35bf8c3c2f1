"""The inbox API: who may call what (every persona), and what the calls do."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from greenroom.api.tests.conftest import ACME_PEOPLE, bearer, call, make_token
from greenroom.conftest import World
from greenroom.core.models import AuditEvent
from greenroom.inbox import actions
from greenroom.inbox.models import Conversation, Message, RoutingRule
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
        grid(200, ENGAGE_COFFEE | {"april"}, 403, agnes=404),
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
