"""What every compliance action shares: its audit codes and the permission checks.

Actions take `acting_user` keyword-only; None means Greenroom itself (the quarterly schedule,
the deadline of an access review).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _

from greenroom.core.actions import ActionError
from greenroom.core.models import Membership, Organization, User
from greenroom.core.restrict import Access

__all__ = ["ActionError", "ComplianceAction", "NotAllowed"]


class ComplianceAction(models.TextChoices):
    SETTINGS_SAVED = "compliance.settings_saved"
    REVIEW_STARTED = "access_review.started"
    REVIEW_CERTIFIED = "access_review.certified"
    REVIEW_REVOKED = "access_review.revoked"
    REVIEW_EXPIRED = "access_review.revoked_at_deadline"
    REVIEW_NOT_REVOKED = "access_review.not_revoked"
    REVIEW_REMINDED = "access_review.reminded"
    REVIEW_CLOSED = "access_review.closed"
    REVIEW_EXPORTED = "access_review.exported"
    RULE_CREATED = "policy_rule.created"
    RULE_UPDATED = "policy_rule.updated"
    RULE_SWITCHED_OFF = "policy_rule.switched_off"
    RULE_SWITCHED_ON = "policy_rule.switched_on"
    GUIDELINE_CREATED = "guideline.created"
    GUIDELINE_VERSION_PUBLISHED = "guideline.version_published"
    GUIDELINE_SWITCHED_OFF = "guideline.switched_off"
    GUIDELINE_SWITCHED_ON = "guideline.switched_on"
    GUIDELINE_ACKNOWLEDGED = "guideline.acknowledged"
    COURSE_CREATED = "training.course_created"
    TRAINING_RECORDED = "training.recorded"
    TRAINING_REMOVED = "training.record_removed"
    REQUIREMENT_ADDED = "channel_requirement.added"
    REQUIREMENT_REMOVED = "channel_requirement.removed"


class NotAllowed(ActionError):
    """The acting person's role does not allow this."""


def may(user: User | None, org: Organization | int, perm: str) -> bool:
    org_id = org if isinstance(org, int) else org.pk
    return user is None or Access.of(user).has_org_perm(org_id, perm)


def require_org_perm(user: User | None, org: Organization, perm: str, what: str) -> None:
    if not may(user, org, perm):
        raise NotAllowed(
            _("Your role in %(org)s does not allow you to %(what)s.") % {"org": org, "what": what}
        )


def require_member(org: Organization, user: User, what: str) -> None:
    if not Membership.objects.filter(organization=org, user=user, is_active=True).exists():
        raise ActionError(
            _("%(person)s is not a member of %(org)s, so cannot %(what)s.")
            % {"person": user, "org": org, "what": what}
        )
