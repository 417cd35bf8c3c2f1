"""Approvals: submit a draft, approve or request changes step by step, withdraw to draft.

When the last step is approved each variant is scheduled for its time; a variant whose time
passed while it waited goes to "needs a new time" and its author is told, never dropped.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.models import User
from greenroom.publishing import approvals, content, sentences
from greenroom.publishing.models import (
    ApprovalDecision,
    Decision,
    Post,
    Variant,
    VariantState,
)

from .common import (
    ActionError,
    ContentProblems,
    NotAllowed,
    PublishingAction,
    as_stored,
    is_author,
    notify,
    refresh_post_state,
    require_on_channels,
    transition,
)
from .posts import _validate

# States a post can be withdrawn from, back to draft (the engine has not started on them).
WITHDRAWABLE = (
    VariantState.IN_APPROVAL,
    VariantState.APPROVED,
    VariantState.SCHEDULED,
    VariantState.NEEDS_NEW_TIME,
)


def _live(post: Post) -> list[Variant]:
    return [
        v
        for v in post.variants.select_related("channel", "channel__brand").order_by("pk")
        if v.state != VariantState.CANCELLED
    ]


def _local(when: datetime, user: User | None) -> str:
    zone = zoneinfo.ZoneInfo(user.timezone if user is not None else "UTC")
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _too_late(variant: Variant, now: datetime, author: User | None) -> str:
    assert variant.publish_at is not None  # only a variant with a time can be too late
    return _(sentences.APPROVED_TOO_LATE) % {
        "approved": _local(now, author),
        "time": _local(variant.publish_at, author),
    }


def _needs_new_time_notice(post: Post, variant: Variant, now: datetime) -> str:
    return _("“%(post)s” on %(channel)s: %(message)s") % {
        "post": post,
        "channel": variant.channel,
        "message": _too_late(variant, now, post.author),
    }


@transaction.atomic
def do_submit_for_approval(post: Post, *, acting_user: User) -> Post:
    """Send a draft to its approvers (policy per brand or channel).

    With no approval step to pass (no policy, and the author may publish on every channel) the
    post is approved at once: scheduled if it has a time.
    """
    post = Post.objects.select_for_update().get(pk=post.pk)
    variants = _live(post)
    if not variants:
        raise ActionError(_("This post has no channels to publish to."))
    if any(v.state != VariantState.DRAFT for v in variants):
        raise ActionError(
            _("Only a draft can be submitted; this post is %(state)s.")
            % {"state": post.get_state_display().lower()}
        )
    require_on_channels(acting_user, "draft", [v.channel for v in variants], _("submit posts"))
    _validate(variants)
    # Publishing policies (banned terms, disclosures, links, personal data): blocking findings
    # refuse the submission; warnings are kept with it.
    policy = content.policy_report(variants)
    if policy.blocks:
        raise ContentProblems(policy.blocks)
    post.approval_round += 1
    post.changes_requested = False
    post.submitted_at = timezone.now()
    post.save(update_fields=["approval_round", "changes_requested", "submitted_at"])
    for variant in variants:
        transition(variant, [VariantState.DRAFT], state=VariantState.IN_APPROVAL)
    steps = approvals.plan(post)
    audit.record(
        PublishingAction.POST_SUBMITTED,
        actor=acting_user,
        organization=post.organization,
        target=post,
        after={
            "round": post.approval_round,
            "steps": [s.name for s in steps],
            **({"policy_warnings": policy.warnings} if policy.warnings else {}),
        },
    )
    if not steps:
        _complete_approval(post, acting_user=acting_user)
    else:
        first = steps[0]
        for person in approvers_to_tell(first, post):
            notify(
                post,
                person,
                "approval_requested",
                lambda: (
                    _("%(author)s asks you to approve a post (%(step)s): “%(post)s”.")
                    % {"author": acting_user, "step": first.name, "post": post}
                ),
            )
    refresh_post_state(post.pk)
    post.refresh_from_db()
    return post


def approvers_to_tell(planned: approvals.PlannedStep, post: Post) -> list[User]:
    # The implicit step's approvers are everyone with the approve permission: the approval queue
    # on the publishing page shows them the post; only named people are notified.
    return [] if planned.step is None else approvals.approvers_of(planned, post)


def _current_step_for(post: Post, user: User) -> approvals.PlannedStep:
    variants = _live(post)
    if not variants or any(v.state != VariantState.IN_APPROVAL for v in variants):
        raise ActionError(_("This post is not waiting for approval."))
    if is_author(user, post):
        raise NotAllowed(_("You wrote this post, so someone else must approve it."))
    steps = approvals.progress(post)
    current = approvals.current_step(steps)
    if current is None:  # every step is done: approval completed already
        raise ActionError(_("This post is not waiting for approval."))
    if not approvals.eligible(user, current, post):
        yours = [s for s in steps if s is not current and approvals.eligible(user, s, post)]
        done = [s for s in yours if s.done]
        if done:
            raise NotAllowed(
                _(
                    "Your step (“%(yours)s”) is approved already; the post now waits for the "
                    "“%(current)s” step."
                )
                % {"current": current.name, "yours": done[0].name}
            )
        if yours:
            raise NotAllowed(
                _("This post first needs the “%(current)s” step; yours (“%(yours)s”) comes after.")
                % {"current": current.name, "yours": yours[0].name}
            )
        raise NotAllowed(
            _("The “%(step)s” step is for other approvers; you are not one of them.")
            % {"step": current.name}
        )
    return current


@transaction.atomic
def do_approve(post: Post, *, comment: str = "", acting_user: User) -> Post:
    """Approve the post's current step. The author never approves their own post; each step
    needs its minimum of different approvers; steps are passed in order."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    current = _current_step_for(post, acting_user)
    step_id = current.step.pk if current.step is not None else None
    if ApprovalDecision.objects.filter(
        post=post,
        round=post.approval_round,
        step_id=step_id,
        approver=acting_user,
        decision=Decision.APPROVE,
    ).exists():
        raise ActionError(
            _("You have already approved the “%(step)s” step; it needs %(n)s more from others.")
            % {"step": current.name, "n": current.missing}
        )
    ApprovalDecision.objects.create(
        post=post,
        step_id=step_id,
        round=post.approval_round,
        approver=acting_user,
        approver_name=acting_user.name,
        decision=Decision.APPROVE,
        comment=comment,
    )
    audit.record(
        PublishingAction.POST_APPROVAL_GIVEN,
        actor=acting_user,
        organization=post.organization,
        target=post,
        after={"step": current.name, "round": post.approval_round, "comment": comment},
    )
    steps = approvals.progress(post)
    following = approvals.current_step(steps)
    if following is None:
        _complete_approval(post, acting_user=acting_user)
    elif following is not current and following.key != current.key:
        for person in approvers_to_tell(following, post):
            notify(
                post,
                person,
                "approval_requested",
                lambda: (
                    _("A post waits for your approval (%(step)s): “%(post)s”.")
                    % {"step": following.name, "post": post}
                ),
            )
    refresh_post_state(post.pk)
    post.refresh_from_db()
    return post


@transaction.atomic
def do_request_changes(post: Post, *, comment: str, acting_user: User) -> Post:
    """Send the post back to its author as a draft, with the approver's comment (kept)."""
    if not comment.strip():
        raise ActionError(_("Say what should change, so the author knows what to fix."))
    post = Post.objects.select_for_update().get(pk=post.pk)
    current = _current_step_for(post, acting_user)
    ApprovalDecision.objects.create(
        post=post,
        step=current.step,
        round=post.approval_round,
        approver=acting_user,
        approver_name=acting_user.name,
        decision=Decision.REQUEST_CHANGES,
        comment=comment,
    )
    for variant in _live(post):
        transition(variant, [VariantState.IN_APPROVAL], state=VariantState.DRAFT)
    post.changes_requested = True
    post.save(update_fields=["changes_requested"])
    audit.record(
        PublishingAction.POST_CHANGES_REQUESTED,
        actor=acting_user,
        organization=post.organization,
        target=post,
        after={"step": current.name, "round": post.approval_round, "comment": comment},
    )
    notify(
        post,
        post.author,
        "changes_requested",
        lambda: (
            _("%(approver)s asks for changes to “%(post)s”: %(comment)s")
            % {"approver": acting_user, "post": post, "comment": comment}
        ),
    )
    refresh_post_state(post.pk)
    post.refresh_from_db()
    return post


@transaction.atomic
def do_withdraw(post: Post, *, acting_user: User) -> Post:
    """Take a post back to draft (from approval, approved, scheduled or needing a new time) to
    edit it; it will need approval again. Channels already publishing or published are kept."""
    post = Post.objects.select_for_update().get(pk=post.pk)
    variants = [v for v in _live(post) if v.state in WITHDRAWABLE]
    if not variants:
        raise ActionError(_("Nothing in this post can go back to draft."))
    if not is_author(acting_user, post):
        require_on_channels(
            acting_user, "publish", [v.channel for v in variants], _("withdraw this post")
        )
    else:
        require_on_channels(
            acting_user, "draft", [v.channel for v in variants], _("withdraw this post")
        )
    moved = [v.channel_id for v in variants if transition(v, WITHDRAWABLE, state="draft")]
    if not moved:
        raise ActionError(_("The engine started publishing this post; it cannot go back."))
    audit.record(
        PublishingAction.POST_WITHDRAWN,
        actor=acting_user,
        organization=post.organization,
        target=post,
        after={"channels": moved},
    )
    refresh_post_state(post.pk)
    post.refresh_from_db()
    return post


def _complete_approval(post: Post, *, acting_user: User | None) -> None:
    """Every step passed: schedule each variant for its time, or flag it for a new time."""
    now = timezone.now()
    outcome: dict[str, list[int]] = {"scheduled": [], "approved": [], "needs_new_time": []}
    for variant in _live(post):
        if variant.state != VariantState.IN_APPROVAL:
            continue
        if variant.publish_at is None:
            transition(variant, [VariantState.IN_APPROVAL], state=VariantState.APPROVED)
            outcome["approved"].append(variant.channel_id)
        elif variant.publish_at > now:
            transition(
                variant,
                [VariantState.IN_APPROVAL],
                state=VariantState.SCHEDULED,
                next_attempt_at=variant.publish_at,
                attempts=0,
                last_error="",
                error_code="",
            )
            outcome["scheduled"].append(variant.channel_id)
        else:
            # Kept in English and said again in each reader's language (the approver's
            # language would stick).
            message = as_stored(functools.partial(_too_late, variant, now, post.author))
            transition(
                variant,
                [VariantState.IN_APPROVAL],
                state=VariantState.NEEDS_NEW_TIME,
                last_error=message,
                error_code="approved_too_late",
            )
            outcome["needs_new_time"].append(variant.channel_id)
            audit.record(
                PublishingAction.VARIANT_NEEDS_NEW_TIME,
                actor=acting_user,
                organization=post.organization,
                target=variant,
                after={
                    "publish_at": variant.publish_at.isoformat(),
                    "approved_at": now.isoformat(),
                },
            )
            notify(
                post,
                post.author,
                "needs_new_time",
                # Written in the author's language when they are told.
                functools.partial(_needs_new_time_notice, post, variant, now),
            )
    audit.record(
        PublishingAction.POST_APPROVED,
        actor=acting_user,
        organization=post.organization,
        target=post,
        after={"round": post.approval_round, **outcome},
    )
