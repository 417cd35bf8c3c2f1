"""Who may call what: every endpoint, every persona of the `world` fixture.

Each case lists the status every person gets. Rules the table encodes: an object you cannot see
is a 404 whatever the reason (another tenant's, another brand's, or your role sees none of its
kind); a list or create your role cannot use is a 403; a change to an object you can see but not
change is a 403. Charlie belongs to no organisation (signed-in session) and gets a 403 everywhere;
gina is Globex's owner: Acme's objects are 404 for her, and Globex's are 404 for all of Acme.
Every request runs in a savepoint that is rolled back, so each person starts from the same world.
Writes must leave exactly one audit event of the expected action by the caller; refusals none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from greenroom.conftest import World
from greenroom.core import actions
from greenroom.core.models import AuditEvent, Membership

from .conftest import ACME_PEOPLE, bearer, call

ADMINS = {"alice", "adam"}
MEMBER_VIEWERS = {"alice", "adam", "bianca", "otto"}
AUDITORS = {"alice", "adam", "otto"}
COFFEE_ADMINS = {"alice", "adam", "bianca"}  # administer on Coffee channels
EVERYONE = set(ACME_PEOPLE)


def grid(ok: int, who: set[str], other: int, **special: int) -> dict[str, int]:
    """`ok` for `who`, `other` for the rest of Acme, then per-person exceptions."""
    table = {name: ok if name in who else other for name in ACME_PEOPLE}
    table.update(special)
    return table


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    route: str  # below /api; {names} are attributes of the test context
    expect: dict[str, int]
    gina: int  # Globex's owner calling with her Globex token
    body: Callable[[Any], Any] | None = None
    audit: str | None = None  # the action a successful write records
    expect_charlie: int = 403
    tags: tuple[str, ...] = field(default_factory=tuple)


A = actions.AuditAction
# The matrix reads best as a table, so the formatter leaves it alone.
# fmt: off
CASES = [
    Case("organization", "GET", "/organization", grid(200, EVERYONE, 0), gina=200),
    Case("brands.list", "GET", "/brands", grid(200, EVERYONE, 0), gina=200),
    Case("brands.get", "GET", "/brands/{coffee}", grid(200, EVERYONE, 0), gina=404),
    Case("brands.get.globex", "GET", "/brands/{globex_brand}", grid(404, EVERYONE, 0), gina=200),
    Case(
        "brands.create", "POST", "/brands", grid(201, ADMINS, 403), gina=201,
        body=lambda ctx: {"name": "Acme Juice"}, audit=A.BRAND_CREATED,
    ),
    Case("channels.list", "GET", "/channels", grid(200, EVERYONE, 0), gina=200),
    Case(
        "channels.get.coffee", "GET", "/channels/{coffee_x}",
        grid(200, EVERYONE, 0, agnes=404), gina=404,
    ),
    Case(
        "channels.get.tea", "GET", "/channels/{tea_bluesky}",
        grid(200, EVERYONE, 0, bianca=404), gina=404,
    ),
    Case(
        "channels.get.globex", "GET", "/channels/{globex_x}", grid(404, EVERYONE, 0), gina=200
    ),
    Case(
        "channels.create", "POST", "/channels", grid(201, ADMINS, 403),
        # Acme's brand is not Globex's: a 400 that says so, with nothing created.
        gina=400,
        body=lambda ctx: {
            "brand_id": ctx.coffee, "kind": "bluesky", "handle": "acmecoffee.bsky.social",
            "sandboxed": True,
        },
        audit=A.CHANNEL_CREATED,
    ),
    Case(
        "channels.update.coffee", "PATCH", "/channels/{coffee_x}",
        grid(200, COFFEE_ADMINS, 403, agnes=404), gina=404,
        body=lambda ctx: {"region": "KR"}, audit=A.CHANNEL_UPDATED,
    ),
    Case(
        "channels.update.tea", "PATCH", "/channels/{tea_bluesky}",
        grid(200, ADMINS, 403, bianca=404), gina=404,
        body=lambda ctx: {"region": "KR"}, audit=A.CHANNEL_UPDATED,
    ),
    Case(
        "channels.update.globex", "PATCH", "/channels/{globex_x}", grid(404, EVERYONE, 0),
        gina=200, body=lambda ctx: {"region": "KR"}, audit=A.CHANNEL_UPDATED,
    ),
    Case("people.list", "GET", "/people", grid(200, MEMBER_VIEWERS, 403), gina=200),
    Case("people.get", "GET", "/people/{paul}", grid(200, MEMBER_VIEWERS, 404), gina=404),
    Case("people.get.globex", "GET", "/people/{gina}", grid(404, EVERYONE, 0), gina=200),
    Case(
        "memberships.get", "GET", "/memberships/{paul_membership}",
        grid(200, MEMBER_VIEWERS, 404), gina=404,
    ),
    Case(
        "memberships.add", "POST", "/memberships", grid(201, ADMINS, 403), gina=201,
        body=lambda ctx: {"user": "charlie", "role": "analyst"}, audit=A.MEMBER_ADDED,
    ),
    Case(
        "memberships.change", "PATCH", "/memberships/{paul_membership}",
        grid(200, ADMINS, 404, bianca=403, otto=403), gina=404,
        body=lambda ctx: {"role": "approver"}, audit=A.MEMBER_ROLE_CHANGED,
    ),
    Case(
        "memberships.deactivate", "POST", "/memberships/{carl_membership}/deactivate",
        grid(200, ADMINS, 404, bianca=403, otto=403), gina=404, audit=A.MEMBER_DEACTIVATED,
    ),
    Case(
        "memberships.change.globex", "PATCH", "/memberships/{gina_membership}",
        grid(404, EVERYONE, 0),
        # Globex's last owner cannot demote herself.
        gina=400, body=lambda ctx: {"role": "approver"},
    ),
    Case(
        "grants.list", "GET", "/channels/{coffee_x}/grants",
        grid(200, COFFEE_ADMINS, 403, agnes=404), gina=404,
    ),
    Case(
        "grants.add", "POST", "/channels/{coffee_x}/grants",
        grid(201, COFFEE_ADMINS, 403, agnes=404), gina=404,
        body=lambda ctx: {"user_id": ctx.anna, "permission": "draft"}, audit=A.GRANT_ADDED,
    ),
    Case(
        "grants.remove", "DELETE", "/channels/{coffee_x}/grants/{coffee_grant}",
        grid(204, COFFEE_ADMINS, 403, agnes=404), gina=404, audit=A.GRANT_REMOVED,
    ),
    Case(
        "grants.list.tea", "GET", "/channels/{tea_bluesky}/grants",
        grid(200, ADMINS, 403, bianca=404), gina=404,
    ),
    Case(
        "grants.list.globex", "GET", "/channels/{globex_x}/grants", grid(404, EVERYONE, 0),
        gina=200,
    ),
    Case(
        "grants.remove.globex", "DELETE", "/channels/{globex_x}/grants/{globex_grant}",
        grid(404, EVERYONE, 0), gina=204, audit=A.GRANT_REMOVED,
    ),
    Case("teams.list", "GET", "/teams", grid(200, MEMBER_VIEWERS, 403), gina=200),
    Case("teams.get", "GET", "/teams/{acme_team}", grid(200, MEMBER_VIEWERS, 404), gina=404),
    Case("teams.get.globex", "GET", "/teams/{globex_team}", grid(404, EVERYONE, 0), gina=200),
    Case(
        "teams.create", "POST", "/teams", grid(201, ADMINS, 403),
        # paul is not a member of Globex.
        gina=400,
        body=lambda ctx: {"name": "Weekend", "member_ids": [ctx.paul]}, audit=A.TEAM_CREATED,
    ),
    Case(
        "teams.members", "PUT", "/teams/{acme_team}/members",
        grid(200, ADMINS, 404, bianca=403, otto=403), gina=404,
        body=lambda ctx: {"member_ids": [ctx.anna]}, audit=A.TEAM_MEMBERS_SET,
    ),
    Case("audit.list", "GET", "/audit-events", grid(200, AUDITORS, 403), gina=200),
    Case(
        "audit.get", "GET", "/audit-events/{acme_event}", grid(200, AUDITORS, 404), gina=404
    ),
    # An export is a read that is itself audited.
    Case(
        "audit.export", "GET", "/audit-events/export", grid(200, AUDITORS, 403), gina=200,
        audit=A.AUDIT_EXPORTED,
    ),
    Case(
        "audit.get.globex", "GET", "/audit-events/{globex_event}", grid(404, EVERYONE, 0),
        gina=200,
    ),
    Case("tokens.list", "GET", "/tokens", grid(200, EVERYONE, 0), gina=200),
    Case(
        "tokens.create", "POST", "/tokens", grid(201, EVERYONE, 0), gina=201,
        body=lambda ctx: {"name": "reporting", "scopes": ["read"]}, audit=A.TOKEN_CREATED,
    ),
    Case(
        "tokens.revoke.own", "POST", "/tokens/{own_token}/revoke",
        grid(200, EVERYONE, 0), gina=200, audit=A.TOKEN_REVOKED,
    ),
    Case(
        "tokens.get.alices", "GET", "/tokens/{alices_token}",
        grid(404, EVERYONE, 0, alice=200), gina=404,
    ),
    Case(
        "tokens.revoke.alices", "POST",
        "/tokens/{alices_token}/revoke",
        grid(404, EVERYONE, 0, alice=200), gina=404, audit=A.TOKEN_REVOKED,
    ),
]
# fmt: on


@pytest.fixture
def ctx(world: World, tokens: dict[str, Any]) -> SimpleNamespace:
    alice, gina = world.alice, world.gina
    globex_brand = world.globex_x.brand
    coffee_grant = actions.do_grant_channel_permission(
        world.coffee_x, world.paul, "engage", acting_user=alice
    )
    globex_grant = actions.do_grant_channel_permission(
        world.globex_x, gina, "engage", acting_user=gina
    )
    acme_team = actions.do_create_team(
        world.acme, name="Night shift", members=[world.paul], acting_user=alice
    )
    globex_team = actions.do_create_team(world.globex, name="Ops", members=[gina], acting_user=gina)
    events = AuditEvent.objects
    return SimpleNamespace(
        **{name: person.pk for name, person in world.people.items()},
        coffee=world.coffee.pk,
        tea=world.tea.pk,
        globex_brand=globex_brand.pk,
        coffee_x=world.coffee_x.pk,
        tea_bluesky=world.tea_bluesky.pk,
        globex_x=world.globex_x.pk,
        coffee_grant=coffee_grant.pk,
        globex_grant=globex_grant.pk,
        acme_team=acme_team.pk,
        globex_team=globex_team.pk,
        paul_membership=Membership.objects.get(organization=world.acme, user=world.paul).pk,
        carl_membership=Membership.objects.get(organization=world.acme, user=world.carl).pk,
        gina_membership=Membership.objects.get(organization=world.globex, user=gina).pk,
        acme_event=events.filter(organization=world.acme).latest("pk").pk,
        globex_event=events.filter(organization=world.globex).latest("pk").pk,
        token_ids={name: token.pk for name, (token, _) in tokens.items()},
        clients={name: bearer(plaintext) for name, (_, plaintext) in tokens.items()},
    )


def _run(case: Case, ctx: Any, world: World, person: str, client: Client) -> int:
    """Call the endpoint in a savepoint that is rolled back; check the audit trail it left."""
    with transaction.atomic():
        last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        body = case.body(ctx) if case.body else None
        values = {
            **vars(ctx),
            "own_token": ctx.token_ids.get(person),
            "alices_token": ctx.token_ids["alice"],
        }
        response = call(client, case.method, "/api" + case.route.format(**values), body)
        status: int = response.status_code
        new = list(AuditEvent.objects.filter(pk__gt=last))
        if status >= 400:
            assert set(response.json()) == {"detail"}, response.content
        if status >= 400 or (case.method == "GET" and not case.audit):
            assert new == [], f"{person}: a refused or read request wrote {new}"
        elif case.audit:
            actor = world.people[person]
            assert [(e.action, e.actor_id) for e in new] == [(case.audit, actor.pk)], new
            assert new[0].organization_id == (world.globex if person == "gina" else world.acme).pk
        transaction.set_rollback(True)
    return status


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_permission_matrix(case: Case, ctx: Any, world: World) -> None:
    got = {person: _run(case, ctx, world, person, ctx.clients[person]) for person in ACME_PEOPLE}
    assert got == case.expect
    assert _run(case, ctx, world, "gina", ctx.clients["gina"]) == case.gina

    charlie = Client()
    charlie.force_login(world.charlie)
    assert _run(case, ctx, world, "charlie", charlie) == case.expect_charlie


def app_cases() -> list[Case]:
    """Matrices apps keep beside their routers: CASES in <app>/tests/test_api_permissions.py."""
    import importlib
    import importlib.util
    import pkgutil

    import greenroom

    cases: list[Case] = []
    for app in pkgutil.iter_modules(greenroom.__path__):
        tests = f"greenroom.{app.name}.tests"
        name = f"{tests}.test_api_permissions"
        if (
            app.ispkg
            and importlib.util.find_spec(tests) is not None
            and importlib.util.find_spec(name) is not None
        ):
            cases += importlib.import_module(name).CASES
    return cases


def test_every_operation_is_in_the_matrix() -> None:
    from greenroom.api.api import api

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    paths = api.get_openapi_schema()["paths"]
    operations = {(method.upper(), shape(path)) for path, item in paths.items() for method in item}
    covered = {(case.method, shape("/api" + case.route)) for case in [*CASES, *app_cases()]}
    assert operations <= covered, sorted(operations - covered)
