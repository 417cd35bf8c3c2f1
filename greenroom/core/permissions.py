"""Roles, permissions and what each role may do.

Two kinds of permission exist. Channel permissions (view, draft, publish, approve, engage,
administer) apply to channels and everything that belongs to a channel. Organisation permissions
(manage members, view audit ...) apply to organisation-wide things. A membership's role grants its
permissions over the membership's scope: the whole organisation, or only the brands the membership
lists. Per-channel grants add channel permissions on single channels.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    BRAND_MANAGER = "brand_manager", _("Brand manager")
    PUBLISHER = "publisher", _("Publisher")
    CONTRIBUTOR = "contributor", _("Contributor")
    APPROVER = "approver", _("Approver")
    COMMUNITY_AGENT = "community_agent", _("Community agent")
    ANALYST = "analyst", _("Analyst")
    AUDITOR = "auditor", _("Auditor")


class ChannelPerm(models.TextChoices):
    VIEW = "view", _("View")
    DRAFT = "draft", _("Draft")
    PUBLISH = "publish", _("Publish")
    APPROVE = "approve", _("Approve")
    ENGAGE = "engage", _("Engage")
    ADMINISTER = "administer", _("Administer")


class OrgPerm(models.TextChoices):
    VIEW_ORG = "view_org", _("See the organisation")
    MANAGE_ORG = "manage_org", _("Manage the organisation, brands and channels")
    MANAGE_MEMBERS = "manage_members", _("Manage people and roles")
    VIEW_MEMBERS = "view_members", _("See people and roles")
    VIEW_AUDIT = "view_audit", _("See and export the audit log")
    MANAGE_VAULT = "manage_vault", _("Manage secrets in the vault")
    VIEW_ANALYTICS = "view_analytics", _("See analytics")


ALL_CHANNEL = frozenset(ChannelPerm.values)
ALL_ORG = frozenset(OrgPerm.values)

ROLE_PERMS: dict[str, frozenset[str]] = {
    Role.OWNER: ALL_CHANNEL | ALL_ORG,
    Role.ADMIN: ALL_CHANNEL | ALL_ORG,
    Role.BRAND_MANAGER: ALL_CHANNEL | {"view_org", "view_members", "view_analytics"},
    Role.PUBLISHER: frozenset({"view", "draft", "publish", "view_org", "view_analytics"}),
    Role.CONTRIBUTOR: frozenset({"view", "draft", "view_org"}),
    Role.APPROVER: frozenset({"view", "approve", "view_org"}),
    Role.COMMUNITY_AGENT: frozenset({"view", "engage", "view_org"}),
    Role.ANALYST: frozenset({"view", "view_org", "view_analytics"}),
    Role.AUDITOR: frozenset({"view", "view_org", "view_members", "view_audit", "view_analytics"}),
}

# Organisation permissions ignore a membership's brand scope: they are about the organisation.
ORG_WIDE = ALL_ORG


def is_known(perm: str) -> bool:
    return perm in ALL_CHANNEL or perm in ALL_ORG
