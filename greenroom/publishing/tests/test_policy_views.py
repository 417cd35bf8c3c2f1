"""The approval policies page: everyone in publishing reads it, owners and admins change it."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client

from greenroom.conftest import World
from greenroom.core.models import AuditEvent
from greenroom.publishing import actions
from greenroom.publishing.actions import StepInput
from greenroom.publishing.models import ApprovalPolicy


def _form(world: World, **extra: object) -> dict[str, object]:
    return {
        "name": "Coffee: brand and legal",
        "brand": world.coffee.pk,
        "step0-name": "Brand",
        "step0-approvers": [world.april.pk, world.bianca.pk],
        "step0-min_approvals": 2,
        "step0-respond_within_hours": "4",
        "step1-name": "Legal",
        "step1-approvers": [world.adam.pk],
        "step1-min_approvals": 1,
        "step2-min_approvals": 1,
        **extra,
    }


def test_an_admin_sets_a_two_step_policy_with_a_response_time(client: Client, world: World) -> None:
    client.force_login(world.adam)
    response = client.post("/publishing/approvals/", _form(world))
    assert response.status_code == 302

    policy = ApprovalPolicy.objects.get(organization=world.acme, is_active=True)
    steps = list(policy.steps.order_by("order"))
    assert [(s.name, s.min_approvals) for s in steps] == [("Brand", 2), ("Legal", 1)]
    assert steps[0].respond_within == timedelta(hours=4)
    assert steps[1].respond_within is None
    assert set(steps[0].approvers.values_list("username", flat=True)) == {"april", "bianca"}
    assert AuditEvent.objects.filter(action="approval_policy.created", actor=world.adam).exists()

    page = client.get("/publishing/approvals/").content.decode()
    assert "Coffee: brand and legal" in page and "within 4 hours" in page


def test_a_step_nobody_can_complete_is_refused_with_the_reason(
    client: Client, world: World
) -> None:
    client.force_login(world.alice)
    response = client.post("/publishing/approvals/", _form(world, **{"step1-min_approvals": 3}))
    assert response.status_code == 200
    assert "needs 3 approvals but has only 1 possible approvers" in response.content.decode()
    assert not ApprovalPolicy.objects.exists()


def test_brand_and_channel_together_are_refused(client: Client, world: World) -> None:
    client.force_login(world.alice)
    response = client.post("/publishing/approvals/", _form(world, channel=world.coffee_x.pk))
    assert "Choose a brand or a channel, not both." in response.content.decode()
    assert not ApprovalPolicy.objects.exists()


def test_publishers_read_the_policies_but_cannot_change_them(client: Client, world: World) -> None:
    actions.do_create_approval_policy(
        world.acme,
        name="Tea",
        brand=world.tea,
        steps=[StepInput(name="Brand", approvers=[world.april])],
        acting_user=world.alice,
    )
    policy = ApprovalPolicy.objects.get()
    client.force_login(world.paul)
    page = client.get("/publishing/approvals/")
    assert page.status_code == 200
    assert "Tea" in page.content.decode()
    assert "Owners and admins set approval policies." in page.content.decode()

    client.post("/publishing/approvals/", _form(world))
    client.post(f"/publishing/approvals/{policy.pk}/switch-off/")
    assert list(ApprovalPolicy.objects.filter(is_active=True)) == [policy]


def test_an_admin_switches_a_policy_off_and_another_tenant_gets_a_404(
    client: Client, world: World
) -> None:
    actions.do_create_approval_policy(
        world.acme,
        name="Tea",
        brand=world.tea,
        steps=[StepInput(name="Brand", approvers=[world.april])],
        acting_user=world.alice,
    )
    policy = ApprovalPolicy.objects.get()
    client.force_login(world.gina)
    assert client.post(f"/publishing/approvals/{policy.pk}/switch-off/").status_code == 404

    client.force_login(world.alice)
    client.post(f"/publishing/approvals/{policy.pk}/switch-off/")
    policy.refresh_from_db()
    assert not policy.is_active
    assert AuditEvent.objects.filter(action="approval_policy.deactivated").count() == 1


def test_agents_have_no_publishing_section(client: Client, world: World) -> None:
    client.force_login(world.agnes)
    assert client.get("/publishing/approvals/").status_code == 404
