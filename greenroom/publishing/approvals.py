"""Which approvals a post needs, and how far it has come (read-only; actions write decisions).

A post's plan is the ordered steps of every policy that applies to one of its channels (a
channel's own policy, else its brand's), policy by policy in the order their channels appear.
Channels without any policy need one approver holding the approve permission on them, unless
the author may publish there: then they need none. Steps are passed in order; a step is done
when `min_approvals` different people (never the author) approved it in the current round.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from greenroom.core.models import Channel, Membership, User
from greenroom.publishing.models import (
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalStep,
    Decision,
    Post,
    VariantState,
)

IMPLICIT = "implicit"


@dataclass
class PlannedStep:
    key: str
    name: str
    min_approvals: int
    step: ApprovalStep | None
    channels: list[Channel]
    # Filled by progress(): who approved this step in the current round.
    approved_by: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return len(self.approved_by) >= self.min_approvals

    @property
    def missing(self) -> int:
        return max(0, self.min_approvals - len(self.approved_by))


def live_channels(post: Post) -> list[Channel]:
    return [
        v.channel
        for v in post.variants.select_related("channel", "channel__brand").order_by("pk")
        if v.state != VariantState.CANCELLED
    ]


def policy_for(channel: Channel, policies: list[ApprovalPolicy]) -> ApprovalPolicy | None:
    """The channel's own active policy, else its brand's, else none."""
    own = [p for p in policies if p.channel_id == channel.pk]
    if own:
        return own[0]
    brand = [p for p in policies if p.brand_id == channel.brand_id and p.channel_id is None]
    return brand[0] if brand else None


def plan(post: Post) -> list[PlannedStep]:
    """The ordered approval steps this post needs (empty: none)."""
    channels = live_channels(post)
    policies = list(
        ApprovalPolicy.objects.filter(organization_id=post.organization_id, is_active=True)
        .prefetch_related("steps")
        .order_by("pk")
    )
    by_policy: dict[int, tuple[ApprovalPolicy, list[Channel]]] = {}
    without: list[Channel] = []
    for channel in channels:
        policy = policy_for(channel, policies)
        if policy is None:
            without.append(channel)
        else:
            by_policy.setdefault(policy.pk, (policy, []))[1].append(channel)
    steps: list[PlannedStep] = []
    for policy, covered in by_policy.values():
        for step in sorted(policy.steps.all(), key=lambda s: (s.order, s.pk)):
            steps.append(
                PlannedStep(
                    key=f"step:{step.pk}",
                    name=step.name,
                    min_approvals=step.min_approvals,
                    step=step,
                    channels=covered,
                )
            )
    if without:
        from greenroom.publishing.actions.common import channels_with

        author = post.author
        may_publish = channels_with(author, "publish", without) if author is not None else set()
        needing = [c for c in without if c.pk not in may_publish]
        if needing:
            steps.append(
                PlannedStep(
                    key=IMPLICIT,
                    name=_("An approver"),
                    min_approvals=1,
                    step=None,
                    channels=needing,
                )
            )
    return steps


def progress(post: Post) -> list[PlannedStep]:
    """The plan with this round's approvals filled in."""
    steps = plan(post)
    decisions = ApprovalDecision.objects.filter(
        post=post, round=post.approval_round, decision=Decision.APPROVE
    ).order_by("at", "pk")
    for planned in steps:
        step_id = planned.step.pk if planned.step is not None else None
        seen: dict[int | None, str] = {}
        for decision in decisions:
            if decision.step_id == step_id and decision.approver_id not in seen:
                seen[decision.approver_id] = decision.approver_name
        planned.approved_by = list(seen.values())
    return steps


def current_step(steps: list[PlannedStep]) -> PlannedStep | None:
    return next((s for s in steps if not s.done), None)


def eligible(user: User, planned: PlannedStep, post: Post) -> bool:
    """Whether `user` may decide on this step of this post (never its author)."""
    if post.author_id == user.pk:
        return False
    if not Membership.objects.filter(
        organization_id=post.organization_id, user=user, is_active=True
    ).exists():
        return False
    if planned.step is None:
        allowed = set(
            Channel.objects.restrict(user, "approve")
            .filter(pk__in=[c.pk for c in planned.channels])
            .values_list("pk", flat=True)
        )
        return all(c.pk in allowed for c in planned.channels)
    step = planned.step
    if step.approvers.filter(pk=user.pk).exists():
        return True
    return step.team is not None and step.team.members.filter(pk=user.pk).exists()


def approvers_of(planned: PlannedStep, post: Post) -> list[User]:
    """The people who may decide on a step (for notifications and the post page)."""
    if planned.step is None:
        candidates = User.objects.filter(
            memberships__organization_id=post.organization_id, memberships__is_active=True
        )
        return [u for u in candidates.order_by("pk") if eligible(u, planned, post)]
    step = planned.step
    people = {u.pk: u for u in step.approvers.all()}
    if step.team is not None:
        people.update({u.pk: u for u in step.team.members.all()})
    return [u for pk, u in sorted(people.items()) if pk != post.author_id]
