"""Every write to tenancy, people, access, tokens and the vault goes through these functions.

Each runs in one transaction, writes its audit event in that transaction, and takes the acting
user as a keyword-only argument (None means the system itself, e.g. a scheduled job).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from greenroom.core import audit, vault
from greenroom.core.models import (
    ApiToken,
    Brand,
    Channel,
    ChannelGrant,
    ChannelStatus,
    Membership,
    Organization,
    Secret,
    Team,
    User,
)
from greenroom.core.permissions import ChannelPerm, Role
from greenroom.core.restrict import forget_access


class AuditAction(models.TextChoices):
    ORG_CREATED = "org.created"
    ORG_UPDATED = "org.updated"
    BRAND_CREATED = "brand.created"
    CHANNEL_CREATED = "channel.created"
    CHANNEL_UPDATED = "channel.updated"
    CHANNEL_CREDENTIALS_SET = "channel.credentials_set"
    USER_CREATED = "user.created"
    USER_PREFERENCES = "user.preferences_changed"
    MEMBER_ADDED = "member.added"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_DEACTIVATED = "member.deactivated"
    GRANT_ADDED = "grant.added"
    GRANT_REMOVED = "grant.removed"
    TEAM_CREATED = "team.created"
    TEAM_MEMBERS_SET = "team.members_set"
    SECRET_STORED = "secret.stored"
    VAULT_ROTATED = "vault.rotated"
    TOKEN_CREATED = "api_token.created"
    TOKEN_REVOKED = "api_token.revoked"
    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGIN_THROTTLED = "auth.login_throttled"
    LOGOUT = "auth.logout"
    PASSWORD_CHANGED = "auth.password_changed"
    AUDIT_EXPORTED = "audit.exported"


class ActionError(Exception):
    """A request that cannot be carried out, with a message for the person who asked."""


# Which network kinds a channel may have is the networks app's knowledge; it registers this check
# when it loads (NetworksConfig.ready), so core never imports networks. Returns a problem or None.
channel_kind_problem: Callable[[str, bool], str | None] | None = None


CHANNEL_FIELDS = (
    "name",
    "handle",
    "kind",
    "sandboxed",
    "external_id",
    "brand",
    "region",
    "timezone",
    "owner",
    "backup",
    "status",
)


def _unique_slug(model: type[models.Model], base: str, **scope: Any) -> str:
    root = slugify(base)[:40] or "item"
    slug, n = root, 1
    while model._default_manager.filter(slug=slug, **scope).exists():
        n += 1
        slug = f"{root}-{n}"
    return slug


@transaction.atomic
def do_create_user(
    *,
    username: str,
    email: str,
    password: str | None,
    display_name: str = "",
    timezone_name: str = "UTC",
    language: str = "en",
    acting_user: User | None,
) -> User:
    """Create a person (no organisation yet; add a membership for that)."""
    if User.objects.filter(username__iexact=username).exists():
        raise ActionError(f"The username {username!r} is taken.")
    user = User(
        username=username,
        email=email,
        display_name=display_name,
        timezone=timezone_name,
        language=language,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit.record(
        AuditAction.USER_CREATED,
        actor=acting_user,
        organization=None,
        target=user,
        after=audit.snapshot(user, ("username", "email", "display_name")),
    )
    return user


@transaction.atomic
def do_update_preferences(
    user: User, *, language: str, timezone_name: str, acting_user: User
) -> User:
    before = audit.snapshot(user, ("language", "timezone"))
    user.language, user.timezone = language, timezone_name
    user.save(update_fields=["language", "timezone"])
    audit.record(
        AuditAction.USER_PREFERENCES,
        actor=acting_user,
        organization=None,
        target=user,
        before=before,
        after=audit.snapshot(user, ("language", "timezone")),
    )
    return user


@transaction.atomic
def do_create_organization(
    *,
    name: str,
    owner: User,
    timezone_name: str = "UTC",
    languages: Iterable[str] = ("en", "ko"),
    acting_user: User | None,
) -> Organization:
    """Create an organisation with `owner` as its first owner."""
    org = Organization.objects.create(
        name=name,
        slug=_unique_slug(Organization, name),
        timezone=timezone_name,
        languages=list(languages),
    )
    audit.record(
        AuditAction.ORG_CREATED,
        actor=acting_user,
        organization=org,
        target=org,
        after=audit.snapshot(org, ("name", "slug", "timezone", "languages")),
    )
    do_add_member(org, owner, Role.OWNER, acting_user=acting_user)
    return org


@transaction.atomic
def do_create_brand(org: Organization, *, name: str, acting_user: User | None) -> Brand:
    brand = Brand.objects.create(
        organization=org, name=name, slug=_unique_slug(Brand, name, organization=org)
    )
    audit.record(
        AuditAction.BRAND_CREATED,
        actor=acting_user,
        organization=org,
        target=brand,
        after=audit.snapshot(brand, ("name", "slug")),
    )
    return brand


def _check_channel_people(org: Organization, *people: User | None) -> None:
    for person in people:
        if (
            person is not None
            and not Membership.objects.filter(
                organization=org, user=person, is_active=True
            ).exists()
        ):
            raise ActionError(f"{person} is not a member of {org}.")


@transaction.atomic
def do_create_channel(
    org: Organization,
    *,
    brand: Brand,
    kind: str,
    handle: str,
    name: str = "",
    sandboxed: bool = False,
    external_id: str = "",
    region: str = "",
    timezone_name: str = "UTC",
    owner: User | None = None,
    backup: User | None = None,
    acting_user: User | None,
) -> Channel:
    """Add a channel (one account on one network) to a brand."""
    if channel_kind_problem is None:
        raise RuntimeError("the networks app has not registered its channel kind check")
    problem = channel_kind_problem(kind, sandboxed)
    if problem:
        raise ActionError(problem)
    if brand.organization_id != org.pk:
        raise ActionError("The brand belongs to another organisation.")
    _check_channel_people(org, owner, backup)
    if owner is not None and owner == backup:
        raise ActionError("A channel's backup must be someone other than its owner.")
    if Channel.objects.filter(organization=org, kind=kind, handle=handle).exists():
        raise ActionError(f"{handle} on {kind} is already a channel of {org}.")
    channel = Channel.objects.create(
        organization=org,
        brand=brand,
        kind=kind,
        handle=handle,
        name=name or handle,
        sandboxed=sandboxed,
        external_id=external_id,
        region=region,
        timezone=timezone_name,
        owner=owner,
        backup=backup,
    )
    audit.record(
        AuditAction.CHANNEL_CREATED,
        actor=acting_user,
        organization=org,
        target=channel,
        after=audit.snapshot(channel, CHANNEL_FIELDS),
    )
    return channel


@transaction.atomic
def do_update_channel(channel: Channel, *, acting_user: User | None, **changes: Any) -> Channel:
    """Change a channel's details (owner, backup, region, status ...)."""
    unknown = set(changes) - set(CHANNEL_FIELDS) - {"external_id"}
    if unknown or "kind" in changes:
        raise ActionError(
            f"These channel fields cannot be changed: {sorted(unknown | {'kind'} & set(changes))}"
        )
    if "status" in changes and changes["status"] not in ChannelStatus.values:
        raise ActionError(f"Unknown channel status {changes['status']!r}.")
    org = channel.organization
    _check_channel_people(org, changes.get("owner"), changes.get("backup"))
    brand = changes.get("brand")
    if brand is not None and brand.organization_id != org.pk:
        raise ActionError("The brand belongs to another organisation.")
    before = audit.snapshot(channel, CHANNEL_FIELDS)
    for key, value in changes.items():
        setattr(channel, key, value)
    if channel.owner_id is not None and channel.owner_id == channel.backup_id:
        raise ActionError("A channel's backup must be someone other than its owner.")
    channel.save()
    audit.record(
        AuditAction.CHANNEL_UPDATED,
        actor=acting_user,
        organization=org,
        target=channel,
        before=before,
        after=audit.snapshot(channel, CHANNEL_FIELDS),
    )
    return channel


@transaction.atomic
def do_store_secret(
    org: Organization,
    *,
    name: str,
    value: str,
    expires_at: datetime | None = None,
    hint: str | None = None,
    acting_user: User | None,
) -> Secret:
    """Encrypt and store (or replace) a secret. The audit row records that it changed, not what.

    `hint` is what people may see to tell secrets apart; by default the value's last characters.
    Pass the hint of the token itself when `value` bundles several (access and refresh tokens).
    """
    secret, created = Secret.objects.select_for_update().get_or_create(
        organization=org, name=name, defaults={"ciphertext": b""}
    )
    secret.ciphertext = vault.seal(value)
    secret.hint = hint if hint is not None else vault.hint_for(value)
    secret.expires_at = expires_at
    if not created:
        secret.rotated_at = timezone.now()
    secret.save()
    audit.record(
        AuditAction.SECRET_STORED,
        actor=acting_user,
        organization=org,
        target=secret,
        after={
            "name": name,
            "replaced": not created,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return secret


@transaction.atomic
def do_set_channel_credentials(
    channel: Channel,
    *,
    token: str,
    expires_at: datetime | None = None,
    hint: str | None = None,
    acting_user: User | None,
) -> Channel:
    secret = do_store_secret(
        channel.organization,
        name=f"channel:{channel.pk}:token",
        value=token,
        expires_at=expires_at,
        hint=hint,
        acting_user=acting_user,
    )
    channel.credentials = secret
    channel.save(update_fields=["credentials"])
    audit.record(
        AuditAction.CHANNEL_CREDENTIALS_SET,
        actor=acting_user,
        organization=channel.organization,
        target=channel,
        after={"secret": secret.pk},
    )
    return channel


@transaction.atomic
def do_add_member(
    org: Organization,
    user: User,
    role: str,
    *,
    brands: Iterable[Brand] = (),
    acting_user: User | None,
) -> Membership:
    if role not in Role.values:
        raise ActionError(f"Unknown role {role!r}.")
    brand_list = list(brands)
    if any(b.organization_id != org.pk for b in brand_list):
        raise ActionError("A brand belongs to another organisation.")
    membership, created = Membership.objects.get_or_create(
        organization=org, user=user, defaults={"role": role}
    )
    if not created:
        if membership.is_active:
            raise ActionError(f"{user} is already a member of {org}.")
        membership.role, membership.is_active = role, True
        membership.save(update_fields=["role", "is_active"])
    membership.brands.set(brand_list)
    forget_access(user)
    audit.record(
        AuditAction.MEMBER_ADDED,
        actor=acting_user,
        organization=org,
        target=membership,
        after={"user": user.pk, "role": role, "brands": [b.pk for b in brand_list]},
    )
    return membership


def _owners_left(org: Organization, excluding: Membership) -> bool:
    return (
        Membership.objects.filter(organization=org, role=Role.OWNER, is_active=True)
        .exclude(pk=excluding.pk)
        .exists()
    )


@transaction.atomic
def do_change_role(
    membership: Membership,
    *,
    role: str,
    brands: Iterable[Brand] | None = None,
    acting_user: User | None,
) -> Membership:
    if role not in Role.values:
        raise ActionError(f"Unknown role {role!r}.")
    org = membership.organization
    if membership.role == Role.OWNER and role != Role.OWNER and not _owners_left(org, membership):
        raise ActionError(
            "An organisation needs at least one owner: make someone else owner first."
        )
    before = {"role": membership.role, "brands": sorted(b.pk for b in membership.brands.all())}
    membership.role = role
    membership.save(update_fields=["role"])
    if brands is not None:
        brand_list = list(brands)
        if any(b.organization_id != org.pk for b in brand_list):
            raise ActionError("A brand belongs to another organisation.")
        membership.brands.set(brand_list)
    forget_access(membership.user)
    audit.record(
        AuditAction.MEMBER_ROLE_CHANGED,
        actor=acting_user,
        organization=org,
        target=membership,
        before=before,
        after={"role": role, "brands": sorted(b.pk for b in membership.brands.all())},
    )
    return membership


@transaction.atomic
def do_deactivate_membership(membership: Membership, *, acting_user: User | None) -> Membership:
    org = membership.organization
    if membership.role == Role.OWNER and not _owners_left(org, membership):
        raise ActionError(
            "An organisation needs at least one owner: make someone else owner first."
        )
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    removed = ChannelGrant.objects.filter(channel__organization=org, user=membership.user).delete()[
        0
    ]
    forget_access(membership.user)
    audit.record(
        AuditAction.MEMBER_DEACTIVATED,
        actor=acting_user,
        organization=org,
        target=membership,
        before={"role": membership.role},
        after={"active": False, "grants_removed": removed},
    )
    return membership


@transaction.atomic
def do_grant_channel_permission(
    channel: Channel, user: User, permission: str, *, acting_user: User | None
) -> ChannelGrant:
    if permission not in ChannelPerm.values:
        raise ActionError(f"Unknown channel permission {permission!r}.")
    _check_channel_people(channel.organization, user)
    grant, created = ChannelGrant.objects.get_or_create(
        channel=channel, user=user, permission=permission, defaults={"granted_by": acting_user}
    )
    if created:
        forget_access(user)
        audit.record(
            AuditAction.GRANT_ADDED,
            actor=acting_user,
            organization=channel.organization,
            target=grant,
            after={"channel": channel.pk, "user": user.pk, "permission": permission},
        )
    return grant


@transaction.atomic
def do_revoke_channel_permission(grant: ChannelGrant, *, acting_user: User | None) -> None:
    channel = grant.channel
    before = {"channel": channel.pk, "user": grant.user_id, "permission": grant.permission}
    audit.record(
        AuditAction.GRANT_REMOVED,
        actor=acting_user,
        organization=channel.organization,
        target=grant,
        before=before,
    )
    grant.delete()
    forget_access(grant.user)


@transaction.atomic
def do_create_team(
    org: Organization,
    *,
    name: str,
    lead: User | None = None,
    members: Iterable[User] = (),
    acting_user: User | None,
) -> Team:
    people = list(members)
    _check_channel_people(org, lead, *people)
    if Team.objects.filter(organization=org, name=name).exists():
        raise ActionError(f"{org} already has a team called {name!r}.")
    team = Team.objects.create(organization=org, name=name, lead=lead)
    team.members.set(people)
    audit.record(
        AuditAction.TEAM_CREATED,
        actor=acting_user,
        organization=org,
        target=team,
        after={"name": name, "lead": lead.pk if lead else None, "members": [p.pk for p in people]},
    )
    return team


@transaction.atomic
def do_set_team_members(team: Team, *, members: Iterable[User], acting_user: User | None) -> Team:
    people = list(members)
    _check_channel_people(team.organization, *people)
    before = sorted(team.members.values_list("pk", flat=True))
    team.members.set(people)
    audit.record(
        AuditAction.TEAM_MEMBERS_SET,
        actor=acting_user,
        organization=team.organization,
        target=team,
        before={"members": before},
        after={"members": sorted(p.pk for p in people)},
    )
    return team


TOKEN_PREFIX = "grn_"


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@transaction.atomic
def do_create_api_token(
    user: User,
    org: Organization,
    *,
    name: str,
    scopes: Iterable[str],
    expires_at: datetime | None = None,
    acting_user: User,
) -> tuple[ApiToken, str]:
    """Create a personal access token. Returns the row and the plaintext, shown only once."""
    scope_list = sorted(set(scopes))
    if not scope_list or any(s not in ("read", "write") for s in scope_list):
        raise ActionError("Scopes must be 'read', 'write' or both.")
    if not Membership.objects.filter(organization=org, user=user, is_active=True).exists():
        raise ActionError(f"{user} is not a member of {org}.")
    if acting_user != user:
        raise ActionError("People create their own tokens.")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        organization=org,
        user=user,
        name=name,
        prefix=plaintext[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_token(plaintext),
        scopes=scope_list,
        expires_at=expires_at,
    )
    audit.record(
        AuditAction.TOKEN_CREATED,
        actor=acting_user,
        organization=org,
        target=token,
        after={"name": name, "scopes": scope_list, "prefix": token.prefix},
    )
    return token, plaintext


@transaction.atomic
def do_revoke_api_token(token: ApiToken, *, acting_user: User | None) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            AuditAction.TOKEN_REVOKED,
            actor=acting_user,
            organization=token.organization,
            target=token,
            after={"prefix": token.prefix},
        )
    return token


@transaction.atomic
def do_rotate_vault(*, acting_user: User | None) -> int:
    count = vault.rotate()
    audit.record(
        AuditAction.VAULT_ROTATED, actor=acting_user, organization=None, after={"secrets": count}
    )
    return count


@transaction.atomic
def do_record_auth_event(
    action: str, *, user: User | None, username: str = "", organization: Organization | None = None
) -> None:
    """Sign-ins, sign-outs and failures go into the audit log like any other action.

    The event is filed under every organisation the person belongs to (failed attempts too, when
    the username is known), so each organisation's auditors see sign-ins to their accounts.
    """
    person = user
    if person is None and username:
        person = User.objects.filter(username__iexact=username).first()
    if organization is not None:
        orgs: list[Organization | None] = [organization]
    elif person is not None:
        orgs = list(
            Organization.objects.filter(
                memberships__user=person, memberships__is_active=True
            ).order_by("pk")
        ) or [None]
    else:
        orgs = [None]
    for org in orgs:
        audit.record(
            action,
            actor=user,
            organization=org,
            target=person,
            after={"username": username} if username else None,
        )


@transaction.atomic
def do_set_password(user: User, *, password: str, how: str, acting_user: User | None) -> User:
    """Set a person's password (changed while signed in, or reset through an emailed link).

    The audit row says that and how it changed, never the password or its hash.
    """
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(
        AuditAction.PASSWORD_CHANGED,
        actor=acting_user,
        organization=None,
        target=user,
        after={"how": how},
    )
    return user


@transaction.atomic
def do_record_audit_export(
    org: Organization, *, filters: dict[str, str], acting_user: User
) -> None:
    """Exporting the audit log is itself recorded: who took a copy, and of which rows."""
    audit.record(
        AuditAction.AUDIT_EXPORTED,
        actor=acting_user,
        organization=org,
        target=org,
        after={"filters": {k: v for k, v in sorted(filters.items()) if v}},
    )
