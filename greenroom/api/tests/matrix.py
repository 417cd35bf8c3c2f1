"""Running one case of the API permission matrix (test_permissions.py) for every persona.

Apps whose writes leave more than one audit event (a submission that approves at once, a cancel
of two channels) use this instead of test_permissions._run, which expects exactly one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.test import Client

from greenroom.conftest import World
from greenroom.core.models import AuditEvent

from .conftest import ACME_PEOPLE, call
from .test_permissions import Case


def run(
    case: Case, ctx: Any, world: World, person: str, client: Client, also: Iterable[str] = ()
) -> int:
    """Call the endpoint in a savepoint that is rolled back and check the audit trail it left.

    A refusal or a read writes nothing; a write writes `case.audit` first, then only actions of
    `also` (or `case.audit` again), every one by the caller and in the caller's organisation. A
    write without `case.audit` (a dry run) writes nothing.
    """
    with transaction.atomic():
        last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        body = case.body(ctx) if case.body else None
        response = call(client, case.method, "/api" + case.route.format(**vars(ctx)), body)
        status: int = response.status_code
        new = list(AuditEvent.objects.filter(pk__gt=last).order_by("pk"))
        if status >= 400:
            assert set(response.json()) == {"detail"}, response.content
        if status >= 400 or case.method == "GET" or case.audit is None:
            assert new == [], f"{person}: {case.method} {case.route} ({status}) wrote {new}"
        else:
            actor = world.people[person]
            org = world.globex if person == "gina" else world.acme
            actions = [e.action for e in new]
            assert actions[:1] == [case.audit], (person, actions)
            assert set(actions[1:]) <= {case.audit, *also}, (person, actions)
            assert {(e.actor_id, e.organization_id) for e in new} == {(actor.pk, org.pk)}, new
        transaction.set_rollback(True)
    return status


def check(case: Case, ctx: Any, world: World, also: Iterable[str] = ()) -> None:
    """Every person of Acme, then gina with her Globex token, then charlie signed in."""
    also = tuple(also)
    got = {
        person: run(case, ctx, world, person, ctx.clients[person], also) for person in ACME_PEOPLE
    }
    wrong = {p: f"{got[p]}, not {case.expect[p]}" for p in ACME_PEOPLE if got[p] != case.expect[p]}
    assert not wrong, f"{case.id}: {wrong}"
    gina = run(case, ctx, world, "gina", ctx.clients["gina"], also)
    assert gina == case.gina, f"{case.id}: gina got {gina}, not {case.gina}"
    charlie = Client()
    charlie.force_login(world.charlie)
    status = run(case, ctx, world, "charlie", charlie, also)
    assert status == case.expect_charlie, f"{case.id}: charlie got {status}"


def shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def operations(belongs: Any) -> set[tuple[str, str]]:
    """(METHOD, /api/path with {} for parameters) of every operation whose path `belongs`."""
    from greenroom.api.api import api

    paths = api.get_openapi_schema()["paths"]
    return {(m.upper(), shape(p)) for p, item in paths.items() for m in item if belongs(p)}


def covered(cases: Iterable[Case]) -> set[tuple[str, str]]:
    return {(c.method, shape("/api" + c.route)) for c in cases}
