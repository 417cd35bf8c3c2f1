"""Who may call what on the publishing API, for every persona (the API permission matrix's rules).

Posts, variants, campaigns, publishing pauses and CSV imports. The policy (docs/architecture/
publishing.md, "Access"): a post is seen by whoever may view any of its channels, a variant by
whoever may view its channel; drafting, editing and submitting need draft on every channel of
the post; approving needs approve there and never by the author; scheduling, publishing now,
cancelling, retrying and withdrawing need publish on the channels, or being the post's author
with draft there; pausing and lifting need publish over the pause's whole scope. A create your
role cannot use at all is a 403; a channel or brand in the body you cannot see (another
tenant's, another brand's) is a 400 that says so. Each object comes three times: Coffee's,
Tea's (bianca manages Coffee only, agnes works Tea only) and Globex's.
"""

from __future__ import annotations

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
from greenroom.core.models import Channel, Organization, User
from greenroom.core.permissions import Role
from greenroom.publishing import actions
from greenroom.publishing.models import FirstCommentState, Post, Variant, VariantState

EVERYONE = set(ACME_PEOPLE)
ADMINS = {"alice", "adam"}
DRAFT_COFFEE = {"alice", "adam", "bianca", "paul", "carl"}
DRAFT_TEA = {"alice", "adam", "paul", "carl"}
PUBLISH_COFFEE = {"alice", "adam", "bianca", "paul"}
PUBLISH_TEA = {"alice", "adam", "paul"}
PUBLISH_EVERY_BRAND = {"alice", "adam", "paul"}
APPROVE_COFFEE = {"alice", "adam", "bianca", "april"}
APPROVE_TEA = {"alice", "adam", "april"}

APPROVAL = "post.approval_given"
CHANGES = "post.changes_requested"
PAUSED = "publishing.paused"
LIFTED = "publishing.pause_lifted"


def one_row(channel: int, **options: Any) -> dict[str, Any]:
    return {"csv": f"channel,text\n{channel},Cold brew is back\n", **options}


def new_post(channel: int) -> dict[str, Any]:
    return {"text": "Hello", "channels": [{"channel_id": channel}]}


# The matrix reads best as a table, so the formatter leaves it alone.
# fmt: off
CASES = [
    # --- Posts: reading ---------------------------------------------------------------------
    Case("posts.list", "GET", "/posts", grid(200, EVERYONE, 0), gina=200),
    Case("posts.get.coffee", "GET", "/posts/{coffee_post}", grid(200, EVERYONE, 0, agnes=404),
         gina=404),
    Case("posts.get.tea", "GET", "/posts/{tea_post}", grid(200, EVERYONE, 0, bianca=404),
         gina=404),
    # Part of it is on a channel each of them may view, so both see it.
    Case("posts.get.coffee_and_tea", "GET", "/posts/{mixed_post}", grid(200, EVERYONE, 0),
         gina=404),
    Case("posts.get.globex", "GET", "/posts/{globex_post}", grid(404, EVERYONE, 0), gina=200),
    # --- Posts: composing ---------------------------------------------------------------------
    # agnes may draft nowhere: a 403 before her unseen channel is even looked up.
    Case("posts.create.coffee", "POST", "/posts", grid(201, DRAFT_COFFEE, 403), gina=400,
         body=lambda ctx: new_post(ctx.coffee_x), audit="post.created"),
    Case("posts.create.tea", "POST", "/posts", grid(201, DRAFT_TEA, 403, bianca=400), gina=400,
         body=lambda ctx: new_post(ctx.tea_bluesky), audit="post.created"),
    Case("posts.create.globex", "POST", "/posts", grid(400, DRAFT_COFFEE, 403), gina=201,
         body=lambda ctx: new_post(ctx.globex_x), audit="post.created"),
    Case("posts.update.coffee", "PATCH", "/posts/{coffee_draft}",
         grid(200, DRAFT_COFFEE, 403, agnes=404), gina=404,
         body=lambda ctx: {"text": "Hello again"}, audit="post.edited"),
    Case("posts.update.tea", "PATCH", "/posts/{tea_draft}",
         grid(200, DRAFT_TEA, 403, bianca=404), gina=404,
         body=lambda ctx: {"text": "Hello again"}, audit="post.edited"),
    # Editing needs draft on every channel of the post: bianca sees it but may not.
    Case("posts.update.coffee_and_tea", "PATCH", "/posts/{mixed_draft}",
         grid(200, DRAFT_TEA, 403), gina=404,
         body=lambda ctx: {"text": "Hello again"}, audit="post.edited"),
    Case("posts.update.globex", "PATCH", "/posts/{globex_draft}", grid(404, EVERYONE, 0),
         gina=200, body=lambda ctx: {"text": "Hello again"}, audit="post.edited"),
    Case("variants.update.coffee", "PATCH", "/variants/{coffee_draft_variant}",
         grid(200, DRAFT_COFFEE, 403, agnes=404), gina=404,
         body=lambda ctx: {"text": "Only here"}, audit="post.edited"),
    Case("variants.update.tea", "PATCH", "/variants/{tea_draft_variant}",
         grid(200, DRAFT_TEA, 403, bianca=404), gina=404,
         body=lambda ctx: {"text": "Only here"}, audit="post.edited"),
    # Coffee's channel of a post that also goes to Tea: still an edit of the whole post.
    Case("variants.update.coffee_of_coffee_and_tea", "PATCH", "/variants/{mixed_draft_coffee}",
         grid(200, DRAFT_TEA, 403, agnes=404), gina=404,
         body=lambda ctx: {"text": "Only here"}, audit="post.edited"),
    Case("variants.update.globex", "PATCH", "/variants/{globex_draft_variant}",
         grid(404, EVERYONE, 0), gina=200,
         body=lambda ctx: {"text": "Only here"}, audit="post.edited"),
    # --- Approvals ----------------------------------------------------------------------------
    Case("posts.submit.coffee", "POST", "/posts/{coffee_draft}/submit",
         grid(200, DRAFT_COFFEE, 403, agnes=404), gina=404, audit="post.submitted"),
    Case("posts.submit.tea", "POST", "/posts/{tea_draft}/submit",
         grid(200, DRAFT_TEA, 403, bianca=404), gina=404, audit="post.submitted"),
    Case("posts.submit.globex", "POST", "/posts/{globex_draft}/submit", grid(404, EVERYONE, 0),
         gina=200, audit="post.submitted"),
    # carl wrote them: he may not approve his own post (nor has he the permission).
    Case("posts.approve.coffee", "POST", "/posts/{coffee_waiting}/approve",
         grid(200, APPROVE_COFFEE, 403, agnes=404), gina=404, body=lambda ctx: {},
         audit=APPROVAL),
    Case("posts.approve.tea", "POST", "/posts/{tea_waiting}/approve",
         grid(200, APPROVE_TEA, 403, bianca=404), gina=404, body=lambda ctx: {}, audit=APPROVAL),
    # The implicit step needs approve on every channel that waits for it: not bianca's alone.
    Case("posts.approve.coffee_and_tea", "POST", "/posts/{mixed_waiting}/approve",
         grid(200, APPROVE_TEA, 403), gina=404, body=lambda ctx: {}, audit=APPROVAL),
    # A policy's step names its approvers (alice and april): alice wrote the post, and adam's
    # and bianca's approve permission does not put them on the step.
    Case("posts.approve.named_step", "POST", "/posts/{named_waiting}/approve",
         grid(403, EVERYONE, 0, april=200, agnes=404), gina=404, body=lambda ctx: {},
         audit=APPROVAL),
    Case("posts.approve.globex", "POST", "/posts/{globex_waiting}/approve",
         grid(404, EVERYONE, 0), gina=200, body=lambda ctx: {}, audit=APPROVAL),
    Case("posts.request_changes.coffee", "POST", "/posts/{coffee_waiting}/request-changes",
         grid(200, APPROVE_COFFEE, 403, agnes=404), gina=404,
         body=lambda ctx: {"comment": "Shorter, please."}, audit=CHANGES),
    Case("posts.request_changes.tea", "POST", "/posts/{tea_waiting}/request-changes",
         grid(200, APPROVE_TEA, 403, bianca=404), gina=404,
         body=lambda ctx: {"comment": "Shorter, please."}, audit=CHANGES),
    Case("posts.request_changes.coffee_and_tea", "POST", "/posts/{mixed_waiting}/request-changes",
         grid(200, APPROVE_TEA, 403), gina=404,
         body=lambda ctx: {"comment": "Shorter, please."}, audit=CHANGES),
    Case("posts.request_changes.globex", "POST", "/posts/{globex_waiting}/request-changes",
         grid(404, EVERYONE, 0), gina=200,
         body=lambda ctx: {"comment": "Shorter, please."}, audit=CHANGES),
    # alice's scheduled posts: withdrawing someone else's post needs publish.
    Case("posts.withdraw.coffee", "POST", "/posts/{coffee_post}/withdraw",
         grid(200, PUBLISH_COFFEE, 403, agnes=404), gina=404, audit="post.withdrawn"),
    Case("posts.withdraw.tea", "POST", "/posts/{tea_post}/withdraw",
         grid(200, PUBLISH_TEA, 403, bianca=404), gina=404, audit="post.withdrawn"),
    # ...and the author may withdraw their own where they may draft (carl wrote this one).
    Case("posts.withdraw.by_author", "POST", "/posts/{coffee_approved}/withdraw",
         grid(200, DRAFT_COFFEE, 403, agnes=404), gina=404, audit="post.withdrawn"),
    Case("posts.withdraw.globex", "POST", "/posts/{globex_post}/withdraw", grid(404, EVERYONE, 0),
         gina=200, audit="post.withdrawn"),
    # --- Scheduling ---------------------------------------------------------------------------
    # carl's approved posts: publishers of the channel, and carl, their author.
    Case("posts.schedule.coffee", "POST", "/posts/{coffee_approved}/schedule",
         grid(200, DRAFT_COFFEE, 403, agnes=404), gina=404,
         body=lambda ctx: {"publish_at": ctx.tomorrow}, audit="variant.scheduled"),
    Case("posts.schedule.tea", "POST", "/posts/{tea_approved}/schedule",
         grid(200, DRAFT_TEA, 403, bianca=404), gina=404,
         body=lambda ctx: {"publish_at": ctx.tomorrow}, audit="variant.scheduled"),
    # alice's: carl drafts on Tea but is not the author, so he may not choose its time.
    Case("posts.reschedule.tea", "POST", "/posts/{tea_post}/schedule",
         grid(200, PUBLISH_TEA, 403, bianca=404), gina=404,
         body=lambda ctx: {"publish_at": ctx.tomorrow}, audit="variant.rescheduled"),
    Case("posts.schedule.globex", "POST", "/posts/{globex_post}/schedule",
         grid(404, EVERYONE, 0), gina=200,
         body=lambda ctx: {"publish_at": ctx.tomorrow}, audit="variant.rescheduled"),
    Case("posts.publish_now.coffee", "POST", "/posts/{coffee_approved}/publish-now",
         grid(200, DRAFT_COFFEE, 403, agnes=404), gina=404, body=lambda ctx: {},
         audit="variant.publish_now"),
    Case("posts.publish_now.tea", "POST", "/posts/{tea_post}/publish-now",
         grid(200, PUBLISH_TEA, 403, bianca=404), gina=404, body=lambda ctx: {},
         audit="variant.publish_now"),
    Case("posts.publish_now.globex", "POST", "/posts/{globex_post}/publish-now",
         grid(404, EVERYONE, 0), gina=200, body=lambda ctx: {}, audit="variant.publish_now"),
    Case("posts.cancel.coffee", "POST", "/posts/{coffee_post}/cancel",
         grid(200, PUBLISH_COFFEE, 403, agnes=404), gina=404, body=lambda ctx: {},
         audit="variant.cancelled"),
    Case("posts.cancel.tea", "POST", "/posts/{tea_post}/cancel",
         grid(200, PUBLISH_TEA, 403, bianca=404), gina=404, body=lambda ctx: {},
         audit="variant.cancelled"),
    # Both see it; neither may cancel the other brand's channel.
    Case("posts.cancel.coffee_and_tea", "POST", "/posts/{mixed_post}/cancel",
         grid(200, PUBLISH_TEA, 403), gina=404, body=lambda ctx: {}, audit="variant.cancelled"),
    Case("posts.cancel.globex", "POST", "/posts/{globex_post}/cancel", grid(404, EVERYONE, 0),
         gina=200, body=lambda ctx: {}, audit="variant.cancelled"),
    Case("variants.retry.coffee", "POST", "/variants/{coffee_failed}/retry",
         grid(200, PUBLISH_COFFEE, 403, agnes=404), gina=404, audit="variant.retried"),
    Case("variants.retry.tea", "POST", "/variants/{tea_failed}/retry",
         grid(200, PUBLISH_TEA, 403, bianca=404), gina=404, audit="variant.retried"),
    Case("variants.retry.globex", "POST", "/variants/{globex_failed}/retry",
         grid(404, EVERYONE, 0), gina=200, audit="variant.retried"),
    # A first comment is the channel's publishers' to retry, not its author's.
    Case("variants.retry_first_comment.coffee", "POST",
         "/variants/{coffee_comment_failed}/first-comment/retry",
         grid(200, PUBLISH_COFFEE, 403, agnes=404), gina=404,
         audit="variant.first_comment_retried"),
    Case("variants.retry_first_comment.tea", "POST",
         "/variants/{tea_comment_failed}/first-comment/retry",
         grid(200, PUBLISH_TEA, 403, bianca=404), gina=404,
         audit="variant.first_comment_retried"),
    Case("variants.retry_first_comment.globex", "POST",
         "/variants/{globex_comment_failed}/first-comment/retry",
         grid(404, EVERYONE, 0), gina=200, audit="variant.first_comment_retried"),
    # --- Campaigns ----------------------------------------------------------------------------
    Case("campaigns.list", "GET", "/campaigns", grid(200, EVERYONE, 0), gina=200),
    Case("campaigns.create", "POST", "/campaigns", grid(201, DRAFT_COFFEE, 403), gina=201,
         body=lambda ctx: {"name": "Winter", "colour": "#123456"}, audit="campaign.created"),
    # --- Approval policies --------------------------------------------------------------------
    Case("policies.list", "GET", "/approval-policies", grid(200, EVERYONE, 0), gina=200),
    # gina names Acme's brand: not one of Globex's.
    Case("policies.create", "POST", "/approval-policies", grid(201, ADMINS, 403), gina=400,
         body=lambda ctx: {"name": "Coffee", "brand_id": ctx.coffee,
                           "steps": [{"name": "Brand", "approver_ids": [ctx.april_id],
                                      "respond_within_hours": 4}]},
         audit="approval_policy.created"),
    Case("policies.deactivate", "POST", "/approval-policies/{acme_policy}/deactivate",
         grid(200, ADMINS, 403), gina=404, audit="approval_policy.deactivated"),
    Case("policies.deactivate.globex", "POST", "/approval-policies/{globex_policy}/deactivate",
         grid(404, EVERYONE, 0), gina=200, audit="approval_policy.deactivated"),
    # --- Publishing pauses --------------------------------------------------------------------
    Case("pauses.list", "GET", "/publishing-pauses", grid(200, EVERYONE, 0), gina=200),
    # The whole organisation: a role with publish over every brand (not bianca's one brand).
    Case("pauses.create.organization", "POST", "/publishing-pauses",
         grid(201, PUBLISH_EVERY_BRAND, 403), gina=201,
         body=lambda ctx: {"scope": "organization", "reason": "Crisis"}, audit=PAUSED),
    Case("pauses.create.coffee", "POST", "/publishing-pauses", grid(201, PUBLISH_COFFEE, 403),
         gina=400,
         body=lambda ctx: {"scope": "brand", "brand_id": ctx.coffee, "reason": "Recall"},
         audit=PAUSED),
    # agnes may publish nowhere: a 403 before her unseen channel is even looked up.
    Case("pauses.create.coffee_channel", "POST", "/publishing-pauses",
         grid(201, PUBLISH_COFFEE, 403), gina=400,
         body=lambda ctx: {"scope": "channel", "channel_id": ctx.coffee_x, "reason": "Audit"},
         audit=PAUSED),
    Case("pauses.create.tea_channel", "POST", "/publishing-pauses",
         grid(201, PUBLISH_TEA, 403, bianca=400), gina=400,
         body=lambda ctx: {"scope": "channel", "channel_id": ctx.tea_bluesky, "reason": "Audit"},
         audit=PAUSED),
    # Pauses are the organisation's: everyone in it sees them (the banner on every page).
    Case("pauses.lift.organization", "POST", "/publishing-pauses/{acme_pause}/lift",
         grid(200, PUBLISH_EVERY_BRAND, 403), gina=404, audit=LIFTED),
    Case("pauses.lift.coffee", "POST", "/publishing-pauses/{coffee_pause}/lift",
         grid(200, PUBLISH_COFFEE, 403), gina=404, audit=LIFTED),
    Case("pauses.lift.tea_channel", "POST", "/publishing-pauses/{tea_pause}/lift",
         grid(200, PUBLISH_TEA, 403), gina=404, audit=LIFTED),
    Case("pauses.lift.globex", "POST", "/publishing-pauses/{globex_pause}/lift",
         grid(404, EVERYONE, 0), gina=200, audit=LIFTED),
    # --- CSV import (the composer's bulk import) ------------------------------------------------
    # A dry run writes nothing; Globex's owner gets her report, with Acme's channel an error.
    Case("imports.dry_run", "POST", "/post-imports", grid(200, DRAFT_COFFEE, 403), gina=200,
         body=lambda ctx: one_row(ctx.coffee_x, dry_run=True)),
    Case("imports.coffee", "POST", "/post-imports", grid(201, DRAFT_COFFEE, 403), gina=400,
         body=lambda ctx: one_row(ctx.coffee_x, submit=False), audit="post.created"),
    Case("imports.tea", "POST", "/post-imports", grid(201, DRAFT_TEA, 403, bianca=400), gina=400,
         body=lambda ctx: one_row(ctx.tea_bluesky, submit=False), audit="post.created"),
    Case("imports.globex", "POST", "/post-imports", grid(400, DRAFT_COFFEE, 403), gina=201,
         body=lambda ctx: one_row(ctx.globex_x, submit=False), audit="post.created"),
    Case("imports.coffee.submitted", "POST", "/post-imports", grid(201, DRAFT_COFFEE, 403),
         gina=400, body=lambda ctx: one_row(ctx.coffee_x, submit=True), audit="post.created"),
]
# fmt: on

# What a successful write may record after `Case.audit` (by the same person).
ALSO = {
    # Approving the only step completes the approval.
    **{
        f"posts.approve.{o}": ["post.approved"]
        for o in ("coffee", "tea", "coffee_and_tea", "named_step", "globex")
    },
    # gina may publish on her channel, so her post needs no approver: approved at once.
    "posts.submit.globex": ["post.approved"],
    # Submitted on import: approved at once where the importer may publish.
    "imports.coffee.submitted": ["post.submitted", "post.approved"],
}


def _user(org: Organization, name: str, role: str, owner: User) -> User:
    person = make_user(name)
    core_actions.do_add_member(org, person, role, acting_user=owner)
    return person


def _post(
    author: User,
    channels: list[Channel],
    *,
    submit: bool = True,
    timed: bool = True,
) -> Post:
    """A post as people make it: drafted, then (unless `submit` is false) submitted."""
    post = actions.do_create_post(
        channels[0].organization,
        text=f"{author.username} writes",
        channels=channels,
        publish_at=timezone.now() + timedelta(hours=3) if timed else None,
        acting_user=author,
    )
    if submit:
        post = actions.do_submit_for_approval(post, acting_user=author)
    return post


def _variant(post: Post, channel: Channel | None = None) -> int:
    variants = Variant.objects.filter(post=post)
    return variants.get(channel=channel).pk if channel else variants.get().pk


def _failed(author: User, channel: Channel) -> int:
    """A channel the network refused: only the engine fails a variant, so set it here."""
    post = _post(author, [channel])
    Variant.objects.filter(post=post).update(
        state=VariantState.FAILED, last_error="Rejected", error_code="x"
    )
    return _variant(post)


def _comment_failed(author: User, channel: Channel) -> int:
    """A published channel whose first comment the network refused (set here: only the first
    comment task fails one)."""
    post = _post(author, [channel])
    Variant.objects.filter(post=post).update(
        state=VariantState.PUBLISHED,
        external_id="sp_0001",
        first_comment="#coffee",
        first_comment_state=FirstCommentState.FAILED,
        first_comment_error="Rejected",
        first_comment_error_code="x",
    )
    return _variant(post)


@pytest.fixture
def ctx(world: World) -> SimpleNamespace:
    alice, carl, april, gina = world.alice, world.carl, world.april, world.gina
    coffee_x, tea, globex_x = world.coffee_x, world.tea_bluesky, world.globex_x
    # Globex's contributor, whose posts wait for gina's approval.
    gus = _user(world.globex, "gus", Role.CONTRIBUTOR, gina)

    coffee_draft = _post(carl, [coffee_x], submit=False)
    tea_draft = _post(carl, [tea], submit=False)
    mixed_draft = _post(carl, [coffee_x, tea], submit=False)
    globex_draft = _post(gina, [globex_x], submit=False)
    coffee_approved = _post(carl, [coffee_x], timed=False)
    tea_approved = _post(carl, [tea], timed=False)
    for post in (coffee_approved, tea_approved):
        actions.do_approve(post, acting_user=april)
    # Posts to Coffee's Instagram wait for alice or april, by name.
    acme_policy = actions.do_create_approval_policy(
        world.acme,
        name="Instagram",
        channel=world.coffee_instagram,
        steps=[actions.StepInput(name="Brand", approvers=[alice, april])],
        acting_user=alice,
    )
    pause = actions.do_pause_publishing
    tokens = {name: make_token(world, name)[1] for name in [*ACME_PEOPLE, "gina"]}
    found = SimpleNamespace(
        coffee=world.coffee.pk,
        coffee_x=coffee_x.pk,
        tea_bluesky=tea.pk,
        globex_x=globex_x.pk,
        # Scheduled, by their organisation's owner.
        coffee_post=_post(alice, [coffee_x]).pk,
        tea_post=_post(alice, [tea]).pk,
        mixed_post=_post(alice, [coffee_x, tea]).pk,
        globex_post=_post(gina, [globex_x]).pk,
        coffee_draft=coffee_draft.pk,
        tea_draft=tea_draft.pk,
        mixed_draft=mixed_draft.pk,
        globex_draft=globex_draft.pk,
        coffee_draft_variant=_variant(coffee_draft),
        tea_draft_variant=_variant(tea_draft),
        mixed_draft_coffee=_variant(mixed_draft, coffee_x),
        globex_draft_variant=_variant(globex_draft),
        # Submitted by people who may not publish: waiting for an approver.
        coffee_waiting=_post(carl, [coffee_x]).pk,
        tea_waiting=_post(carl, [tea]).pk,
        mixed_waiting=_post(carl, [coffee_x, tea]).pk,
        named_waiting=_post(alice, [world.coffee_instagram]).pk,
        globex_waiting=_post(gus, [globex_x]).pk,
        coffee_approved=coffee_approved.pk,
        tea_approved=tea_approved.pk,
        coffee_failed=_failed(alice, coffee_x),
        tea_failed=_failed(alice, tea),
        globex_failed=_failed(gina, globex_x),
        coffee_comment_failed=_comment_failed(alice, coffee_x),
        tea_comment_failed=_comment_failed(alice, tea),
        globex_comment_failed=_comment_failed(gina, globex_x),
        acme_pause=pause(world.acme, scope="organization", reason="Crisis", acting_user=alice).pk,
        coffee_pause=pause(
            world.acme, scope="brand", brand=world.coffee, reason="Recall", acting_user=alice
        ).pk,
        tea_pause=pause(
            world.acme, scope="channel", channel=tea, reason="Audit", acting_user=alice
        ).pk,
        globex_pause=pause(
            world.globex, scope="organization", reason="Merger", acting_user=gina
        ).pk,
        tomorrow=(timezone.now() + timedelta(days=1)).isoformat(),
        acme_policy=acme_policy.pk,
        april_id=april.pk,
        clients={name: bearer(token) for name, token in tokens.items()},
    )
    # Made last: Globex's posts above were scheduled without an approval step.
    found.globex_policy = actions.do_create_approval_policy(
        world.globex,
        name="Globex X",
        channel=globex_x,
        steps=[actions.StepInput(name="Legal", approvers=[gina])],
        acting_user=gina,
    ).pk
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_publishing_permission_matrix(case: Case, ctx: Any, world: World) -> None:
    matrix.check(case, ctx, world, also=ALSO.get(case.id, ()))


def test_the_matrix_covers_every_publishing_operation() -> None:
    ours = (
        "/api/posts",
        "/api/variants",
        "/api/campaigns",
        "/api/publishing-pauses",
        "/api/approval-policies",
    )
    operations = matrix.operations(
        lambda path: (
            path == "/api/post-imports" or any(path == p or path.startswith(p + "/") for p in ours)
        )
    )
    assert operations, "no publishing operation found: did the paths move?"
    assert operations <= matrix.covered(CASES), sorted(operations - matrix.covered(CASES))


def _ids(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["items"]}


def test_lists_hold_exactly_what_each_person_may_open(ctx: Any, world: World) -> None:
    """A list is no back door: it holds the posts a GET of each one finds, and the pauses of
    the caller's organisation only."""
    posts = set(Post.objects.values_list("pk", flat=True))
    for person in [*ACME_PEOPLE, "gina"]:
        client = ctx.clients[person]
        openable = {
            pk for pk in posts if call(client, "GET", f"/api/posts/{pk}").status_code == 200
        }
        assert _ids(call(client, "GET", "/api/posts", {"limit": 200})) == openable, person
        org = world.globex if person == "gina" else world.acme
        pauses = set(org.publishing_pauses.values_list("pk", flat=True))
        listed = _ids(call(client, "GET", "/api/publishing-pauses", {"limit": 200}))
        assert listed == pauses, person
    # What the matrix's 404s mean for the lists: each brand's people miss the other brand's.
    assert ctx.tea_post not in _ids(call(ctx.clients["bianca"], "GET", "/api/posts"))
    assert ctx.coffee_post not in _ids(call(ctx.clients["agnes"], "GET", "/api/posts"))
    globex = set(Post.objects.filter(organization=world.globex).values_list("pk", flat=True))
    assert _ids(call(ctx.clients["gina"], "GET", "/api/posts", {"limit": 200})) == globex
