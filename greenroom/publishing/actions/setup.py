"""Campaigns, approval policies and notifications: what surrounds the posts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.models import Brand, Channel, Membership, Organization, Team, User
from greenroom.core.restrict import Access
from greenroom.publishing.models import (
    ApprovalPolicy,
    ApprovalStep,
    Campaign,
    Notification,
)

from .common import ActionError, NotAllowed, PublishingAction
from .posts import check_colour


def _require_manage(user: User | None, org: Organization, doing: str) -> None:
    if user is not None and not Access.of(user).has_org_perm(org.pk, "manage_org"):
        raise NotAllowed(
            _("Only owners and admins may %(doing)s.") % {"doing": doing},
        )


@transaction.atomic
def do_create_campaign(
    org: Organization, *, name: str, colour: str = "#2f6f4f", acting_user: User
) -> Campaign:
    """A campaign groups posts and colours them on the calendar. Anyone who drafts may add one."""
    if not Access.of(acting_user).org_ids("draft") & {org.pk}:
        raise NotAllowed(_("Creating campaigns needs the draft permission."))
    name = name.strip()
    if not name:
        raise ActionError(_("Give the campaign a name."))
    if Campaign.objects.filter(organization=org, name__iexact=name).exists():
        raise ActionError(_("There is already a campaign called %(name)s.") % {"name": name})
    campaign = Campaign.objects.create(organization=org, name=name, colour=check_colour(colour))
    audit.record(
        PublishingAction.CAMPAIGN_CREATED,
        actor=acting_user,
        organization=org,
        target=campaign,
        after=audit.snapshot(campaign, ("name", "colour")),
    )
    return campaign


@transaction.atomic
def do_update_campaign(
    campaign: Campaign,
    *,
    name: str | None = None,
    colour: str | None = None,
    acting_user: User,
) -> Campaign:
    org = campaign.organization
    if not Access.of(acting_user).org_ids("draft") & {org.pk}:
        raise NotAllowed(_("Changing campaigns needs the draft permission."))
    before = audit.snapshot(campaign, ("name", "colour"))
    if name is not None:
        name = name.strip()
        if not name:
            raise ActionError(_("Give the campaign a name."))
        if (
            Campaign.objects.filter(organization=org, name__iexact=name)
            .exclude(pk=campaign.pk)
            .exists()
        ):
            raise ActionError(_("There is already a campaign called %(name)s.") % {"name": name})
        campaign.name = name
    if colour is not None:
        campaign.colour = check_colour(colour)
    campaign.save()
    audit.record(
        PublishingAction.CAMPAIGN_UPDATED,
        actor=acting_user,
        organization=org,
        target=campaign,
        before=before,
        after=audit.snapshot(campaign, ("name", "colour")),
    )
    return campaign


@dataclass(frozen=True)
class StepInput:
    """One approval step: a team and/or named people, of whom `min_approvals` must approve."""

    name: str
    team: Team | None = None
    approvers: Sequence[User] = ()
    min_approvals: int = 1
    respond_within: timedelta | None = None


@transaction.atomic
def do_create_approval_policy(
    org: Organization,
    *,
    name: str,
    steps: Sequence[StepInput],
    brand: Brand | None = None,
    channel: Channel | None = None,
    acting_user: User | None,
) -> ApprovalPolicy:
    """Who approves posts for a brand (or for one channel), in ordered steps. Replaces the
    scope's active policy, if any (the old one is kept, inactive, for the history)."""
    _require_manage(acting_user, org, _("set approval policies"))
    if (brand is None) == (channel is None):
        raise ActionError(_("A policy is for one brand or for one channel."))
    if brand is not None and brand.organization_id != org.pk:
        raise ActionError(_("That brand belongs to another organisation."))
    if channel is not None and channel.organization_id != org.pk:
        raise ActionError(_("That channel belongs to another organisation."))
    if not steps:
        raise ActionError(_("A policy needs at least one step."))
    members = set(
        Membership.objects.filter(organization=org, is_active=True).values_list(
            "user_id", flat=True
        )
    )
    for step in steps:
        if not step.name.strip():
            raise ActionError(_("Give every step a name (e.g. Brand, Legal)."))
        if step.team is not None and step.team.organization_id != org.pk:
            raise ActionError(
                _("The team of step %(step)s belongs to another organisation.")
                % {"step": step.name}
            )
        people = {u.pk for u in step.approvers}
        if people - members:
            raise ActionError(
                _("Some approvers of step %(step)s are not members of %(org)s.")
                % {"step": step.name, "org": org}
            )
        if step.team is not None:
            people |= set(step.team.members.values_list("pk", flat=True))
        if step.min_approvals < 1:
            raise ActionError(_("Each step needs at least one approval."))
        if step.respond_within is not None and step.respond_within < timedelta(minutes=15):
            raise ActionError(
                _("Give the approvers of step %(step)s at least 15 minutes to respond.")
                % {"step": step.name}
            )
        # A step nobody can complete would hold every post forever: refuse it now.
        if len(people) < step.min_approvals:
            raise ActionError(
                _(
                    "Step %(step)s needs %(n)s approvals but has only %(people)s possible "
                    "approvers. Add people or lower the number."
                )
                % {"step": step.name, "n": step.min_approvals, "people": len(people)}
            )
    replaced = list(
        ApprovalPolicy.objects.select_for_update().filter(
            organization=org, brand=brand, channel=channel, is_active=True
        )
    )
    for old in replaced:
        old.is_active = False
        old.save(update_fields=["is_active"])
    policy = ApprovalPolicy.objects.create(
        organization=org, name=name.strip() or _("Approval"), brand=brand, channel=channel
    )
    for order, step in enumerate(steps):
        row = ApprovalStep.objects.create(
            policy=policy,
            order=order,
            name=step.name.strip(),
            team=step.team,
            min_approvals=step.min_approvals,
            respond_within=step.respond_within,
        )
        row.approvers.set(list(step.approvers))
    audit.record(
        PublishingAction.POLICY_CREATED,
        actor=acting_user,
        organization=org,
        target=policy,
        after={
            "brand": brand.pk if brand else None,
            "channel": channel.pk if channel else None,
            "replaced": [p.pk for p in replaced],
            "steps": [
                {
                    "name": s.name,
                    "team": s.team.pk if s.team else None,
                    "approvers": sorted(u.pk for u in s.approvers),
                    "min_approvals": s.min_approvals,
                    "respond_within_s": s.respond_within.total_seconds()
                    if s.respond_within
                    else None,
                }
                for s in steps
            ],
        },
    )
    return policy


@transaction.atomic
def do_deactivate_approval_policy(
    policy: ApprovalPolicy, *, acting_user: User | None
) -> ApprovalPolicy:
    """Stop applying a policy; posts in approval then follow the policies still active."""
    _require_manage(acting_user, policy.organization, _("change approval policies"))
    if policy.is_active:
        policy.is_active = False
        policy.save(update_fields=["is_active"])
        audit.record(
            PublishingAction.POLICY_DEACTIVATED,
            actor=acting_user,
            organization=policy.organization,
            target=policy,
        )
    return policy


def do_mark_notifications_read(user: User, notification_ids: Sequence[int]) -> int:
    """Mark some of a person's own notifications read. Not a decision, so no audit row."""
    return Notification.objects.filter(
        recipient=user, pk__in=list(notification_ids), read_at__isnull=True
    ).update(read_at=timezone.now())
