"""Approval deadlines and reminders: no post waits for an approver unnoticed.

A post in approval has a deadline for its current step: the earliest of
- the earliest time one of its channels is scheduled for (past it, approval comes too late and
  the channel goes to "needs a new time"), and
- the step's own `respond_within`, counted from when the step became current (the submission
  for the first step, the approval that completed the previous step for the others).

`remind_approvals` (beat, every few minutes) sends each step's approvers one "due soon" reminder
when the deadline is less than PUBLISHING_APPROVAL_REMIND_BEFORE_S away (never in the first
minutes of a step: its approvers were just asked), and one "overdue" notice to them and the
author once it has passed. ApprovalReminder rows make each reminder happen once, whatever
number of beats or workers run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from greenroom.celery import app
from greenroom.core.models import User
from greenroom.publishing import approvals
from greenroom.publishing.actions.common import notify
from greenroom.publishing.models import (
    ApprovalDecision,
    ApprovalReminder,
    Decision,
    Post,
    PostState,
    VariantState,
)

logger = logging.getLogger(__name__)

# The first minutes of a step need no reminder: its approvers were notified when it began.
QUIET_START = timedelta(minutes=10)


@dataclass(frozen=True)
class Deadline:
    step: approvals.PlannedStep
    step_started_at: datetime
    due_at: datetime
    # "schedule": the post's first channel time; "step": the step's own response time.
    reason: str


def remind_before() -> timedelta:
    return timedelta(seconds=float(settings.PUBLISHING_APPROVAL_REMIND_BEFORE_S))


def step_started_at(
    post: Post, steps: list[approvals.PlannedStep], current: approvals.PlannedStep
) -> datetime:
    """When `current` became the step to decide: the submission, or the previous step's end."""
    started = post.submitted_at or post.created_at
    index = steps.index(current)
    if index == 0:
        return started
    previous = steps[index - 1]
    step_id = previous.step.pk if previous.step is not None else None
    last = ApprovalDecision.objects.filter(
        post=post, round=post.approval_round, decision=Decision.APPROVE, step_id=step_id
    ).aggregate(at=Max("at"))["at"]
    return max(started, last) if last is not None else started


def deadline(post: Post) -> Deadline | None:
    """The current step's deadline, or None when the post waits for no one or has no time."""
    if post.state != PostState.IN_APPROVAL:
        return None
    steps = approvals.progress(post)
    current = approvals.current_step(steps)
    if current is None:
        return None
    started = step_started_at(post, steps, current)
    candidates: list[tuple[datetime, str]] = []
    times = [
        v.publish_at
        for v in post.variants.all()
        if v.state == VariantState.IN_APPROVAL and v.publish_at is not None
    ]
    if times:
        candidates.append((min(times), "schedule"))
    if current.step is not None and current.step.respond_within:
        candidates.append((started + current.step.respond_within, "step"))
    if not candidates:
        return None
    due_at, reason = min(candidates)
    return Deadline(step=current, step_started_at=started, due_at=due_at, reason=reason)


def _once(post: Post, found: Deadline, kind: str) -> bool:
    """Record that this reminder is sent; False when it was sent already."""
    try:
        with transaction.atomic():
            ApprovalReminder.objects.create(
                post=post,
                round=post.approval_round,
                step_key=found.step.key,
                kind=kind,
                due_at=found.due_at,
            )
    except IntegrityError:
        return False
    return True


def _when(value: datetime, person: User) -> str:
    import zoneinfo

    return value.astimezone(zoneinfo.ZoneInfo(person.timezone or "UTC")).strftime(
        "%Y-%m-%d %H:%M %Z"
    )


def _remind(post: Post, found: Deadline, kind: str) -> int:
    """Notify the step's approvers (and, once overdue, the author); returns how many."""
    people = approvals.approvers_of(found.step, post)
    if kind == ApprovalReminder.Kind.OVERDUE and post.author is not None:
        people = [*people, post.author]
    told = 0
    for person in {p.pk: p for p in people}.values():
        with override(person.language or settings.LANGUAGE_CODE):
            if kind == ApprovalReminder.Kind.DUE_SOON:
                message = _("Reminder: “%(post)s” needs your approval (%(step)s) by %(due)s.") % {
                    "post": post,
                    "step": found.step.name,
                    "due": _when(found.due_at, person),
                }
            elif person.pk == post.author_id:
                message = _(
                    "“%(post)s” is still waiting for approval (%(step)s); it was due at "
                    "%(due)s. Channels whose time has passed need a new time once approved."
                ) % {"post": post, "step": found.step.name, "due": _when(found.due_at, person)}
            else:
                message = _("Overdue: “%(post)s” needed your approval (%(step)s) by %(due)s.") % {
                    "post": post,
                    "step": found.step.name,
                    "due": _when(found.due_at, person),
                }
        if notify(post, person, f"approval_{kind}", message) is not None:
            told += 1
    return told


@app.task(name="greenroom.publishing.remind_approvals")
def remind_approvals(now: datetime | None = None) -> dict[str, int]:
    """Send the due-soon and overdue approval reminders that are due; count them."""
    now = now or timezone.now()
    counts = {"due_soon": 0, "overdue": 0}
    waiting = (
        Post.objects.filter(state=PostState.IN_APPROVAL)
        .select_related("author", "organization")
        .prefetch_related("variants")
        .order_by("pk")
    )
    for post in waiting:
        found = deadline(post)
        if found is None:
            continue
        if found.due_at <= now:
            kind = ApprovalReminder.Kind.OVERDUE
        elif found.due_at - now <= remind_before() and now - found.step_started_at >= QUIET_START:
            kind = ApprovalReminder.Kind.DUE_SOON
        else:
            continue
        with transaction.atomic():
            if _once(post, found, kind):
                _remind(post, found, kind)
                counts[kind] += 1
    return counts
