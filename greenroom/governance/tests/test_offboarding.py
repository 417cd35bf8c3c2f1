"""Offboarding in one action, end to end: from the person's page, the API and SCIM."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.models import Session
from django.test import Client

from greenroom.api.tests.conftest import bearer, make_token
from greenroom.conftest import PASSWORD, World
from greenroom.core import actions as core
from greenroom.core import audit
from greenroom.core.models import (
    ApiToken,
    AuditEvent,
    Channel,
    ChannelGrant,
    Membership,
    Team,
    User,
)
from greenroom.governance import actions, inventory
from greenroom.governance.models import (
    ChecklistItem,
    ChecklistKind,
    NativeAdmin,
    Offboarding,
    StepKind,
)
from greenroom.inbox import actions as inbox
from greenroom.inbox.models import Conversation, ConversationStatus
from greenroom.publishing import actions as publishing
from greenroom.publishing.models import ApprovalStep, PostState

from .conftest import coffee_policy, conversations, pending_post


def _april_holds_everything(world: World) -> dict[str, Any]:
    """april (approver) owns coffee_x, backs up tea, has grants, conversations, approvals,
    a token, a team, native admin rights and the two-factor device of tea."""
    alice = world.alice
    core.do_update_channel(
        world.coffee_x, owner=world.april, backup=world.bianca, acting_user=alice
    )
    core.do_update_channel(
        world.tea_bluesky, owner=world.adam, backup=world.april, acting_user=alice
    )
    for channel in (world.coffee_x, world.tea_bluesky):
        core.do_grant_channel_permission(channel, world.april, "engage", acting_user=alice)
    core.do_create_team(
        world.acme,
        name="Night shift",
        lead=world.april,
        members=[world.april, world.paul],
        acting_user=alice,
    )
    coffee = conversations(world.coffee_x, world.april, 2)
    tea = conversations(world.tea_bluesky, world.april, 2)
    closed = conversations(world.tea_bluesky, world.april, 1, status=ConversationStatus.CLOSED)
    coffee_policy(world, world.april)
    post = pending_post(world)
    _token, plaintext = make_token(world, "april")
    actions.do_record_native_admin(
        world.coffee_x,
        user=world.april,
        network_role="Admin",
        knows_password=True,
        acting_user=alice,
    )
    actions.do_save_recovery(
        world.tea_bluesky,
        recovery_email="social@example.com",
        recovery_email_controller=world.adam,
        recovery_phone="",
        recovery_phone_controller=None,
        two_factor_method="app",
        two_factor_holder=world.april,
        acting_user=alice,
    )
    inbox.do_save_routing_rule(
        world.acme, name="VIPs to April", set_assignee=world.april, acting_user=alice
    )
    return {"coffee": coffee, "tea": tea, "closed": closed, "post": post, "token": plaintext}


def test_offboarding_from_the_persons_page_takes_everything_back(
    client: Client, world: World
) -> None:
    held = _april_holds_everything(world)
    april_browser = Client()
    assert april_browser.login(username="april", password=PASSWORD)
    assert april_browser.get("/").status_code == 200
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()

    client.force_login(world.alice)
    page = client.get(f"/team/people/{world.april.pk}/")
    assert page.status_code == 200 and "Offboard April" in page.content.decode()
    response = client.post(
        f"/team/people/{world.april.pk}/offboard/",
        {
            "successor": world.adam.pk,
            "conversations_to": world.agnes.pk,
            "reason": "Left",
            "confirm": "on",
        },
    )
    assert response.status_code == 302
    events = list(AuditEvent.objects.filter(pk__gt=before).order_by("pk"))
    offboarding = Offboarding.objects.get()
    assert response["Location"] == f"/governance/offboardings/{offboarding.pk}/"

    # Signed out, cannot sign in again, token refused.
    assert april_browser.get("/")["Location"].startswith("/login/")
    assert not Session.objects.filter(session_key=april_browser.session.session_key).exists()
    assert not Client().login(username="april", password=PASSWORD)
    assert User.objects.get(pk=world.april.pk).is_active is False
    assert bearer(held["token"]).get("/api/organization").status_code == 401
    assert not ApiToken.objects.filter(user=world.april, revoked_at__isnull=True).exists()

    # Conversations: Tea ones to agnes (she engages on Tea), Coffee ones back to the queue.
    for conversation in held["tea"]:
        assert Conversation.objects.get(pk=conversation.pk).assignee == world.agnes
    for conversation in held["coffee"]:
        assert Conversation.objects.get(pk=conversation.pk).assignee is None
    assert Conversation.objects.get(pk=held["closed"][0].pk).assignee == world.april

    # Approvals: adam approves in april's place, and can.
    step = ApprovalStep.objects.get(policy__name="Coffee review")
    assert list(step.approvers.all()) == [world.adam]
    post = publishing.do_approve(held["post"], acting_user=world.adam)
    assert post.state == PostState.APPROVED

    # Channels, grants, teams, membership.
    world.coffee_x.refresh_from_db()
    world.tea_bluesky.refresh_from_db()
    assert (world.coffee_x.owner, world.coffee_x.backup) == (world.adam, world.bianca)
    assert (world.tea_bluesky.owner, world.tea_bluesky.backup) == (world.adam, None)
    assert not ChannelGrant.objects.filter(user=world.april).exists()
    team = Team.objects.get(name="Night shift")
    assert list(team.members.all()) == [world.paul] and team.lead is None
    assert not Membership.objects.get(organization=world.acme, user=world.april).is_active

    # The checklist of native-network tasks.
    kinds = sorted(
        ChecklistItem.objects.filter(offboarding=offboarding).values_list("kind", "channel_id")
    )
    assert kinds == sorted(
        [
            (ChecklistKind.REMOVE_NATIVE_ADMIN, world.coffee_x.pk),
            (ChecklistKind.ROTATE_PASSWORD, world.coffee_x.pk),
            (ChecklistKind.MOVE_TWO_FACTOR, world.tea_bluesky.pk),
            (ChecklistKind.FIX_ROUTING_RULE, None),
        ]
    )

    # Everything audited, by alice, in a chain that still verifies.
    actions_seen = [e.action for e in events]
    assert actions_seen.count("inbox.assigned") == 4
    assert actions_seen.count("grant.removed") == 2
    assert actions_seen.count("channel.updated") == 2
    assert actions_seen.count("api_token.revoked") == 1
    assert actions_seen.count("post.approval_reassigned") == 1
    assert actions_seen.count("approval_step.approver_replaced") == 1
    for needed in (
        "member.deactivated",
        "team.members_set",
        "governance.offboarded",
        "governance.sessions_revoked",
        "governance.account_deactivated",
    ):
        assert needed in actions_seen
    assert {e.actor_id for e in events} == {world.alice.pk}
    assert audit.verify().ok

    steps = {s.kind: s.count for s in offboarding.steps.all()}
    assert steps[StepKind.SESSIONS] == 1 and steps[StepKind.GRANTS] == 2
    assert steps[StepKind.CONVERSATIONS] == 4 and steps[StepKind.APPROVALS] == 1

    # The report shows the steps and the open tasks; ticking one records who and when.
    report = client.get(f"/governance/offboardings/{offboarding.pk}/").content.decode()
    assert "Remove April from X delegated access" in report
    assert "Open conversations: 4." in report
    item = ChecklistItem.objects.get(
        offboarding=offboarding, kind=ChecklistKind.REMOVE_NATIVE_ADMIN
    )
    response = client.post(f"/governance/checklist/{item.pk}/done/", {"note": "Removed in X"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.done_by, item.note) == (world.alice, "Removed in X") and item.done_at is not None
    assert NativeAdmin.objects.get(channel=world.coffee_x).removed_at is not None
    assert (
        "Ticked off by Alice"
        in client.get(f"/governance/offboardings/{offboarding.pk}/").content.decode()
    )


def test_without_a_successor_backups_take_over(world: World) -> None:
    core.do_update_channel(
        world.coffee_x, owner=world.paul, backup=world.bianca, acting_user=world.alice
    )
    core.do_update_channel(world.tea_bluesky, owner=world.paul, acting_user=world.alice)
    mine = conversations(world.coffee_x, world.paul, 3)
    actions.do_offboard(
        world.acme, world.paul, successor=None, conversations_to=None, acting_user=world.alice
    )
    world.coffee_x.refresh_from_db()
    world.tea_bluesky.refresh_from_db()
    assert (world.coffee_x.owner, world.coffee_x.backup) == (world.bianca, None)
    assert (world.tea_bluesky.owner, world.tea_bluesky.backup) == (None, None)
    assert not Conversation.objects.filter(
        pk__in=[c.pk for c in mine], assignee__isnull=False
    ).exists()


def test_a_step_left_without_enough_approvers_goes_on_the_checklist(world: World) -> None:
    coffee_policy(world, world.april, world.adam, min_approvals=2)
    offboarding = actions.do_offboard(
        world.acme, world.april, successor=None, conversations_to=None, acting_user=world.alice
    )
    item = ChecklistItem.objects.get(offboarding=offboarding)
    assert item.kind == ChecklistKind.FIX_APPROVAL_STEP
    assert item.detail["possible"] == 1 and item.detail["needed"] == 2


def test_someone_in_another_organisation_keeps_their_account(world: World) -> None:
    core.do_add_member(world.globex, world.paul, "publisher", acting_user=world.gina)
    actions.do_offboard(
        world.acme, world.paul, successor=None, conversations_to=None, acting_user=world.alice
    )
    assert User.objects.get(pk=world.paul.pk).is_active
    assert Membership.objects.get(organization=world.globex, user=world.paul).is_active
    assert Client().login(username="paul", password=PASSWORD)


def test_the_last_owner_and_oneself_cannot_be_offboarded(world: World) -> None:
    import pytest

    with pytest.raises(core.ActionError, match="only owner"):
        actions.do_offboard(
            world.acme, world.alice, successor=None, conversations_to=None, acting_user=world.adam
        )
    with pytest.raises(actions.NotAllowed):
        actions.do_offboard(
            world.acme, world.adam, successor=None, conversations_to=None, acting_user=world.adam
        )
    with pytest.raises(actions.NotAllowed):
        actions.do_offboard(
            world.acme, world.paul, successor=None, conversations_to=None, acting_user=world.bianca
        )
    with pytest.raises(core.ActionError, match="not a member"):
        actions.do_offboard(
            world.acme,
            world.paul,
            successor=world.gina,
            conversations_to=None,
            acting_user=world.alice,
        )
    assert Membership.objects.get(organization=world.acme, user=world.paul).is_active
    assert not Offboarding.objects.exists()


def test_offboarding_through_the_api(world: World) -> None:
    _token, alice = make_token(world, "alice")
    conversations(world.coffee_x, world.carl, 2)
    response = bearer(alice).post(
        f"/api/people/{world.carl.pk}/offboard",
        {"successor_id": world.adam.pk, "conversations_to_id": world.adam.pk},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["person_name"] == "Carl" and body["source"] == "api"
    steps = {s["kind"]: s for s in body["steps"]}
    assert steps["conversations"]["count"] == 2
    assert "Given to Adam: 2." in steps["conversations"]["summary"]
    assert Conversation.objects.filter(assignee=world.adam).count() == 2
    again = bearer(alice).post(
        f"/api/people/{world.carl.pk}/offboard", {}, content_type="application/json"
    )
    assert again.status_code == 404
    listed = bearer(alice).get("/api/offboardings").json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == body["id"]


def test_a_backup_who_left_does_not_become_owner(world: World) -> None:
    core.do_update_channel(
        world.coffee_x, owner=world.paul, backup=world.carl, acting_user=world.alice
    )
    # carl left without an offboarding: he is still the recorded backup.
    core.do_deactivate_membership(
        Membership.objects.get(organization=world.acme, user=world.carl), acting_user=world.alice
    )
    actions.do_offboard(
        world.acme, world.paul, successor=None, conversations_to=None, acting_user=world.alice
    )
    world.coffee_x.refresh_from_db()
    assert (world.coffee_x.owner, world.coffee_x.backup) == (None, world.carl)
    # Both show up as gaps to fix.
    row = inventory.build(world.acme, Channel.objects.filter(pk=world.coffee_x.pk)).rows[0]
    assert {"no_owner", "backup_left"} <= {g.kind for g in row.gaps}
