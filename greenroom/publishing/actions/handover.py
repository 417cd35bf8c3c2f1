"""Handing a person's approval duties to someone else at once (offboarding).

A person approves as a named approver of policy steps (or as a member of a step's team). When
they go, each step that names them names the successor instead (one `approval_step.approver_
replaced` event per step), and every post waiting in approval on one of those steps gets an
`post.approval_reassigned` event and a notification to the successor, so nobody waits on someone
who left. Steps that end up with fewer possible approvers than they need are reported, never
silently left to hold posts forever.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.models import Channel, Membership, Organization, Team, User
from greenroom.publishing.models import (
    ApprovalDecision,
    ApprovalPolicy,
    ApprovalStep,
    Decision,
    Post,
    Variant,
    VariantState,
)

from .common import notify

APPROVER_REPLACED = "approval_step.approver_replaced"
APPROVAL_REASSIGNED = "post.approval_reassigned"


@dataclass
class ShortStep:
    step_id: int
    step: str
    policy: str
    possible: int
    needed: int


@dataclass
class ApprovalHandover:
    steps_changed: list[int] = field(default_factory=list)
    # Posts in approval on a step that named the person, and which they had not yet approved.
    posts_reassigned: list[int] = field(default_factory=list)
    short_steps: list[ShortStep] = field(default_factory=list)


def _covered_channels(org: Organization, policies: list[ApprovalPolicy]) -> dict[int, set[int]]:
    """Channel ids each policy applies to: its channel, or its brand's channels without a policy
    of their own (the rule of approvals.policy_for)."""
    own = set(
        ApprovalPolicy.objects.filter(
            organization=org, is_active=True, channel__isnull=False
        ).values_list("channel_id", flat=True)
    )
    brand_ids = {p.brand_id for p in policies if p.brand_id is not None}
    by_brand: dict[int, set[int]] = {}
    for pk, brand_id in Channel.objects.filter(
        organization=org, brand_id__in=brand_ids
    ).values_list("pk", "brand_id"):
        if pk not in own:
            by_brand.setdefault(brand_id, set()).add(pk)
    return {
        p.pk: ({p.channel_id} if p.channel_id is not None else by_brand.get(p.brand_id or 0, set()))
        for p in policies
    }


@transaction.atomic
def do_hand_over_approvals(
    org: Organization,
    person: User,
    successor: User | None,
    *,
    leaving_teams: Collection[int] = (),
    acting_user: User | None,
) -> ApprovalHandover:
    """Replace `person` by `successor` in every active approval step of `org` (None: just take
    them out). `leaving_teams` are team ids the person is being removed from, so steps that
    rely on those teams are checked for enough approvers as well."""
    result = ApprovalHandover()
    if successor is not None and successor.pk == person.pk:
        successor = None
    steps = list(
        ApprovalStep.objects.select_related("policy", "team")
        .filter(policy__organization=org, policy__is_active=True)
        .filter(Q(approvers=person) | Q(team_id__in=list(leaving_teams)))
        .distinct()
        .order_by("pk")
    )
    if not steps:
        return result
    named = set(
        ApprovalStep.approvers.through.objects.filter(
            approvalstep_id__in=[s.pk for s in steps], user_id=person.pk
        ).values_list("approvalstep_id", flat=True)
    )
    members = set(
        Membership.objects.filter(organization=org, is_active=True)
        .exclude(user=person)
        .values_list("user_id", flat=True)
    )
    replaced = [s for s in steps if s.pk in named]
    through = ApprovalStep.approvers.through
    if replaced:
        through.objects.filter(
            approvalstep_id__in=[s.pk for s in replaced], user_id=person.pk
        ).delete()
        if successor is not None:
            already = set(
                through.objects.filter(
                    approvalstep_id__in=[s.pk for s in replaced], user_id=successor.pk
                ).values_list("approvalstep_id", flat=True)
            )
            through.objects.bulk_create(
                [
                    through(approvalstep_id=s.pk, user_id=successor.pk)
                    for s in replaced
                    if s.pk not in already
                ]
            )
    # Who can still approve each step once the person has gone.
    possible: dict[int, set[int]] = {s.pk: set() for s in steps}
    for step_id, user_id in through.objects.filter(
        approvalstep_id__in=[s.pk for s in steps]
    ).values_list("approvalstep_id", "user_id"):
        possible[step_id].add(user_id)
    team_ids = {s.team_id for s in steps if s.team_id is not None}
    team_members: dict[int, set[int]] = {}
    if team_ids:
        for team_id, user_id in Team.members.through.objects.filter(
            team_id__in=team_ids
        ).values_list("team_id", "user_id"):
            if team_id not in leaving_teams or user_id != person.pk:
                team_members.setdefault(team_id, set()).add(user_id)
    for step in steps:
        people = possible[step.pk] | team_members.get(step.team_id or 0, set())
        people = (people & members) - {person.pk}
        if len(people) < step.min_approvals:
            result.short_steps.append(
                ShortStep(step.pk, step.name, step.policy.name, len(people), step.min_approvals)
            )
    result.steps_changed = [s.pk for s in replaced]

    # Posts waiting on one of the replaced steps that the person had not approved yet.
    policies = list({s.policy_id: s.policy for s in replaced}.values())
    covered = _covered_channels(org, policies)
    channels = set().union(*covered.values()) if covered else set()
    waiting = sorted(
        set(
            Variant.objects.filter(
                channel_id__in=channels, state=VariantState.IN_APPROVAL, post__organization=org
            ).values_list("post_id", flat=True)
        )
    )
    posts = list(Post.objects.filter(pk__in=waiting).order_by("pk"))
    approved_by_person = set(
        ApprovalDecision.objects.filter(
            post_id__in=waiting,
            approver=person,
            decision=Decision.APPROVE,
            step_id__in=[s.pk for s in replaced],
        ).values_list("post_id", "round")
    )
    reassigned = [p for p in posts if (p.pk, p.approval_round) not in approved_by_person]
    result.posts_reassigned = [p.pk for p in reassigned]

    entries = [
        audit.Entry(
            APPROVER_REPLACED,
            org,
            target=step,
            before={"approver": person.pk},
            after={"approver": successor.pk if successor else None},
        )
        for step in replaced
    ]
    entries += [
        audit.Entry(
            APPROVAL_REASSIGNED,
            org,
            target=post,
            before={"approver": person.pk},
            after={"approver": successor.pk if successor else None},
        )
        for post in reassigned
    ]
    audit.record_many(entries, actor=acting_user)
    if successor is not None:
        for post in reassigned:
            notify(
                post,
                successor,
                "approval_requested",
                functools.partial(_in_their_place, person, post),
            )
    return result


def _in_their_place(person: User, post: Post) -> str:
    return _("%(person)s has left; you approve “%(post)s” in their place.") % {
        "person": person,
        "post": post,
    }
