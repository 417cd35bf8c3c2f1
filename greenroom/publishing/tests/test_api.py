"""The publishing API: who may call what (the permission matrix, in the style of
greenroom/api/tests/test_permissions.py), and what the calls do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from greenroom.api.tests.conftest import ACME_PEOPLE, bearer, call, make_token
from greenroom.conftest import World
from greenroom.core.models import AuditEvent
from greenroom.publishing import actions
from greenroom.publishing.models import (
    FirstCommentState,
    Post,
    PostState,
    Variant,
    VariantState,
)

from .conftest import Pub, dispatch

EVERYONE = set(ACME_PEOPLE)
DRAFTERS = {"alice", "adam", "bianca", "paul", "carl"}
PUBLISHERS = {"alice", "adam", "bianca", "paul"}
COFFEE_APPROVERS = {"alice", "adam", "bianca", "april"}


def grid(ok: int, who: set[str], other: int, **special: int) -> dict[str, int]:
    table = {name: ok if name in who else other for name in ACME_PEOPLE}
    table.update(special)
    return table


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    route: str
    expect: dict[str, int]
    gina: int
    body: Callable[[Any], Any] | None = None
    audit: str | None = None
    expect_charlie: int = 403


# fmt: off
CASES = [
    Case("posts.list", "GET", "/posts", grid(200, EVERYONE, 0), gina=200),
    Case("posts.get.coffee", "GET", "/posts/{coffee_post}", grid(200, EVERYONE, 0, agnes=404),
         gina=404),
    Case("posts.get.tea", "GET", "/posts/{tea_post}", grid(200, EVERYONE, 0, bianca=404),
         gina=404),
    Case("posts.get.globex", "GET", "/posts/{globex_post}", grid(404, EVERYONE, 0), gina=200),
    Case("posts.create", "POST", "/posts", grid(201, DRAFTERS, 403), gina=400,
         body=lambda ctx: {"text": "Hello", "channels": [{"channel_id": ctx.coffee_x}]},
         audit="post.created"),
    Case("posts.update", "PATCH", "/posts/{draft_post}", grid(200, DRAFTERS, 403, agnes=404),
         gina=404, body=lambda ctx: {"text": "Hello again"}, audit="post.edited"),
    Case("variants.update", "PATCH", "/variants/{draft_variant}",
         grid(200, DRAFTERS, 403, agnes=404), gina=404,
         body=lambda ctx: {"text": "Only on X"}, audit="post.edited"),
    Case("posts.submit", "POST", "/posts/{draft_post}/submit",
         grid(200, DRAFTERS, 403, agnes=404), gina=404, audit="post.submitted"),
    Case("posts.approve", "POST", "/posts/{waiting_post}/approve",
         grid(200, COFFEE_APPROVERS, 403, agnes=404), gina=404, body=lambda ctx: {},
         audit="post.approval_given"),
    Case("posts.request_changes", "POST", "/posts/{waiting_post}/request-changes",
         grid(200, COFFEE_APPROVERS, 403, agnes=404), gina=404,
         body=lambda ctx: {"comment": "Shorter, please."}, audit="post.changes_requested"),
    Case("posts.schedule", "POST", "/posts/{approved_post}/schedule",
         grid(200, DRAFTERS, 403, agnes=404), gina=404,
         body=lambda ctx: {"publish_at": ctx.tomorrow}, audit="variant.rescheduled"),
    Case("posts.publish_now", "POST", "/posts/{approved_post}/publish-now",
         grid(200, DRAFTERS, 403, agnes=404), gina=404, body=lambda ctx: {},
         audit="variant.publish_now"),
    Case("posts.cancel", "POST", "/posts/{coffee_post}/cancel",
         grid(200, PUBLISHERS, 403, agnes=404), gina=404, body=lambda ctx: {},
         audit="variant.cancelled"),
    Case("posts.withdraw", "POST", "/posts/{coffee_post}/withdraw",
         grid(200, PUBLISHERS, 403, agnes=404), gina=404, audit="post.withdrawn"),
    Case("variants.retry", "POST", "/variants/{failed_variant}/retry",
         grid(200, PUBLISHERS, 403, agnes=404), gina=404, audit="variant.retried"),
    Case("variants.retry_first_comment", "POST", "/variants/{comment_failed}/first-comment/retry",
         grid(200, PUBLISHERS, 403, agnes=404), gina=404, audit="variant.first_comment_retried"),
    Case("campaigns.list", "GET", "/campaigns", grid(200, EVERYONE, 0), gina=200),
    Case("campaigns.create", "POST", "/campaigns", grid(201, DRAFTERS, 403), gina=201,
         body=lambda ctx: {"name": "Winter", "colour": "#123456"}, audit="campaign.created"),
    Case("pauses.list", "GET", "/publishing-pauses", grid(200, EVERYONE, 0), gina=200),
    Case("pauses.create", "POST", "/publishing-pauses", grid(201, PUBLISHERS, 403), gina=400,
         body=lambda ctx: {"scope": "brand", "brand_id": ctx.coffee, "reason": "Recall"},
         audit="publishing.paused"),
    Case("pauses.lift", "POST", "/publishing-pauses/{acme_pause}/lift",
         grid(200, {"alice", "adam", "paul"}, 403), gina=404, audit="publishing.pause_lifted"),
]
# fmt: on


def _post(world: World, author: str, channel: Any, *, submit: bool = True) -> Post:
    person = world.people[author]
    post = actions.do_create_post(
        world.acme if channel.organization_id == world.acme.pk else world.globex,
        text=f"{author} writes",
        channels=[channel],
        publish_at=timezone.now() + timedelta(hours=3),
        acting_user=person,
    )
    if submit:
        post = actions.do_submit_for_approval(post, acting_user=person)
    return post


@pytest.fixture
def ctx(world: World) -> SimpleNamespace:
    coffee_post = _post(world, "alice", world.coffee_x)  # scheduled
    tea_post = _post(world, "alice", world.tea_bluesky)
    globex_post = _post(world, "gina", world.globex_x)
    draft_post = _post(world, "carl", world.coffee_x, submit=False)
    waiting_post = _post(world, "carl", world.coffee_instagram)
    approved_post = _post(world, "carl", world.coffee_x)
    actions.do_approve(approved_post, acting_user=world.april)
    failed_post = _post(world, "alice", world.coffee_instagram)
    Variant.objects.filter(post=failed_post).update(
        state=VariantState.FAILED, last_error="Rejected", error_code="x"
    )
    comment_post = _post(world, "alice", world.coffee_instagram)
    Variant.objects.filter(post=comment_post).update(
        state=VariantState.PUBLISHED,
        external_id="17920238422030506",
        first_comment="#coffee",
        first_comment_state=FirstCommentState.FAILED,
        first_comment_error="Rejected",
    )
    pause = actions.do_pause_publishing(
        world.acme, scope="organization", reason="Crisis", acting_user=world.alice
    )
    tokens = {name: make_token(world, name)[1] for name in [*ACME_PEOPLE, "gina"]}
    return SimpleNamespace(
        coffee=world.coffee.pk,
        coffee_x=world.coffee_x.pk,
        coffee_post=coffee_post.pk,
        tea_post=tea_post.pk,
        globex_post=globex_post.pk,
        draft_post=draft_post.pk,
        draft_variant=Variant.objects.get(post=draft_post).pk,
        waiting_post=waiting_post.pk,
        approved_post=approved_post.pk,
        failed_variant=Variant.objects.get(post=failed_post).pk,
        comment_failed=Variant.objects.get(post=comment_post).pk,
        acme_pause=pause.pk,
        tomorrow=(timezone.now() + timedelta(days=1)).isoformat(),
        clients={name: bearer(token) for name, token in tokens.items()},
    )


def _run(case: Case, ctx: Any, world: World, person: str, client: Client) -> int:
    with transaction.atomic():
        last = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        body = case.body(ctx) if case.body else None
        response = call(client, case.method, "/api" + case.route.format(**vars(ctx)), body)
        status: int = response.status_code
        new = list(AuditEvent.objects.filter(pk__gt=last))
        if status >= 400:
            assert set(response.json()) == {"detail"}, response.content
        if status >= 400 or case.method == "GET":
            assert new == [], f"{person}: a refused or read request wrote {new}"
        elif case.audit:
            actor = world.people[person]
            assert (case.audit, actor.pk) in [(e.action, e.actor_id) for e in new], new
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


def test_every_publishing_operation_is_in_the_matrix() -> None:
    import re

    from greenroom.api.api import api

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]+\}", "{}", path)

    ours = {"/api/posts", "/api/variants", "/api/campaigns", "/api/publishing-pauses"}
    paths = api.get_openapi_schema()["paths"]
    operations = {
        (method.upper(), shape(path))
        for path, item in paths.items()
        for method in item
        if any(path == p or path.startswith(p + "/") for p in ours)
    }
    covered = {(case.method, shape("/api" + case.route)) for case in CASES}
    assert operations == covered


def test_compose_submit_approve_and_publish_through_the_api(
    world: World, pub: Pub, settings: Any
) -> None:
    carl = bearer(make_token(world, "carl")[1])
    april = bearer(make_token(world, "april")[1])
    response = call(
        carl,
        "POST",
        "/api/posts",
        {
            "text": "Matcha latte week.",
            "link": "https://acme.example/matcha",
            "channels": [
                {"channel_id": world.coffee_x.pk, "utm": {"utm_source": "x"}},
                {"channel_id": world.tea_bluesky.pk, "text": "Matcha week 🍵"},
            ],
            "publish_at": (timezone.now() + timedelta(hours=1)).isoformat(),
        },
    )
    assert response.status_code == 201, response.content
    post = response.json()
    assert post["state"] == "draft" and len(post["variants"]) == 2
    assert [v["text_overridden"] for v in post["variants"]] == [False, True]

    post = call(carl, "POST", f"/api/posts/{post['id']}/submit").json()
    assert post["state"] == "in_approval"
    assert call(carl, "POST", f"/api/posts/{post['id']}/approve", {}).status_code == 403
    post = call(april, "POST", f"/api/posts/{post['id']}/approve", {"comment": "Go"}).json()
    assert post["state"] == "scheduled"

    pub.due(Post.objects.get(pk=post["id"]))
    dispatch()
    post = call(carl, "GET", f"/api/posts/{post['id']}").json()
    assert post["state"] == "published"
    assert all(v["external_url"].startswith("http") for v in post["variants"])


def test_the_calendar_window_lists_posts_due_in_it(world: World) -> None:
    soon = actions.do_create_post(
        world.acme,
        text="Soon",
        channels=[world.coffee_x],
        publish_at=timezone.now() + timedelta(hours=2),
        acting_user=world.alice,
    )
    actions.do_create_post(
        world.acme,
        text="Next week",
        channels=[world.coffee_x],
        publish_at=timezone.now() + timedelta(days=7),
        acting_user=world.alice,
    )
    alice = bearer(make_token(world, "alice")[1])
    window = call(
        alice,
        "GET",
        "/api/posts",
        {
            "from": timezone.now().isoformat(),
            "to": (timezone.now() + timedelta(days=1)).isoformat(),
        },
    ).json()
    assert [p["id"] for p in window["items"]] == [soon.pk] and window["total"] == 1


def test_text_that_does_not_fit_is_a_400_in_plain_words(world: World) -> None:
    alice = bearer(make_token(world, "alice")[1])
    response = call(
        alice,
        "POST",
        "/api/posts",
        {"text": "가" * 200, "channels": [{"channel_id": world.coffee_x.pk}]},
    )
    assert response.status_code == 400
    assert "Korean characters count 2" in response.json()["detail"]


def test_a_held_post_says_which_pause_holds_it(world: World, pub: Pub) -> None:
    post = pub.post([world.coffee_x])
    actions.do_pause_publishing(
        world.acme, scope="channel", channel=world.coffee_x, reason="Audit", acting_user=world.paul
    )
    alice = bearer(make_token(world, "alice")[1])
    [variant] = call(alice, "GET", f"/api/posts/{post.pk}").json()["variants"]
    assert variant["held_by"]["reason"] == "Audit"
    assert variant["held_by"]["paused_by"] == "Paul"
    assert Post.objects.get(pk=post.pk).state == PostState.SCHEDULED


def test_a_policy_naming_another_organisations_team_or_person_is_refused(world: World) -> None:
    from greenroom.core import actions as core_actions
    from greenroom.publishing.models import ApprovalPolicy

    globex_team = core_actions.do_create_team(
        world.globex, name="Ops", members=[world.gina], acting_user=world.gina
    )
    client = bearer(make_token(world, "alice")[1])
    for step in (
        {"name": "Brand", "team_id": globex_team.pk},
        {"name": "Brand", "approver_ids": [world.gina.pk]},
    ):
        body = {"name": "Coffee", "brand_id": world.coffee.pk, "steps": [step]}
        response = call(client, "POST", "/api/approval-policies", body)
        assert response.status_code == 400, response.content
        assert "of Acme" in response.json()["detail"]
    assert not ApprovalPolicy.objects.filter(organization=world.acme).exists()
