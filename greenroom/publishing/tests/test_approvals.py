"""Approvals: who must approve, in which order, and what happens when approval comes too late."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from greenroom.conftest import World
from greenroom.core import actions as core_actions
from greenroom.core.models import AuditEvent
from greenroom.publishing import actions, sentences
from greenroom.publishing.actions import ActionError, StepInput
from greenroom.publishing.models import (
    ApprovalDecision,
    Decision,
    Notification,
    Post,
    PostState,
    Variant,
    VariantState,
)

from .conftest import fresh


def draft(world: World, author: str = "carl", **kw: object) -> Post:
    return actions.do_create_post(
        world.acme,
        text="New single origin beans from Jeju.",
        channels=kw.pop("channels", [world.coffee_x]),  # type: ignore[arg-type]
        publish_at=kw.pop("at", timezone.now() + timedelta(hours=2)),  # type: ignore[arg-type]
        acting_user=world.people[author],
    )


def states(post: Post) -> set[str]:
    return set(Variant.objects.filter(post=post).values_list("state", flat=True))


def test_an_author_who_may_publish_needs_no_approver_without_a_policy(world: World) -> None:
    post = actions.do_submit_for_approval(draft(world, "paul"), acting_user=world.paul)
    assert post.state == PostState.SCHEDULED
    assert states(post) == {VariantState.SCHEDULED}
    assert AuditEvent.objects.filter(action="post.approved", target_id=str(post.pk)).exists()


def test_a_contributor_needs_an_approver_and_gets_one(world: World) -> None:
    post = actions.do_submit_for_approval(draft(world), acting_user=world.carl)
    assert post.state == PostState.IN_APPROVAL

    post = actions.do_approve(post, comment="Lovely.", acting_user=world.april)

    assert post.state == PostState.SCHEDULED
    decision = ApprovalDecision.objects.get(post=post)
    assert (decision.approver, decision.decision, decision.comment) == (
        world.april,
        Decision.APPROVE,
        "Lovely.",
    )
    assert AuditEvent.objects.filter(action="post.approval_given", actor=world.april).exists()


def test_the_author_never_approves_their_own_post(world: World) -> None:
    # alice may approve anything, but not what she wrote; a policy makes her post need approval.
    actions.do_create_approval_policy(
        world.acme,
        name="Coffee",
        brand=world.coffee,
        steps=[StepInput(name="Brand", approvers=[world.alice, world.april])],
        acting_user=world.alice,
    )
    post = actions.do_submit_for_approval(draft(world, "alice"), acting_user=world.alice)
    assert post.state == PostState.IN_APPROVAL

    with pytest.raises(ActionError, match="someone else must approve"):
        actions.do_approve(post, acting_user=world.alice)

    assert fresh(post).state == PostState.IN_APPROVAL
    assert not ApprovalDecision.objects.filter(post=post).exists()


def test_someone_without_the_approve_permission_cannot_approve(world: World) -> None:
    post = actions.do_submit_for_approval(draft(world), acting_user=world.carl)
    with pytest.raises(ActionError, match="other approvers"):
        actions.do_approve(post, acting_user=world.paul)
    assert fresh(post).state == PostState.IN_APPROVAL


def test_steps_pass_in_order_each_with_its_minimum(world: World) -> None:
    brand_team = core_actions.do_create_team(
        world.acme, name="Brand", members=[world.april, world.bianca], acting_user=world.alice
    )
    actions.do_create_approval_policy(
        world.acme,
        name="Coffee",
        brand=world.coffee,
        steps=[
            StepInput(name="Brand", team=brand_team, min_approvals=2),
            StepInput(name="Legal", approvers=[world.adam]),
        ],
        acting_user=world.alice,
    )
    post = actions.do_submit_for_approval(draft(world), acting_user=world.carl)
    # april and bianca were told; adam's turn comes later.
    told = set(Notification.objects.filter(post=post).values_list("recipient__username", flat=True))
    assert told == {"april", "bianca"}

    with pytest.raises(ActionError, match="first needs the “Brand” step"):
        actions.do_approve(post, acting_user=world.adam)

    actions.do_approve(post, acting_user=world.april)
    with pytest.raises(ActionError, match="already approved"):
        actions.do_approve(post, acting_user=world.april)
    assert fresh(post).state == PostState.IN_APPROVAL

    actions.do_approve(post, acting_user=world.bianca)
    assert fresh(post).state == PostState.IN_APPROVAL  # Legal still to come
    assert Notification.objects.filter(post=post, recipient=world.adam).exists()

    actions.do_approve(post, acting_user=world.adam)
    assert fresh(post).state == PostState.SCHEDULED


def test_an_approver_of_a_finished_step_is_told_it_is_done_not_that_it_comes_later(
    world: World,
) -> None:
    actions.do_create_approval_policy(
        world.acme,
        name="Coffee",
        brand=world.coffee,
        steps=[
            StepInput(name="Brand", approvers=[world.april, world.bianca]),
            StepInput(name="Legal", approvers=[world.adam]),
        ],
        acting_user=world.alice,
    )
    post = actions.do_submit_for_approval(draft(world), acting_user=world.carl)
    actions.do_approve(post, acting_user=world.april)

    with pytest.raises(ActionError) as refused:
        actions.do_approve(post, acting_user=world.bianca)
    assert str(refused.value) == (
        "Your step (“Brand”) is approved already; the post now waits for the “Legal” step."
    )
    assert fresh(post).state == PostState.IN_APPROVAL


def test_a_channels_own_policy_wins_over_its_brands(world: World) -> None:
    actions.do_create_approval_policy(
        world.acme,
        name="Coffee",
        brand=world.coffee,
        steps=[StepInput(name="Brand", approvers=[world.bianca])],
        acting_user=world.alice,
    )
    actions.do_create_approval_policy(
        world.acme,
        name="Coffee on X",
        channel=world.coffee_x,
        steps=[StepInput(name="X desk", approvers=[world.adam])],
        acting_user=world.alice,
    )
    post = actions.do_submit_for_approval(draft(world), acting_user=world.carl)
    with pytest.raises(ActionError):
        actions.do_approve(post, acting_user=world.bianca)
    actions.do_approve(post, acting_user=world.adam)
    assert fresh(post).state == PostState.SCHEDULED


def test_requesting_changes_returns_a_draft_with_the_comment_kept(world: World) -> None:
    post = actions.do_submit_for_approval(draft(world), acting_user=world.carl)

    with pytest.raises(ActionError, match="Say what should change"):
        actions.do_request_changes(post, comment="  ", acting_user=world.april)
    post = actions.do_request_changes(
        post, comment="Name the farm, please.", acting_user=world.april
    )

    assert post.state == PostState.CHANGES_REQUESTED
    assert states(post) == {VariantState.DRAFT}
    note = Notification.objects.get(recipient=world.carl, kind="changes_requested")
    assert "Name the farm, please." in note.message

    # The author edits and submits again: a new round, the old comment still on record.
    actions.do_edit_post(post, text="New beans from the Oh farm on Jeju.", acting_user=world.carl)
    post = actions.do_submit_for_approval(post, acting_user=world.carl)
    assert post.state == PostState.IN_APPROVAL and post.approval_round == 2
    actions.do_approve(post, acting_user=world.april)
    assert fresh(post).state == PostState.SCHEDULED
    assert list(
        ApprovalDecision.objects.filter(post=post).values_list("decision", "comment", "round")
    ) == [
        (Decision.REQUEST_CHANGES, "Name the farm, please.", 1),
        (Decision.APPROVE, "", 2),
    ]


def test_approval_after_the_time_asks_for_a_new_time_and_tells_the_author(world: World) -> None:
    post = actions.do_submit_for_approval(draft(world), acting_user=world.carl)
    past = timezone.now() - timedelta(minutes=5)
    Variant.objects.filter(post=post).update(publish_at=past, next_attempt_at=past)

    post = actions.do_approve(post, acting_user=world.april)

    assert post.state == PostState.NEEDS_NEW_TIME
    variant = Variant.objects.get(post=post)
    assert variant.state == VariantState.NEEDS_NEW_TIME
    assert "Choose a new time" in variant.last_error
    note = Notification.objects.get(recipient=world.carl, kind="needs_new_time")
    assert "Choose a new time" in note.message
    assert AuditEvent.objects.filter(
        action="variant.needs_new_time", target_id=str(variant.pk)
    ).exists()

    # The author picks a new time: it is scheduled again.
    later = timezone.now() + timedelta(hours=1)
    post = actions.do_schedule(post, publish_at=later, acting_user=world.carl)
    assert post.state == PostState.SCHEDULED
    assert fresh(variant).publish_at == later


def test_a_late_approval_is_kept_in_english_and_read_in_each_readers_language(
    world: World,
) -> None:
    post = actions.do_submit_for_approval(draft(world), acting_user=world.carl)
    past = timezone.now() - timedelta(minutes=5)
    Variant.objects.filter(post=post).update(publish_at=past, next_attempt_at=past)
    with translation.override("ko"):  # the approver works in Korean
        actions.do_approve(post, acting_user=world.april)
    stored = Variant.objects.get(post=post).last_error
    assert stored.startswith("Approved at ") and stored.endswith("Choose a new time.")
    with translation.override("ko"):
        korean_head = translation.gettext(sentences.APPROVED_TOO_LATE).split("%(")[0]
        said = sentences.say_again(stored)
    assert korean_head and not korean_head.startswith("Approved")
    assert said.startswith(korean_head)
    # The two times come back as they were written.
    times = re.findall(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} [^,)\s]+", stored)
    assert len(times) == 2 and all(t in said for t in times)
    with translation.override("en"):
        assert sentences.say_again(stored) == stored


def test_an_approved_post_without_a_time_waits_for_one(world: World) -> None:
    post = actions.do_create_post(
        world.acme, text="Whenever.", channels=[world.coffee_x], acting_user=world.carl
    )
    post = actions.do_submit_for_approval(post, acting_user=world.carl)
    post = actions.do_approve(post, acting_user=world.april)
    assert post.state == PostState.APPROVED
    post = actions.do_schedule(
        post, publish_at=timezone.now() + timedelta(days=1), acting_user=world.paul
    )
    assert post.state == PostState.SCHEDULED


def test_withdrawing_takes_a_scheduled_post_back_to_draft(world: World) -> None:
    post = actions.do_submit_for_approval(draft(world, "paul"), acting_user=world.paul)
    post = actions.do_withdraw(post, acting_user=world.paul)
    assert post.state == PostState.DRAFT
    assert AuditEvent.objects.filter(action="post.withdrawn", actor=world.paul).exists()


def test_a_step_nobody_can_complete_is_refused(world: World) -> None:
    with pytest.raises(ActionError, match="only 1 possible approvers"):
        actions.do_create_approval_policy(
            world.acme,
            name="Too strict",
            brand=world.coffee,
            steps=[StepInput(name="Legal", approvers=[world.adam], min_approvals=2)],
            acting_user=world.alice,
        )


def test_only_owners_and_admins_set_policies(world: World) -> None:
    with pytest.raises(ActionError, match="owners and admins"):
        actions.do_create_approval_policy(
            world.acme,
            name="Mine",
            brand=world.coffee,
            steps=[StepInput(name="Me", approvers=[world.bianca])],
            acting_user=world.bianca,
        )
