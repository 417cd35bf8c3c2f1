"""What every governance action shares: its audit codes and the permission checks.

Actions take `acting_user` keyword-only; None means Greenroom itself acting on a trusted caller's
behalf (SCIM, after its bearer token was checked; a scheduled job).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext as _

from greenroom.core.actions import ActionError
from greenroom.core.models import Channel, Organization, User
from greenroom.core.restrict import Access


class GovernanceAction(models.TextChoices):
    NATIVE_ADMIN_RECORDED = "governance.native_admin_recorded"
    NATIVE_ADMIN_REMOVED = "governance.native_admin_removed"
    RECOVERY_SAVED = "governance.recovery_saved"
    SETTINGS_SAVED = "governance.settings_saved"
    OFFBOARDED = "governance.offboarded"
    SESSIONS_REVOKED = "governance.sessions_revoked"
    ACCOUNT_DEACTIVATED = "governance.account_deactivated"
    CHECKLIST_DONE = "governance.checklist_done"
    SCIM_TOKEN_CREATED = "scim.token_created"
    SCIM_TOKEN_REVOKED = "scim.token_revoked"
    SCIM_USER_CREATED = "scim.user_created"
    SCIM_USER_UPDATED = "scim.user_updated"
    SCIM_USER_DELETED = "scim.user_deleted"
    SCIM_USER_REACTIVATED = "scim.user_reactivated"
    SCIM_GROUP_CREATED = "scim.group_created"
    SCIM_GROUP_UPDATED = "scim.group_updated"
    SCIM_GROUP_DELETED = "scim.group_deleted"
    GROUP_ROLE_SET = "scim.group_role_set"


class NotAllowed(ActionError):
    """The acting person's role does not allow this (the API answers 403)."""


def require_org_perm(user: User | None, org: Organization, perm: str, what: str) -> None:
    if user is not None and not Access.of(user).has_org_perm(org.pk, perm):
        raise NotAllowed(
            _("Your role in %(org)s does not allow you to %(what)s.")
            % {
                "org": org,
                "what": what,
            }
        )


def require_channel_perm(user: User | None, channel: Channel, perm: str, what: str) -> None:
    if user is not None and not Channel.objects.restrict(user, perm).filter(pk=channel.pk).exists():
        raise NotAllowed(
            _("You need to administer %(channel)s to %(what)s.")
            % {"channel": channel.name, "what": what}
        )


def check_member(org: Organization, user: User | None, *, what: str) -> None:
    from greenroom.core.models import Membership

    if (
        user is not None
        and not Membership.objects.filter(organization=org, user=user, is_active=True).exists()
    ):
        raise ActionError(
            _("%(person)s is not a member of %(org)s, so cannot be %(what)s.")
            % {"person": user, "org": org, "what": what}
        )
