"""Who may call POST /api/post-imports, for every persona (the API permission matrix's rules).

Importing needs the draft permission on some channel of the organisation (else a 403); each row
is then checked against the caller's rights like the page does. A refused import writes nothing;
an import writes one post.created event per post.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from greenroom.api.tests.conftest import ACME_PEOPLE
from greenroom.api.tests.conftest import tokens as tokens  # the fixture
from greenroom.api.tests.test_permissions import Case, _run, grid
from greenroom.api.tests.test_permissions import ctx as ctx  # the fixture
from greenroom.conftest import World

DRAFTERS = {"alice", "adam", "bianca", "paul", "carl"}


def one_row(ctx: Any, **options: Any) -> dict[str, Any]:
    return {"csv": f"channel,text\n{ctx.coffee_x},Cold brew is back\n", **options}


# fmt: off
CASES = [
    Case(
        "posts.import.dry_run", "POST", "/post-imports", grid(200, DRAFTERS, 403),
        # Globex's owner may import, into Globex: Acme's channel is an error in her report.
        gina=200, body=lambda ctx: one_row(ctx, dry_run=True),
    ),
    Case(
        "posts.import", "POST", "/post-imports", grid(201, DRAFTERS, 403), gina=400,
        body=lambda ctx: one_row(ctx, submit=False), audit="post.created",
    ),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_import_permission_matrix(case: Case, ctx: Any, world: World) -> None:
    got = {person: _run(case, ctx, world, person, ctx.clients[person]) for person in ACME_PEOPLE}
    assert got == case.expect
    assert _run(case, ctx, world, "gina", ctx.clients["gina"]) == case.gina
    charlie = Client()
    charlie.force_login(world.charlie)
    assert _run(case, ctx, world, "charlie", charlie) == case.expect_charlie
