"""Who may call what on the governance API, for every persona (the API permission matrix's rules).

The inventory and a channel's custody are for people who administer channels or audit them (a
403 for other roles); the gaps and offboarding reports for owners, admins and auditors;
offboarding for owners and admins. An object you cannot see is a 404 (another tenant's, another
brand's); a change to one you can see but not change is a 403. Each request runs in a savepoint
that is rolled back; writes leave their audit events by the caller, refusals none.
"""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from greenroom.api.tests.conftest import ACME_PEOPLE, bearer, call, make_token
from greenroom.api.tests.test_permissions import Case, grid
from greenroom.conftest import World, make_user
from greenroom.core import actions as core
from greenroom.core.models import AuditEvent
from greenroom.governance import actions

EVERYONE = set(ACME_PEOPLE)
GOVERNANCE = {"alice", "adam", "bianca", "otto"}
REPORTS = {"alice", "adam", "otto"}
ADMINS = {"alice", "adam"}
COFFEE_ADMINS = {"alice", "adam", "bianca"}
MEMBER_VIEWERS = {"alice", "adam", "bianca", "otto"}

# fmt: off
CASES = [
    Case("governance.inventory", "GET", "/governance/inventory", grid(200, GOVERNANCE, 403),
         gina=200),
    Case("governance.inventory.bad_gap", "GET", "/governance/inventory?gap=nope",
         grid(400, GOVERNANCE, 403), gina=400),
    Case("governance.gaps", "GET", "/governance/gaps", grid(200, REPORTS, 403), gina=200),
    Case("native_admins.list", "GET", "/channels/{coffee_x}/native-admins",
         grid(200, GOVERNANCE, 403), gina=404),
    Case("native_admins.list.tea", "GET", "/channels/{tea_bluesky}/native-admins",
         grid(200, GOVERNANCE, 403, bianca=404), gina=404),
    Case("native_admins.list.globex", "GET", "/channels/{globex_x}/native-admins",
         grid(404, GOVERNANCE, 403), gina=200),
    Case("native_admins.add", "POST", "/channels/{coffee_x}/native-admins",
         grid(201, COFFEE_ADMINS, 403), gina=404,
         body=lambda c: {"name": "Agency", "email": "kim@agency.test", "network_role": "Editor"},
         audit="governance.native_admin_recorded"),
    Case("native_admins.remove", "DELETE", "/channels/{coffee_x}/native-admins/{native_admin}",
         grid(204, COFFEE_ADMINS, 403), gina=404, audit="governance.native_admin_removed"),
    Case("native_admins.remove.globex", "DELETE",
         "/channels/{globex_x}/native-admins/{globex_native_admin}",
         grid(404, GOVERNANCE, 403), gina=204, audit="governance.native_admin_removed"),
    Case("recovery.get", "GET", "/channels/{coffee_x}/recovery", grid(200, GOVERNANCE, 403),
         gina=404),
    Case("recovery.put", "PUT", "/channels/{coffee_x}/recovery", grid(200, COFFEE_ADMINS, 403),
         gina=404,
         body=lambda c: {"recovery_email": "social@example.com", "two_factor_method": "app",
                         "two_factor_holder_id": c.adam},
         audit="governance.recovery_saved"),
    Case("people.offboard", "POST", "/people/{carl}/offboard",
         grid(201, ADMINS, 404, bianca=403, otto=403), gina=404,
         body=lambda c: {"successor_id": c.adam}, audit="governance.offboarded"),
    Case("people.offboard.globex", "POST", "/people/{gina}/offboard", grid(404, EVERYONE, 0),
         gina=403, body=lambda c: {}),
    Case("offboardings.list", "GET", "/offboardings", grid(200, REPORTS, 403), gina=200),
    Case("offboardings.get", "GET", "/offboardings/{offboarding}", grid(200, REPORTS, 404),
         gina=404),
    Case("offboardings.get.globex", "GET", "/offboardings/{globex_offboarding}",
         grid(404, EVERYONE, 0), gina=200),
    Case("checklist.done", "POST", "/offboardings/{offboarding}/checklist/{item}/done",
         grid(200, COFFEE_ADMINS, 403, agnes=404), gina=404, body=lambda c: {"note": "Changed"},
         audit="governance.checklist_done"),
    Case("checklist.done.globex", "POST",
         "/offboardings/{globex_offboarding}/checklist/{globex_item}/done",
         grid(404, EVERYONE, 0), gina=200, body=lambda c: {}, audit="governance.checklist_done"),
]
# fmt: on


@pytest.fixture
def ctx(world: World) -> SimpleNamespace:
    alice, gina = world.alice, world.gina
    olga = make_user("olga")
    core.do_add_member(world.acme, olga, "publisher", acting_user=alice)
    actions.do_record_native_admin(
        world.coffee_x, user=olga, knows_password=True, acting_user=alice
    )
    offboarding = actions.do_offboard(
        world.acme, olga, successor=None, conversations_to=None, acting_user=alice
    )
    greg = make_user("greg")
    core.do_add_member(world.globex, greg, "analyst", acting_user=gina)
    actions.do_record_native_admin(world.globex_x, user=greg, acting_user=gina)
    globex_offboarding = actions.do_offboard(
        world.globex, greg, successor=None, conversations_to=None, acting_user=gina
    )
    tokens = {name: make_token(world, name) for name in [*ACME_PEOPLE, "gina"]}
    return SimpleNamespace(
        **{name: person.pk for name, person in world.people.items()},
        coffee_x=world.coffee_x.pk,
        tea_bluesky=world.tea_bluesky.pk,
        globex_x=world.globex_x.pk,
        native_admin=actions.do_record_native_admin(
            world.coffee_x, name="Kim", acting_user=alice
        ).pk,
        globex_native_admin=actions.do_record_native_admin(
            world.globex_x, name="Lee", acting_user=gina
        ).pk,
        offboarding=offboarding.pk,
        item=offboarding.checklist.get(kind="rotate_password").pk,
        globex_offboarding=globex_offboarding.pk,
        globex_item=globex_offboarding.checklist.get().pk,
        clients={name: bearer(plaintext) for name, (_, plaintext) in tokens.items()},
    )


def _run(case: Case, ctx: Any, world: World, person: str, client: Client) -> int:
    with transaction.atomic():
        last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        body = case.body(ctx) if case.body else None
        response = call(client, case.method, "/api" + case.route.format(**vars(ctx)), body)
        status: int = response.status_code
        new = list(AuditEvent.objects.filter(pk__gt=last).order_by("pk"))
        if status >= 400:
            assert set(response.json()) == {"detail"}, response.content
        if status >= 400 or case.method == "GET":
            assert new == [], f"{person}: {case.id} ({status}) wrote {new}"
        else:
            actor = world.people[person]
            org = world.globex if person == "gina" else world.acme
            assert case.audit in [e.action for e in new], (person, new)
            assert {(e.actor_id, e.organization_id) for e in new} == {(actor.pk, org.pk)}, new
        transaction.set_rollback(True)
    return status


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_governance_permission_matrix(case: Case, ctx: Any, world: World) -> None:
    got = {person: _run(case, ctx, world, person, ctx.clients[person]) for person in ACME_PEOPLE}
    assert got == case.expect
    assert _run(case, ctx, world, "gina", ctx.clients["gina"]) == case.gina
    charlie = Client()
    charlie.force_login(world.charlie)
    assert _run(case, ctx, world, "charlie", charlie) == case.expect_charlie


def test_the_matrix_covers_every_governance_operation() -> None:
    from greenroom.api.api import api

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path.split("?")[0])

    paths = api.get_openapi_schema()["paths"]
    ours = {
        (m.upper(), shape(p))
        for p, item in paths.items()
        for m in item
        if re.search(r"/governance/|native-admins|/recovery|offboard", p)
    }
    assert len(ours) == 11
    assert ours <= {(c.method, shape("/api" + c.route)) for c in CASES}
