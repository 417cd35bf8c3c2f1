"""Who may call what on /api/media, for every persona (the API permission matrix's rules).

An asset you cannot see is a 404 (another tenant's, another brand's); a change to one you can
see but not change is a 403, as is an upload or a rendition request your role cannot make.
Reads are open to everyone in the organisation who can see the asset; making renditions needs
a publishing role (draft, publish or approve); uploading and changing an asset need draft on its
brand (on the whole organisation for the shared library). Each request runs in a savepoint that
is rolled back; writes must leave their audit events, refusals none.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from django.test import Client

from greenroom.api.tests.conftest import ACME_PEOPLE, bearer, call, make_token
from greenroom.api.tests.test_permissions import Case, grid
from greenroom.conftest import World
from greenroom.core.models import AuditEvent
from greenroom.media import actions, render

from .conftest import plain_image, upload

EVERYONE = set(ACME_PEOPLE)
PUBLISHING = {"alice", "adam", "bianca", "paul", "carl", "april"}
DRAFT_SHARED = {"alice", "adam", "paul", "carl"}
DRAFT_COFFEE = {*DRAFT_SHARED, "bianca"}
UPLOADED = ["media.asset_uploaded"]
REQUESTED = ["media.rendition_requested"]

# fmt: off
CASES = [
    Case("media.list", "GET", "/media/assets", grid(200, EVERYONE, 0), gina=200),
    Case("media.get.shared", "GET", "/media/assets/{shared}", grid(200, EVERYONE, 0), gina=404),
    Case(
        "media.get.coffee", "GET", "/media/assets/{coffee_photo}",
        grid(200, EVERYONE, 0, agnes=404), gina=404,
    ),
    Case(
        "media.get.tea", "GET", "/media/assets/{tea_photo}",
        grid(200, EVERYONE, 0, bianca=404), gina=404,
    ),
    Case(
        "media.get.globex", "GET", "/media/assets/{globex_photo}", grid(404, EVERYONE, 0),
        gina=200,
    ),
    Case(
        "media.upload", "POST", "/media/assets", grid(201, DRAFT_COFFEE, 403),
        # Acme's brand is not Globex's.
        gina=400, body=lambda ctx: {"brand_id": ctx.coffee}, tags=("multipart",),
    ),
    Case(
        "media.update.shared", "PATCH", "/media/assets/{shared}",
        grid(200, DRAFT_SHARED, 403), gina=404,
        body=lambda ctx: {"focal_x": 0.2, "focal_y": 0.3}, audit="media.focal_point_set",
    ),
    Case(
        "media.update.coffee", "PATCH", "/media/assets/{coffee_photo}",
        grid(200, DRAFT_COFFEE, 403, agnes=404), gina=404,
        body=lambda ctx: {"alt_text": "Beans"}, audit="media.alt_text_set",
    ),
    Case(
        "media.original", "GET", "/media/assets/{shared}/original", grid(200, EVERYONE, 0),
        gina=404,
    ),
    Case(
        "media.renditions.list", "GET", "/media/assets/{shared}/renditions",
        grid(200, EVERYONE, 0), gina=404,
    ),
    Case(
        "media.renditions.request", "POST", "/media/assets/{shared}/renditions",
        grid(200, PUBLISHING, 403), gina=404,
        body=lambda ctx: {"network": "instagram", "placement": "stories"},
    ),
    Case(
        "media.renditions.request.tea", "POST", "/media/assets/{tea_photo}/renditions",
        grid(200, PUBLISHING, 403, bianca=404, agnes=403), gina=404,
        body=lambda ctx: {"network": "x"},
    ),
    Case(
        "media.rendition.get", "GET", "/media/renditions/{shared_rendition}",
        grid(200, EVERYONE, 0), gina=404,
    ),
    Case(
        "media.rendition.get.tea", "GET", "/media/renditions/{tea_rendition}",
        grid(200, EVERYONE, 0, bianca=404), gina=404,
    ),
    Case(
        "media.rendition.retry", "POST", "/media/renditions/{failed_rendition}/retry",
        grid(200, PUBLISHING, 403), gina=404, audit="media.rendition_retried",
    ),
    Case(
        "media.rendition.file", "GET", "/media/renditions/{shared_rendition}/file",
        grid(200, EVERYONE, 0), gina=404,
    ),
]
# fmt: on

# What a successful write leaves in the audit log, in order, beyond `Case.audit`.
AUDITS = {
    "media.upload": UPLOADED,
    "media.renditions.request": REQUESTED,
    "media.renditions.request.tea": REQUESTED,
    "media.rendition.retry": ["media.rendition_retried"],
}


@pytest.fixture
def ctx(world: World, tmp_path: Path) -> SimpleNamespace:
    shared = upload(world, plain_image(tmp_path / "shared.jpg", 800, 600))
    coffee_photo = upload(world, plain_image(tmp_path / "coffee.jpg", 640, 480), brand=world.coffee)
    tea_photo = upload(world, plain_image(tmp_path / "tea.jpg", 600, 600), brand=world.tea)
    globex_photo = actions.do_upload_asset(
        world.globex,
        file=plain_image(tmp_path / "globex.jpg", 500, 500),
        filename="globex.jpg",
        acting_user=world.gina,
    ).asset
    with mock.patch.object(render, "make", side_effect=render.RenderFailed("Disk full.")):
        failed = actions.rendition_for(shared, "x", "feed")
    tokens = {name: make_token(world, name) for name in [*ACME_PEOPLE, "gina"]}
    return SimpleNamespace(
        coffee=world.coffee.pk,
        shared=shared.pk,
        coffee_photo=coffee_photo.pk,
        tea_photo=tea_photo.pk,
        globex_photo=globex_photo.pk,
        shared_rendition=actions.rendition_for(shared, "instagram", "feed").pk,
        tea_rendition=actions.rendition_for(tea_photo, "bluesky", "feed").pk,
        failed_rendition=failed.pk,
        upload_path=plain_image(tmp_path / "new.png", 320, 240),
        clients={name: bearer(plaintext) for name, (_, plaintext) in tokens.items()},
    )


def _request(case: Case, ctx: Any, client: Client) -> Any:
    path = "/api" + case.route.format(**vars(ctx))
    body = case.body(ctx) if case.body else None
    if "multipart" in case.tags:
        with ctx.upload_path.open("rb") as handle:
            return client.post(path, {**(body or {}), "file": handle})
    return call(client, case.method, path, body)


def _run(case: Case, ctx: Any, world: World, person: str, client: Client) -> int:
    with transaction.atomic():
        last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        response = _request(case, ctx, client)
        status: int = response.status_code
        new = list(AuditEvent.objects.filter(pk__gt=last).order_by("pk"))
        if status >= 400:
            assert set(response.json()) == {"detail"}, response.content
        if status >= 400 or case.method == "GET":
            assert new == [], f"{person}: a refused or read request wrote {new}"
        elif case.audit or case.id in AUDITS:
            expected = AUDITS.get(case.id) or [str(case.audit)]
            assert [e.action for e in new] == expected, (person, new)
            assert new[0].actor == world.people[person]
        transaction.set_rollback(True)
    return status


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_media_permission_matrix(case: Case, ctx: Any, world: World) -> None:
    got = {person: _run(case, ctx, world, person, ctx.clients[person]) for person in ACME_PEOPLE}
    assert got == case.expect
    assert _run(case, ctx, world, "gina", ctx.clients["gina"]) == case.gina
    charlie = Client()
    charlie.force_login(world.charlie)
    assert _run(case, ctx, world, "charlie", charlie) == case.expect_charlie


def test_the_matrix_covers_every_media_operation() -> None:
    import re

    from greenroom.api.api import api

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    paths = api.get_openapi_schema()["paths"]
    media = {(m.upper(), shape(p)) for p, item in paths.items() for m in item if "/media/" in p}
    assert media <= {(c.method, shape("/api" + c.route)) for c in CASES}
