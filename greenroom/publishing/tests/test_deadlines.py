"""Approval deadlines: approvers are reminded before a post's approval is due and told, with the
author, once it is late; each reminder goes out once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from greenroom.conftest import World
from greenroom.publishing import actions, deadlines
from greenroom.publishing.actions import ActionError, StepInput
from greenroom.publishing.models import ApprovalReminder, Notification, Post, PostState

from .test_approvals import draft


def _policy(world: World, respond_within: timedelta | None = None) -> None:
    actions.do_create_approval_policy(
        world.acme,
        name="Coffee",
        brand=world.coffee,
        steps=[
            StepInput(name="Brand", approvers=[world.april], respond_within=respond_within),
            StepInput(name="Legal", approvers=[world.adam]),
        ],
        acting_user=world.alice,
    )


def _told(post: Post, kind: str) -> set[str]:
    return set(
        Notification.objects.filter(post=post, kind=f"approval_{kind}").values_list(
            "recipient__username", flat=True
        )
    )


def _submitted(world: World, at: timedelta, submitted: datetime) -> Post:
    post = draft(world, at=submitted + at)
    post = actions.do_submit_for_approval(post, acting_user=world.carl)
    Post.objects.filter(pk=post.pk).update(submitted_at=submitted)
    post.refresh_from_db()
    return post


def test_the_deadline_is_the_first_channel_time_or_the_steps_own_limit(world: World) -> None:
    now = timezone.now()
    _policy(world, respond_within=timedelta(hours=1))
    soon = _submitted(world, timedelta(minutes=30), now)
    later = _submitted(world, timedelta(days=2), now)

    first = deadlines.deadline(soon)
    assert first is not None and first.reason == "schedule"
    assert first.due_at == soon.variants.get().publish_at
    second = deadlines.deadline(later)
    assert second is not None and second.reason == "step"
    assert second.due_at == now + timedelta(hours=1)
    assert second.step.name == "Brand"


def test_approvers_are_reminded_once_before_it_is_due(world: World) -> None:
    _policy(world)
    submitted = timezone.now() - timedelta(hours=1)
    post = _submitted(world, timedelta(hours=2), submitted)  # due in one hour

    assert deadlines.remind_approvals() == {"due_soon": 1, "overdue": 0}
    assert deadlines.remind_approvals() == {"due_soon": 0, "overdue": 0}  # once only

    assert _told(post, "due_soon") == {"april"}  # Legal's turn has not come
    message = Notification.objects.get(post=post, kind="approval_due_soon").message
    assert "Brand" in message and "needs your approval" in message


def test_no_reminder_while_the_request_is_fresh_or_the_deadline_far(world: World) -> None:
    _policy(world)
    just_now = _submitted(world, timedelta(minutes=50), timezone.now())
    far = _submitted(world, timedelta(days=3), timezone.now() - timedelta(hours=5))

    assert deadlines.remind_approvals() == {"due_soon": 0, "overdue": 0}
    assert _told(just_now, "due_soon") == _told(far, "due_soon") == set()


def test_a_late_approval_tells_approvers_and_author_then_the_next_step_gets_its_own(
    world: World,
) -> None:
    _policy(world, respond_within=timedelta(hours=1))
    submitted = timezone.now() - timedelta(hours=3)
    post = _submitted(world, timedelta(days=1), submitted)  # Brand was due two hours ago

    assert deadlines.remind_approvals() == {"due_soon": 0, "overdue": 1}
    assert _told(post, "overdue") == {"april", "carl"}
    author_note = Notification.objects.get(post=post, recipient=world.carl, kind="approval_overdue")
    assert "still waiting for approval" in author_note.message

    actions.do_approve(post, acting_user=world.april)
    assert post.approval_reminders.count() == 1
    # Legal has no limit of its own: its deadline is the post's time, a day away.
    found = deadlines.deadline(Post.objects.get(pk=post.pk))
    assert found is not None and found.step.name == "Legal" and found.reason == "schedule"
    assert deadlines.remind_approvals() == {"due_soon": 0, "overdue": 0}


def test_no_deadline_once_approved_or_without_a_time(world: World) -> None:
    _policy(world)
    untimed = actions.do_submit_for_approval(draft(world, at=None), acting_user=world.carl)
    assert untimed.state == PostState.IN_APPROVAL
    assert deadlines.deadline(untimed) is None
    assert deadlines.remind_approvals() == {"due_soon": 0, "overdue": 0}
    assert not ApprovalReminder.objects.exists()


def test_a_step_gives_approvers_at_least_a_quarter_hour(world: World) -> None:
    with pytest.raises(ActionError, match="at least 15 minutes"):
        _policy(world, respond_within=timedelta(minutes=5))
