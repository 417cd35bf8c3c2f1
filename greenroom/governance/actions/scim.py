"""SCIM provisioning: tokens, and people and groups as the identity provider sends them.

The identity provider is trusted only inside the organisation its token belongs to. It creates
accounts and memberships there, changes the profile of accounts that belong to no other
organisation, deactivates people (which offboards them) and manages teams as groups. Group
roles: a team can carry a role; a SCIM-managed member gets the strongest role of their teams
(ROLE_STRENGTH), or the organisation's default SCIM role when none of their teams carries one.
Owners are never changed by SCIM.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.actions import (
    ActionError,
    do_add_member,
    do_change_role,
    do_create_team,
    do_create_user,
    do_set_team_members,
)
from greenroom.core.models import Membership, Organization, Team, User
from greenroom.core.permissions import Role
from greenroom.core.restrict import forget_access
from greenroom.governance.models import (
    OffboardingSource,
    ScimGroup,
    ScimIdentity,
    ScimToken,
)

from .common import GovernanceAction, require_org_perm
from .custody import settings_of
from .offboarding import do_offboard

SCIM_TOKEN_PREFIX = "grscim_"
# Strongest first: a person in several role-carrying teams gets the first of their roles here.
ROLE_STRENGTH = (
    Role.ADMIN,
    Role.BRAND_MANAGER,
    Role.PUBLISHER,
    Role.APPROVER,
    Role.COMMUNITY_AGENT,
    Role.CONTRIBUTOR,
    Role.AUDITOR,
    Role.ANALYST,
)
PROFILE_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "display_name",
    "email",
    "language",
    "timezone",
)


class ScimConflict(ActionError):
    """A uniqueness rule: the SCIM endpoint answers 409."""


def hash_scim_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@transaction.atomic
def do_create_scim_token(
    org: Organization, *, name: str, acting_user: User
) -> tuple[ScimToken, str]:
    """A bearer token for the organisation's identity provider. Returns the row and the
    plaintext, which is shown once and never stored."""
    require_org_perm(acting_user, org, "manage_members", _("set up provisioning"))
    name = name.strip()[:100]
    if not name:
        raise ActionError(_("Name the token after the identity provider that will use it."))
    plaintext = SCIM_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ScimToken.objects.create(
        organization=org,
        name=name,
        prefix=plaintext[: len(SCIM_TOKEN_PREFIX) + 6],
        token_hash=hash_scim_token(plaintext),
        created_by=acting_user,
    )
    audit.record(
        GovernanceAction.SCIM_TOKEN_CREATED,
        actor=acting_user,
        organization=org,
        target=token,
        after={"name": name, "prefix": token.prefix},
    )
    return token, plaintext


@transaction.atomic
def do_revoke_scim_token(token: ScimToken, *, acting_user: User) -> ScimToken:
    require_org_perm(acting_user, token.organization, "manage_members", _("set up provisioning"))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            GovernanceAction.SCIM_TOKEN_REVOKED,
            actor=acting_user,
            organization=token.organization,
            target=token,
            after={"prefix": token.prefix},
        )
    return token


@dataclass
class ScimUser:
    """What a SCIM User resource says about a person (None: not said, leave as it is)."""

    user_name: str
    external_id: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    display_name: str | None = None
    email: str | None = None
    active: bool | None = None
    language: str | None = None
    timezone_name: str | None = None


def _via(token: ScimToken) -> dict[str, str]:
    return {"via": "scim", "token": token.prefix}


def _profile(user: User) -> dict[str, object]:
    return audit.snapshot(user, PROFILE_FIELDS)


def _apply_profile(user: User, data: ScimUser) -> list[str]:
    changed = []
    values = {
        "username": data.user_name,
        "first_name": data.given_name,
        "last_name": data.family_name,
        "display_name": data.display_name,
        "email": data.email,
        "language": data.language,
        "timezone": data.timezone_name,
    }
    for field, value in values.items():
        if value is None:
            continue
        if field == "timezone" and value not in zoneinfo.available_timezones():
            continue
        if field == "language" and value not in ("en", "ko"):
            continue
        if getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    return changed


def _shared_elsewhere(org: Organization, user: User) -> bool:
    """The account also belongs to another organisation: its profile is not this IdP's to change."""
    return Membership.objects.filter(user=user, is_active=True).exclude(organization=org).exists()


def _check_username(user_name: str, exclude: User | None = None) -> None:
    taken = User.objects.filter(username__iexact=user_name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise ScimConflict(_("The userName %(name)s is already in use.") % {"name": user_name})


def _role_for(org: Organization, user: User) -> str | None:
    """The role a SCIM-managed person's groups give them, or None when no group carries a role."""
    mapped = list(
        ScimGroup.objects.filter(organization=org, deleted_at__isnull=True)
        .exclude(role="")
        .values_list("role", "team_id")
    )
    if not mapped:
        return None
    mine = set(
        Team.members.through.objects.filter(
            team_id__in=[t for _r, t in mapped], user_id=user.pk
        ).values_list("team_id", flat=True)
    )
    roles = {role for role, team in mapped if team in mine}
    for role in ROLE_STRENGTH:
        if role in roles:
            return role
    return settings_of(org).scim_default_role


def sync_roles(org: Organization, user_ids: Iterable[int]) -> None:
    """Give SCIM-managed members the role their groups map to (never touching owners)."""
    managed = set(
        ScimIdentity.objects.filter(
            organization=org, user_id__in=list(user_ids), deleted_at__isnull=True
        ).values_list("user_id", flat=True)
    )
    for membership in Membership.objects.select_related("organization", "user").filter(
        organization=org, user_id__in=managed, is_active=True
    ):
        if membership.role == Role.OWNER:
            continue
        role = _role_for(org, membership.user)
        if role is not None and role != membership.role:
            do_change_role(membership, role=role, acting_user=None)


def _identity(org: Organization, user: User) -> ScimIdentity:
    identity, _created = ScimIdentity.objects.get_or_create(organization=org, user=user)
    return identity


@transaction.atomic
def do_scim_create_user(org: Organization, data: ScimUser, *, token: ScimToken) -> User:
    """POST /Users: a new account and membership (the default SCIM role, or their groups').

    A userName already in use is a conflict, except for someone this organisation's identity
    provider deleted earlier: they come back."""
    existing = User.objects.filter(username__iexact=data.user_name).first()
    if existing is not None:
        identity = ScimIdentity.objects.filter(organization=org, user=existing).first()
        if identity is None or identity.deleted_at is None:
            raise ScimConflict(
                _("The userName %(name)s is already in use.") % {"name": data.user_name}
            )
        identity.deleted_at = None
        identity.save(update_fields=["deleted_at"])
        do_scim_update_user(org, existing, data, token=token)
        if data.active is None:
            do_scim_update_user(
                org, existing, ScimUser(existing.username, active=True), token=token
            )
        return existing
    user = do_create_user(
        username=data.user_name,
        email=data.email or "",
        password=None,
        display_name=data.display_name or "",
        acting_user=None,
    )
    _apply_profile(user, data)
    user.save()
    membership = do_add_member(org, user, settings_of(org).scim_default_role, acting_user=None)
    if data.active is False:
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        forget_access(user)
    ScimIdentity.objects.create(organization=org, user=user, external_id=data.external_id or "")
    audit.record(
        GovernanceAction.SCIM_USER_CREATED,
        actor=None,
        organization=org,
        target=user,
        after={**_profile(user), "active": data.active is not False, **_via(token)},
    )
    return user


@transaction.atomic
def do_scim_update_user(org: Organization, user: User, data: ScimUser, *, token: ScimToken) -> User:
    """PUT and PATCH /Users/{id}. `active: false` offboards the person (to the organisation's
    SCIM successor, else to the channels' backups and the unassigned queue); `active: true`
    brings a deactivated person back with the role their groups give them."""
    identity = _identity(org, user)
    before = {**_profile(user), "external_id": identity.external_id}
    kept_profile = False
    if _shared_elsewhere(org, user):
        # Another organisation relies on this account's name and address: keep them.
        changed: list[str] = []
        kept_profile = bool(_apply_profile(copy.copy(user), data))
    else:
        if data.user_name.lower() != user.username.lower():
            _check_username(data.user_name, exclude=user)
        changed = _apply_profile(user, data)
        if changed:
            user.save(update_fields=changed)
    if data.external_id is not None and data.external_id != identity.external_id:
        identity.external_id = data.external_id
        changed.append("external_id")
    identity.updated_at = timezone.now()
    identity.save(update_fields=["external_id", "updated_at"])
    if changed or kept_profile:
        audit.record(
            GovernanceAction.SCIM_USER_UPDATED,
            actor=None,
            organization=org,
            target=user,
            before={k: v for k, v in before.items() if k in changed},
            after={
                **{
                    k: v
                    for k, v in {**_profile(user), "external_id": identity.external_id}.items()
                    if k in changed
                },
                **({"profile_kept": True} if kept_profile else {}),
                **_via(token),
            },
        )
    membership = Membership.objects.filter(organization=org, user=user).first()
    if data.active is False and membership is not None and membership.is_active:
        successor = settings_of(org).scim_successor
        if successor is not None and (successor.pk == user.pk or not successor.is_active):
            successor = None
        do_offboard(
            org,
            user,
            successor=successor,
            conversations_to=successor,
            reason=_("Deactivated by the identity provider (%(token)s).") % {"token": token.name},
            source=OffboardingSource.SCIM,
            acting_user=None,
        )
    elif data.active is True and (membership is None or not membership.is_active):
        role = _role_for(org, user) or settings_of(org).scim_default_role
        if not user.is_active:
            user.is_active = True
            user.save(update_fields=["is_active"])
        do_add_member(org, user, role, acting_user=None)
        audit.record(
            GovernanceAction.SCIM_USER_REACTIVATED,
            actor=None,
            organization=org,
            target=user,
            after={"role": role, **_via(token)},
        )
    return user


@transaction.atomic
def do_scim_delete_user(org: Organization, user: User, *, token: ScimToken) -> None:
    """DELETE /Users/{id}: offboard the person if still active; the SCIM resource is gone (404)
    from now on, and the history stays."""
    do_scim_update_user(org, user, ScimUser(user.username, active=False), token=token)
    identity = _identity(org, user)
    identity.deleted_at = timezone.now()
    identity.save(update_fields=["deleted_at"])
    audit.record(
        GovernanceAction.SCIM_USER_DELETED,
        actor=None,
        organization=org,
        target=user,
        after=_via(token),
    )


def _group(org: Organization, team: Team) -> ScimGroup:
    group, _created = ScimGroup.objects.get_or_create(organization=org, team=team)
    return group


def _active_members(org: Organization, people: Iterable[User]) -> list[User]:
    """People a team may hold: active members (SCIM may still list people it deactivated)."""
    wanted = {p.pk: p for p in people}
    active = set(
        Membership.objects.filter(
            organization=org, user_id__in=list(wanted), is_active=True
        ).values_list("user_id", flat=True)
    )
    return [p for pk, p in wanted.items() if pk in active]


@transaction.atomic
def do_scim_create_group(
    org: Organization,
    *,
    display_name: str,
    external_id: str = "",
    members: Iterable[User] = (),
    token: ScimToken,
) -> Team:
    """POST /Groups: a team. A name in use is a conflict, unless this identity provider deleted
    that group earlier: then the team becomes its group again."""
    name = display_name.strip()[:200]
    if not name:
        raise ActionError(_("A group needs a displayName."))
    people = _active_members(org, members)
    existing = Team.objects.filter(organization=org, name__iexact=name).first()
    if existing is not None:
        group = ScimGroup.objects.filter(team=existing).first()
        if group is None or group.deleted_at is None:
            raise ScimConflict(_("A team called %(name)s exists already.") % {"name": name})
        group.deleted_at = None
        group.external_id = external_id
        group.save(update_fields=["deleted_at", "external_id"])
        team = existing
        do_set_team_members(team, members=people, acting_user=None)
    else:
        team = do_create_team(org, name=name, members=people, acting_user=None)
        ScimGroup.objects.create(organization=org, team=team, external_id=external_id)
    audit.record(
        GovernanceAction.SCIM_GROUP_CREATED,
        actor=None,
        organization=org,
        target=team,
        after={
            "name": name,
            "external_id": external_id,
            "members": [p.pk for p in people],
            **_via(token),
        },
    )
    sync_roles(org, [p.pk for p in people])
    return team


@transaction.atomic
def do_scim_update_group(
    team: Team,
    *,
    display_name: str | None,
    external_id: str | None,
    members: Iterable[User] | None,
    token: ScimToken,
) -> Team:
    """PUT and PATCH /Groups/{id}: rename, and set the members (None: leave them)."""
    org = team.organization
    group = _group(org, team)
    after: dict[str, object] = {}
    before: dict[str, object] = {}
    if display_name is not None:
        name = display_name.strip()[:200]
        if not name:
            raise ActionError(_("A group needs a displayName."))
        if name != team.name:
            if (
                Team.objects.filter(organization=org, name__iexact=name)
                .exclude(pk=team.pk)
                .exists()
            ):
                raise ScimConflict(_("A team called %(name)s exists already.") % {"name": name})
            before["name"], after["name"] = team.name, name
            team.name = name
            team.save(update_fields=["name"])
    if external_id is not None and external_id != group.external_id:
        before["external_id"], after["external_id"] = group.external_id, external_id
        group.external_id = external_id
        group.save(update_fields=["external_id"])
    touched: set[int] = set()
    if members is not None:
        people = _active_members(org, members)
        current = set(team.members.values_list("pk", flat=True))
        wanted = {p.pk for p in people}
        if wanted != current:
            do_set_team_members(team, members=people, acting_user=None)
            touched = current ^ wanted
    if after:
        audit.record(
            GovernanceAction.SCIM_GROUP_UPDATED,
            actor=None,
            organization=org,
            target=team,
            before=before,
            after={**after, **_via(token)},
        )
    if touched:
        sync_roles(org, touched)
    return team


@transaction.atomic
def do_scim_delete_group(team: Team, *, token: ScimToken) -> None:
    """DELETE /Groups/{id}: the team is emptied and stops being a SCIM group. It stays, because
    approval steps and routing rules may name it."""
    org = team.organization
    group = _group(org, team)
    former = list(team.members.values_list("pk", flat=True))
    if former:
        do_set_team_members(team, members=[], acting_user=None)
    group.deleted_at = timezone.now()
    group.save(update_fields=["deleted_at"])
    audit.record(
        GovernanceAction.SCIM_GROUP_DELETED,
        actor=None,
        organization=org,
        target=team,
        before={"members": former},
        after=_via(token),
    )
    sync_roles(org, former)


@transaction.atomic
def do_set_group_role(team: Team, *, role: str, acting_user: User | None) -> ScimGroup:
    """Give the members SCIM manages in this team a role ("" : the team gives no role)."""
    org = team.organization
    require_org_perm(acting_user, org, "manage_members", _("map groups to roles"))
    if role and (role not in Role.values or role == Role.OWNER):
        raise ActionError(_("Groups can give any role except owner."))
    group = _group(org, team)
    if group.role != role:
        before = group.role
        group.role = role
        group.save(update_fields=["role"])
        audit.record(
            GovernanceAction.GROUP_ROLE_SET,
            actor=acting_user,
            organization=org,
            target=team,
            before={"role": before},
            after={"role": role},
        )
        sync_roles(org, team.members.values_list("pk", flat=True))
    return group
