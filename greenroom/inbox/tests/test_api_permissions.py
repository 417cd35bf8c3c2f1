"""Who may call what on /api/inbox, for every persona (the API permission matrix's rules).

The policy (greenroom/api/inbox.py, docs/architecture/inbox.md): a conversation and its
messages are seen by whoever may view its channel; working it (reply, note, assign, team,
priority, tag, snooze, close, reopen; hiding or deleting a comment) needs engage there; letting a
held reply go out needs approve there. A contact is changed by someone who may engage on a
channel they wrote on. Agents are read by people who work the inbox or see members; each agent
sets their own availability, people who manage members anyone's. Saved replies, SLA policies,
business hours and routing rules are the organisation's: everyone in it reads them, only people
who manage the organisation change them. A brand, channel or saved reply named in a body that
the caller cannot see is a 400 that says so. Each object comes three times: Coffee's, Tea's
(bianca manages Coffee only, agnes works Tea only) and Globex's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone

from greenroom.api.tests import matrix
from greenroom.api.tests.conftest import ACME_PEOPLE, bearer, call, make_token
from greenroom.api.tests.test_permissions import Case, grid
from greenroom.conftest import World, make_user
from greenroom.core import actions as core_actions
from greenroom.core.models import Brand, Organization, User
from greenroom.core.permissions import Role
from greenroom.inbox import actions
from greenroom.inbox.models import Contact, Conversation, DeliveryStatus, Message, SavedReply
from greenroom.inbox.queues import WORKING

from .conftest import conversation_of, item, land

EVERYONE = set(ACME_PEOPLE)
ADMINS = {"alice", "adam"}  # manage_org
VIEW_COFFEE = EVERYONE - {"agnes"}
VIEW_TEA = EVERYONE - {"bianca"}
ENGAGE_COFFEE = {"alice", "adam", "bianca"}
ENGAGE_TEA = {"alice", "adam", "agnes"}
APPROVE_COFFEE = {"alice", "adam", "bianca", "april"}
APPROVE_TEA = {"alice", "adam", "april"}
ANALYTICS = {"alice", "adam", "bianca", "paul", "anna", "otto"}  # view_analytics
# People who work the inbox (engage somewhere) or see members read the agents.
AGENT_READERS = {"alice", "adam", "bianca", "agnes", "otto"}


def _hours_args() -> dict[str, Any]:
    return {
        "name": HOURS["name"],
        "timezone_name": HOURS["timezone"],
        "weekly": HOURS["weekly"],
        "holidays": HOURS["holidays"],
    }


HOURS = {
    "name": "Seoul office",
    "timezone": "Asia/Seoul",
    "weekly": [[["09:00", "18:00"]]] * 5 + [[], []],
    "holidays": ["2026-12-25"],
}


def _sends(body: Any) -> Callable[[Any], Any]:
    return lambda ctx: body


def _snooze(ctx: Any) -> dict[str, str]:
    return {"until": (timezone.now() + timedelta(hours=4)).isoformat()}


def _engage(brand: str, ok: int) -> dict[str, int]:
    """`ok` for who may engage on the brand's channels, 403 for who only sees them, else 404."""
    view, engage = {"coffee": (VIEW_COFFEE, ENGAGE_COFFEE), "tea": (VIEW_TEA, ENGAGE_TEA)}[brand]
    return {p: ok if p in engage else 403 if p in view else 404 for p in ACME_PEOPLE}


def _conversation_cases() -> list[Case]:
    """Reading and working a conversation, for Coffee's, Tea's and Globex's."""
    works = [
        ("reply", "/reply", 201, {"text": "On its way!"}, "inbox.reply_queued"),
        ("note", "/notes", 201, {"text": "Checking the courier."}, "inbox.note_added"),
        ("assign", "/assign", 200, {"assignee_id": None}, "inbox.assigned"),
        ("tags", "/tags", 200, {"add": ["order"], "remove": []}, "inbox.tagged"),
        ("close", "/close", 200, None, "inbox.closed"),
        ("priority", "/priority", 200, {"priority": "urgent"}, "inbox.priority_set"),
        ("team", "/team", 200, {"team_id": None}, "inbox.team_set"),
        ("snooze", "/snooze", 200, _snooze, "inbox.snoozed"),
    ]
    of = {
        "coffee": (VIEW_COFFEE, ENGAGE_COFFEE),
        "tea": (VIEW_TEA, ENGAGE_TEA),
    }
    cases = []
    for brand, (view, engage) in of.items():
        path = f"/inbox/conversations/{{{brand}_conversation}}"
        cases += [
            Case(f"conversations.get.{brand}", "GET", path, grid(200, view, 404), gina=404),
            Case(
                f"messages.list.{brand}", "GET", path + "/messages", grid(200, view, 404), gina=404
            ),
        ]
        for name, suffix, ok, body, audit in works:
            # Seen but not engage: 403; not seen: 404.
            expect = {p: ok if p in engage else 403 if p in view else 404 for p in ACME_PEOPLE}
            cases.append(
                Case(
                    f"conversations.{name}.{brand}",
                    "POST",
                    path + suffix,
                    expect,
                    gina=404,
                    body=body if callable(body) else _sends(body),
                    audit=audit,
                )
            )
        cases.append(
            Case(
                f"conversations.reopen.{brand}",
                "POST",
                f"/inbox/conversations/{{{brand}_closed}}/reopen",
                _engage(brand, 200),
                gina=404,
                audit="inbox.reopened",
            )
        )
    path = "/inbox/conversations/{globex_conversation}"
    cases += [
        Case("conversations.get.globex", "GET", path, grid(404, EVERYONE, 0), gina=200),
        Case("messages.list.globex", "GET", path + "/messages", grid(404, EVERYONE, 0), gina=200),
    ]
    for name, suffix, ok, body, audit in works:
        cases.append(
            Case(
                f"conversations.{name}.globex",
                "POST",
                path + suffix,
                grid(404, EVERYONE, 0),
                gina=ok,
                body=body if callable(body) else _sends(body),
                audit=audit,
            )
        )
    cases.append(
        Case(
            "conversations.reopen.globex",
            "POST",
            "/inbox/conversations/{globex_closed}/reopen",
            grid(404, EVERYONE, 0),
            gina=200,
            audit="inbox.reopened",
        )
    )
    return cases


# fmt: off
CASES = [
    Case("conversations.list", "GET", "/inbox/conversations", grid(200, EVERYONE, 0), gina=200),
    # The numbers are analytics: organisation-wide for those who see analytics.
    Case("numbers", "GET", "/inbox/numbers", grid(200, ANALYTICS, 403), gina=200),
    *_conversation_cases(),
    # Replies a routing rule held: an engager without approve wrote each one (agnes the Tea one,
    # herself unable to approve it).
    Case("replies.approve.coffee", "POST", "/inbox/replies/{coffee_held}/approve",
         grid(200, APPROVE_COFFEE, 403, agnes=404), gina=404, audit="inbox.reply_approved"),
    Case("replies.approve.tea", "POST", "/inbox/replies/{tea_held}/approve",
         grid(200, APPROVE_TEA, 403, bianca=404), gina=404, audit="inbox.reply_approved"),
    Case("replies.approve.globex", "POST", "/inbox/replies/{globex_held}/approve",
         grid(404, EVERYONE, 0), gina=200, audit="inbox.reply_approved"),
    Case("replies.reject.coffee", "POST", "/inbox/replies/{coffee_held}/reject",
         grid(200, APPROVE_COFFEE, 403, agnes=404), gina=404, audit="inbox.reply_rejected",
         body=lambda ctx: {"reason": "Too casual"}),
    Case("replies.reject.globex", "POST", "/inbox/replies/{globex_held}/reject",
         grid(404, EVERYONE, 0), gina=200, audit="inbox.reply_rejected",
         body=lambda ctx: {"reason": "No"}),
    # --- Configuration: the organisation's ------------------------------------------------------
    Case("saved_replies.list", "GET", "/inbox/saved-replies", grid(200, EVERYONE, 0), gina=200),
    Case("saved_replies.create", "POST", "/inbox/saved-replies", grid(201, ADMINS, 403),
         gina=201, body=lambda ctx: {"title": "Thanks", "body": "Thanks {first_name}!"},
         audit="inbox.saved_reply_saved"),
    # Acme's brand is not Globex's.
    Case("saved_replies.create.coffee", "POST", "/inbox/saved-replies", grid(201, ADMINS, 403),
         gina=400,
         body=lambda ctx: {"title": "Beans", "body": "Fresh beans!", "brand_id": ctx.coffee},
         audit="inbox.saved_reply_saved"),
    Case("saved_replies.delete.coffee", "DELETE", "/inbox/saved-replies/{coffee_saved}",
         grid(204, ADMINS, 403), gina=404, audit="inbox.saved_reply_deleted"),
    # Configuration is the organisation's, so bianca sees Tea's too: a 403, not a 404.
    Case("saved_replies.delete.tea", "DELETE", "/inbox/saved-replies/{tea_saved}",
         grid(204, ADMINS, 403), gina=404, audit="inbox.saved_reply_deleted"),
    Case("saved_replies.delete.globex", "DELETE", "/inbox/saved-replies/{globex_saved}",
         grid(404, EVERYONE, 0), gina=204, audit="inbox.saved_reply_deleted"),
    Case("sla_policies.list", "GET", "/inbox/sla-policies", grid(200, EVERYONE, 0), gina=200),
    Case("sla_policies.create", "POST", "/inbox/sla-policies", grid(201, ADMINS, 403), gina=201,
         body=lambda ctx: {"name": "Urgent", "priority": "urgent", "first_response_minutes": 30},
         audit="inbox.sla_policy_saved"),
    Case("sla_policies.create.tea", "POST", "/inbox/sla-policies", grid(201, ADMINS, 403),
         gina=400, body=lambda ctx: {"name": "Tea", "channel_id": ctx.tea_bluesky},
         audit="inbox.sla_policy_saved"),
    Case("sla_policies.delete.coffee", "DELETE", "/inbox/sla-policies/{coffee_policy}",
         grid(204, ADMINS, 403), gina=404, audit="inbox.sla_policy_deleted"),
    Case("sla_policies.delete.globex", "DELETE", "/inbox/sla-policies/{globex_policy}",
         grid(404, EVERYONE, 0), gina=204, audit="inbox.sla_policy_deleted"),
    Case("business_hours.list", "GET", "/inbox/business-hours", grid(200, EVERYONE, 0),
         gina=200),
    Case("business_hours.create", "POST", "/inbox/business-hours", grid(201, ADMINS, 403),
         gina=201, body=lambda ctx: HOURS, audit="inbox.business_hours_saved"),
    Case("business_hours.delete.acme", "DELETE", "/inbox/business-hours/{acme_hours}",
         grid(204, ADMINS, 403), gina=404, audit="inbox.business_hours_deleted"),
    Case("business_hours.delete.globex", "DELETE", "/inbox/business-hours/{globex_hours}",
         grid(404, EVERYONE, 0), gina=204, audit="inbox.business_hours_deleted"),
    Case("rules.list", "GET", "/inbox/rules", grid(200, EVERYONE, 0), gina=200),
    # Deleting a comment on the network: engage on its channel; seen without engage is a 403.
    Case("messages.delete.coffee", "POST", "/inbox/messages/{coffee_comment}/delete",
         {p: 200 if p in ENGAGE_COFFEE else 403 if p in VIEW_COFFEE else 404
          for p in ACME_PEOPLE},
         gina=404, audit="inbox.message_deleted"),
    Case("messages.delete.tea", "POST", "/inbox/messages/{tea_comment}/delete",
         {p: 200 if p in ENGAGE_TEA else 403 if p in VIEW_TEA else 404 for p in ACME_PEOPLE},
         gina=404, audit="inbox.message_deleted"),
    Case("messages.delete.globex", "POST", "/inbox/messages/{globex_comment}/delete",
         grid(404, EVERYONE, 0), gina=200, audit="inbox.message_deleted"),
    Case("rules.create", "POST", "/inbox/rules", grid(201, ADMINS, 403), gina=201,
         body=lambda ctx: {"name": "Refunds", "keywords": "refund", "set_priority": "high"},
         audit="inbox.rule_saved"),
    Case("rules.create.coffee", "POST", "/inbox/rules", grid(201, ADMINS, 403), gina=400,
         body=lambda ctx: {"name": "Coffee", "channel_id": ctx.coffee_x, "add_tags": ["beans"]},
         audit="inbox.rule_saved"),
    Case("rules.delete.coffee", "DELETE", "/inbox/rules/{coffee_rule}", grid(204, ADMINS, 403),
         gina=404, audit="inbox.rule_deleted"),
    Case("rules.delete.globex", "DELETE", "/inbox/rules/{globex_rule}", grid(404, EVERYONE, 0),
         gina=204, audit="inbox.rule_deleted"),
    # Changing configuration: manage_org; another organisation's object is a 404, and one of
    # ours that names another organisation's brand, channel or saved reply is a 400.
    Case("saved_replies.update.coffee", "PATCH", "/inbox/saved-replies/{coffee_saved}",
         grid(200, ADMINS, 403), gina=404, body=_sends({"title": "Fresh beans"}),
         audit="inbox.saved_reply_saved"),
    Case("saved_replies.update.tea", "PATCH", "/inbox/saved-replies/{tea_saved}",
         grid(200, ADMINS, 403), gina=404, body=_sends({"body": "Steep for 3 minutes."}),
         audit="inbox.saved_reply_saved"),
    Case("saved_replies.update.globex", "PATCH", "/inbox/saved-replies/{globex_saved}",
         grid(404, EVERYONE, 0), gina=200, body=_sends({"title": "Hello"}),
         audit="inbox.saved_reply_saved"),
    Case("saved_replies.update.globex.acme_brand", "PATCH", "/inbox/saved-replies/{globex_saved}",
         grid(404, EVERYONE, 0), gina=400, body=lambda ctx: {"brand_id": ctx.coffee},
         audit="inbox.saved_reply_saved"),
    Case("sla_policies.update.coffee", "PATCH", "/inbox/sla-policies/{coffee_policy}",
         grid(200, ADMINS, 403), gina=404, body=_sends({"first_response_minutes": 45}),
         audit="inbox.sla_policy_saved"),
    Case("sla_policies.update.globex", "PATCH", "/inbox/sla-policies/{globex_policy}",
         grid(404, EVERYONE, 0), gina=200, body=_sends({"is_active": False}),
         audit="inbox.sla_policy_saved"),
    Case("sla_policies.update.globex.acme_channel", "PATCH",
         "/inbox/sla-policies/{globex_policy}", grid(404, EVERYONE, 0), gina=400,
         body=lambda ctx: {"channel_id": ctx.coffee_x}, audit="inbox.sla_policy_saved"),
    Case("rules.update.coffee", "PATCH", "/inbox/rules/{coffee_rule}", grid(200, ADMINS, 403),
         gina=404, body=_sends({"set_priority": "urgent", "add_tags": ["vip"]}),
         audit="inbox.rule_saved"),
    Case("rules.update.globex", "PATCH", "/inbox/rules/{globex_rule}", grid(404, EVERYONE, 0),
         gina=200, body=_sends({"keywords": "broken"}), audit="inbox.rule_saved"),
    Case("rules.update.globex.acme_reply", "PATCH", "/inbox/rules/{globex_rule}",
         grid(404, EVERYONE, 0), gina=400, body=lambda ctx: {"auto_reply_id": ctx.coffee_saved},
         audit="inbox.rule_saved"),
    # Hiding a comment on the network: engage on its channel, as deleting.
    Case("messages.hide.coffee", "POST", "/inbox/messages/{coffee_comment}/hide",
         _engage("coffee", 200), gina=404, audit="inbox.message_hidden"),
    Case("messages.hide.tea", "POST", "/inbox/messages/{tea_comment}/hide",
         _engage("tea", 200), gina=404, audit="inbox.message_hidden"),
    Case("messages.hide.globex", "POST", "/inbox/messages/{globex_comment}/hide",
         grid(404, EVERYONE, 0), gina=200, audit="inbox.message_hidden"),
    # A contact: seen by the organisation, changed by who may engage where they wrote.
    Case("contacts.update.coffee", "PATCH", "/inbox/contacts/{coffee_contact}",
         grid(200, ENGAGE_COFFEE, 403), gina=404, body=_sends({"is_vip": True}),
         audit="inbox.contact_updated"),
    Case("contacts.update.tea", "PATCH", "/inbox/contacts/{tea_contact}",
         grid(200, ENGAGE_TEA, 403), gina=404, body=_sends({"is_customer": True}),
         audit="inbox.contact_updated"),
    Case("contacts.update.globex", "PATCH", "/inbox/contacts/{globex_contact}",
         grid(404, EVERYONE, 0), gina=200, body=_sends({"is_vip": True}),
         audit="inbox.contact_updated"),
    # Agents: read by who works the inbox or sees members; each sets their own availability,
    # people who manage members anyone's. Going away hands nothing out (one audit event).
    Case("agents.list", "GET", "/inbox/agents", grid(200, AGENT_READERS, 403), gina=200),
    Case("agents.update.agnes", "PATCH", "/inbox/agents/{agnes}", grid(200, ADMINS, 403,
         agnes=200), gina=404, body=_sends({"status": "away", "capacity": 5}),
         audit="inbox.agent_updated"),
    # paul publishes and never answers: he is nobody's agent, not even his own.
    Case("agents.update.paul", "PATCH", "/inbox/agents/{paul}", grid(404, EVERYONE, 0),
         gina=404, body=_sends({"status": "away"}), audit="inbox.agent_updated"),
    Case("agents.update.globex", "PATCH", "/inbox/agents/{gina}", grid(404, EVERYONE, 0),
         gina=200, body=_sends({"capacity": 3}), audit="inbox.agent_updated"),
]
# fmt: on


def _agent(org: Organization, name: str, owner: User, brand: Brand | None = None) -> User:
    """A community agent (of one brand): engage without approve, so a held reply waits."""
    person = make_user(name)
    brands = [brand] if brand is not None else []
    core_actions.do_add_member(org, person, Role.COMMUNITY_AGENT, brands=brands, acting_user=owner)
    return person


def _held(conversation: Conversation, agent: User) -> int:
    message = actions.do_reply(conversation, "We will refund you today.", acting_user=agent)
    assert message.status == DeliveryStatus.AWAITING_APPROVAL
    return message.pk


@pytest.fixture
def ctx(world: World) -> SimpleNamespace:
    alice, gina, acme, globex = world.alice, world.gina, world.acme, world.globex
    coffee_x, tea, globex_x = world.coffee_x, world.tea_bluesky, world.globex_x
    # Replies to refund requests wait for an approver.
    for org, owner in ((acme, alice), (globex, gina)):
        actions.do_save_routing_rule(
            org, name="Hold refunds", keywords="refund", require_approval=True, acting_user=owner
        )
    land(coffee_x, item("c1", "Where is my order?", author="emma"))
    land(coffee_x, item("c2", "I want a refund", author="ed"))
    land(tea, item("t1", "주문한 차가 아직 안 왔어요", author="minji"))
    land(tea, item("t2", "환불해 주세요, refund please", author="jun"))
    land(globex_x, item("g1", "Globex question", author="gus"))
    land(globex_x, item("g2", "Refund my widget", author="gail"))
    closed = {}
    for name, channel, owner in (("coffee", coffee_x, alice), ("tea", tea, alice)):
        land(channel, item(f"{name}-done", "Thanks, all sorted", author=f"{name}fan"))
        closed[name] = conversation_of(channel, f"{name}-done")
        actions.do_close([closed[name]], acting_user=owner)
    land(globex_x, item("globex-done", "Thanks", author="gwen"))
    closed["globex"] = conversation_of(globex_x, "globex-done")
    actions.do_close([closed["globex"]], acting_user=gina)
    save = actions.do_save_saved_reply
    policy = actions.do_save_sla_policy
    rule = actions.do_save_routing_rule
    hours = actions.do_save_business_hours
    tokens = {name: make_token(world, name)[1] for name in [*ACME_PEOPLE, "gina"]}
    return SimpleNamespace(
        coffee=world.coffee.pk,
        coffee_x=coffee_x.pk,
        tea_bluesky=tea.pk,
        coffee_conversation=conversation_of(coffee_x, "c1").pk,
        tea_conversation=conversation_of(tea, "t1").pk,
        globex_conversation=conversation_of(globex_x, "g1").pk,
        coffee_closed=closed["coffee"].pk,
        tea_closed=closed["tea"].pk,
        globex_closed=closed["globex"].pk,
        coffee_contact=Contact.objects.get(organization=acme, handle="emma").pk,
        tea_contact=Contact.objects.get(organization=acme, handle="minji").pk,
        globex_contact=Contact.objects.get(organization=globex, handle="gus").pk,
        agnes=world.agnes.pk,
        paul=world.paul.pk,
        gina=gina.pk,
        coffee_comment=Message.objects.get(channel=coffee_x, external_id="c1").pk,
        tea_comment=Message.objects.get(channel=tea, external_id="t1").pk,
        globex_comment=Message.objects.get(channel=globex_x, external_id="g1").pk,
        coffee_held=_held(
            conversation_of(coffee_x, "c2"), _agent(acme, "cora", alice, world.coffee)
        ),
        tea_held=_held(conversation_of(tea, "t2"), world.agnes),
        globex_held=_held(conversation_of(globex_x, "g2"), _agent(globex, "gabe", gina)),
        coffee_saved=save(
            acme, title="Beans", body="Fresh!", brand=world.coffee, acting_user=alice
        ).pk,
        tea_saved=save(acme, title="Leaves", body="Steep!", brand=world.tea, acting_user=alice).pk,
        globex_saved=save(globex, title="Hi", body="Hi!", acting_user=gina).pk,
        coffee_policy=policy(acme, name="Coffee", brand=world.coffee, acting_user=alice).pk,
        globex_policy=policy(globex, name="Globex", acting_user=gina).pk,
        acme_hours=hours(acme, **_hours_args(), acting_user=alice).pk,
        globex_hours=hours(globex, **_hours_args(), acting_user=gina).pk,
        coffee_rule=rule(acme, name="Coffee", channel=coffee_x, acting_user=alice).pk,
        globex_rule=rule(globex, name="Globex", acting_user=gina).pk,
        clients={name: bearer(token) for name, token in tokens.items()},
    )


# Replying to an unassigned conversation also assigns it to whoever replied.
ALSO = {"conversations.reply": ("inbox.assigned",)}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_inbox_permission_matrix(case: Case, ctx: Any, world: World) -> None:
    matrix.check(case, ctx, world, also=ALSO.get(case.id.rsplit(".", 1)[0], ()))


def test_the_matrix_covers_every_inbox_operation() -> None:
    operations = matrix.operations(lambda path: path.startswith("/api/inbox/"))
    assert operations, "no inbox operation found: did the paths move?"
    assert operations <= matrix.covered(CASES), sorted(operations - matrix.covered(CASES))


def _ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def test_lists_hold_exactly_the_conversations_each_person_may_open(ctx: Any, world: World) -> None:
    """A list is no back door: the open conversations listed are those a GET of each finds."""
    conversations = set(
        Conversation.objects.filter(status__in=WORKING).values_list("pk", flat=True)
    )
    for person in [*ACME_PEOPLE, "gina"]:
        client = ctx.clients[person]
        openable = {
            pk
            for pk in conversations
            if call(client, "GET", f"/api/inbox/conversations/{pk}").status_code == 200
        }
        listed = _ids(call(client, "GET", "/api/inbox/conversations", {"limit": 200}))
        assert listed == openable, person
        org = world.globex if person == "gina" else world.acme
        saved = _ids(call(client, "GET", "/api/inbox/saved-replies", {"limit": 200}))
        mine = SavedReply.objects.filter(organization=org).values_list("pk", flat=True)
        assert saved == set(mine), person
    assert ctx.tea_conversation not in _ids(
        call(ctx.clients["bianca"], "GET", "/api/inbox/conversations")
    )
    assert ctx.coffee_conversation not in _ids(
        call(ctx.clients["agnes"], "GET", "/api/inbox/conversations")
    )
