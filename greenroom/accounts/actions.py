"""Every write of sign-in security: MFA, recovery codes, sessions, the organisation's policy, SSO.

Each runs in one transaction and writes its audit event there (core.audit). Organisation-wide
changes check the acting person's permission themselves, so the API, the CLI and views are held
to the same rule.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.accounts import mfa
from greenroom.accounts.models import (
    MfaDevice,
    RecoveryCode,
    SecurityPolicy,
    SignInMethod,
    SsoGroupMapping,
    SsoIdentity,
    SsoProtocol,
    SsoProvider,
    UserSession,
)
from greenroom.core import actions as core_actions
from greenroom.core import audit, vault
from greenroom.core.actions import ActionError
from greenroom.core.models import Brand, Membership, Organization, User
from greenroom.core.permissions import Role
from greenroom.core.restrict import Access


class AccountsAuditAction(models.TextChoices):
    MFA_ENROLMENT_STARTED = "mfa.enrolment_started"
    MFA_ENROLLED = "mfa.enrolled"
    MFA_DISABLED = "mfa.disabled"
    MFA_RESET = "mfa.reset_by_admin"
    MFA_CODE_REJECTED = "mfa.code_rejected"
    RECOVERY_CODE_USED = "mfa.recovery_code_used"
    RECOVERY_CODES_REGENERATED = "mfa.recovery_codes_regenerated"
    SESSION_REVOKED = "session.revoked"
    SESSIONS_REVOKED = "session.revoked_all"
    SESSION_IDLE_TIMEOUT = "session.idle_timeout"
    POLICY_CHANGED = "security.policy_changed"
    SSO_PROVIDER_SAVED = "sso.provider_saved"
    SSO_MAPPING_ADDED = "sso.mapping_added"
    SSO_MAPPING_REMOVED = "sso.mapping_removed"
    SSO_SIGN_IN = "sso.sign_in"
    SSO_SIGN_IN_REFUSED = "sso.sign_in_refused"
    SSO_USER_PROVISIONED = "sso.user_provisioned"


def _require_org_perm(org: Organization, user: User | None, perm: str) -> None:
    if user is not None and not Access.of(user).has_org_perm(org.pk, perm):
        raise ActionError(_("You may not change this organisation's sign-in settings."))


def _user_orgs(user: User) -> list[Organization]:
    return list(
        Organization.objects.filter(memberships__user=user, memberships__is_active=True).order_by(
            "pk"
        )
    )


def _record_for_person(
    action: str,
    user: User,
    *,
    acting_user: User | None,
    target: models.Model | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """File a person's own security event under each of their organisations (like sign-ins)."""
    orgs: list[Organization | None] = [*_user_orgs(user)] or [None]
    for org in orgs:
        audit.record(
            action,
            actor=acting_user,
            organization=org,
            target=target if target is not None else user,
            after=after,
        )


# --- MFA -------------------------------------------------------------------------------------


def confirmed_device(user: User) -> MfaDevice | None:
    device = MfaDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    return device


def device_secret(device: MfaDevice) -> str:
    return vault.unseal(
        bytes(device.secret_ciphertext), name=f"The authenticator key of {device.user}"
    )


@transaction.atomic
def do_start_mfa_enrolment(user: User, *, acting_user: User) -> tuple[MfaDevice, str]:
    """A new, unconfirmed authenticator key for `user`. Returns the device and the key."""
    if acting_user != user:
        raise ActionError(_("People set up their own authenticator."))
    existing = MfaDevice.objects.select_for_update().filter(user=user).first()
    if existing is not None and existing.is_confirmed:
        raise ActionError(
            _("Two-factor authentication is already on. Turn it off first to use a new device.")
        )
    secret = mfa.new_secret()
    if existing is None:
        device = MfaDevice.objects.create(user=user, secret_ciphertext=vault.seal(secret))
    else:
        device = existing
        device.secret_ciphertext = vault.seal(secret)
        device.created_at = timezone.now()
        device.last_used_step = 0
        device.save(update_fields=["secret_ciphertext", "created_at", "last_used_step"])
    _record_for_person(
        AccountsAuditAction.MFA_ENROLMENT_STARTED, user, acting_user=acting_user, target=device
    )
    return device, secret


def _new_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [mfa.new_recovery_code() for _ in range(mfa.RECOVERY_CODE_COUNT)]
    rows = []
    for code in codes:
        salt = secrets.token_hex(16)
        rows.append(
            RecoveryCode(user=user, salt=salt, code_hash=mfa.hash_recovery_code(code, salt))
        )
    RecoveryCode.objects.bulk_create(rows)
    return codes


def _accept_totp(device: MfaDevice, code: str, now: float | None = None) -> bool:
    """Accept `code` if it matches a step newer than the last one used; record that step.

    The conditional UPDATE makes two requests racing with the same code accept it only once.
    """
    step = mfa.matching_step(
        device_secret(device), mfa.normalise_code(code), after_step=device.last_used_step, now=now
    )
    if step is None:
        return False
    updated = MfaDevice.objects.filter(pk=device.pk, last_used_step__lt=step).update(
        last_used_step=step, last_used_at=timezone.now()
    )
    if updated:
        device.last_used_step = step
    return bool(updated)


@transaction.atomic
def do_confirm_mfa(user: User, *, code: str, acting_user: User) -> list[str]:
    """Turn MFA on once the person proves their app shows the right code.

    Returns the recovery codes, in plain text for this once only.
    """
    if acting_user != user:
        raise ActionError(_("People set up their own authenticator."))
    device = MfaDevice.objects.select_for_update().filter(user=user).first()
    if device is None:
        raise ActionError(_("Start again: no authenticator is being set up."))
    if device.is_confirmed:
        raise ActionError(_("Two-factor authentication is already on."))
    if not _accept_totp(device, code):
        raise ActionError(
            _(
                "That code is not right. Check that your phone's clock is set automatically "
                "and enter the code your app shows now."
            )
        )
    device.confirmed_at = timezone.now()
    device.save(update_fields=["confirmed_at"])
    codes = _new_recovery_codes(user)
    _record_for_person(
        AccountsAuditAction.MFA_ENROLLED,
        user,
        acting_user=acting_user,
        target=device,
        after={"recovery_codes": len(codes)},
    )
    return codes


class SecondFactor(models.TextChoices):
    TOTP = "totp"
    RECOVERY_CODE = "recovery_code"


@transaction.atomic
def do_verify_second_factor(
    user: User, *, code: str, now: float | None = None
) -> SecondFactor | None:
    """Check a sign-in's second factor: an authenticator code or an unused recovery code.

    Returns which kind was accepted, or None. A recovery code is spent here (single use); a
    rejected code is audited so repeated guessing shows up in the log.
    """
    device = confirmed_device(user)
    if device is None:
        return None
    normal = mfa.normalise_code(code)
    if mfa.looks_like_totp(normal):
        if _accept_totp(device, normal, now=now):
            return SecondFactor.TOTP
    elif mfa.looks_like_recovery_code(normal):
        for row in RecoveryCode.objects.filter(user=user, used_at__isnull=True):
            if secrets.compare_digest(row.code_hash, mfa.hash_recovery_code(normal, row.salt)):
                spent = RecoveryCode.objects.filter(pk=row.pk, used_at__isnull=True).update(
                    used_at=timezone.now()
                )
                if not spent:
                    break  # used by a concurrent request a moment ago
                left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
                _record_for_person(
                    AccountsAuditAction.RECOVERY_CODE_USED,
                    user,
                    acting_user=user,
                    after={"recovery_codes_left": left},
                )
                return SecondFactor.RECOVERY_CODE
    _record_for_person(AccountsAuditAction.MFA_CODE_REJECTED, user, acting_user=None)
    return None


@transaction.atomic
def do_regenerate_recovery_codes(user: User, *, acting_user: User) -> list[str]:
    """New recovery codes; every old one stops working. The caller has re-checked the person."""
    if acting_user != user:
        raise ActionError(_("People manage their own recovery codes."))
    if confirmed_device(user) is None:
        raise ActionError(_("Turn on two-factor authentication first."))
    codes = _new_recovery_codes(user)
    _record_for_person(
        AccountsAuditAction.RECOVERY_CODES_REGENERATED,
        user,
        acting_user=acting_user,
        after={"recovery_codes": len(codes)},
    )
    return codes


@transaction.atomic
def do_disable_mfa(user: User, *, acting_user: User) -> None:
    """Turn MFA off for oneself. The caller has re-checked the person (password or code)."""
    if acting_user != user:
        raise ActionError(_("People turn off their own two-factor authentication."))
    deleted = MfaDevice.objects.filter(user=user).delete()[0]
    RecoveryCode.objects.filter(user=user).delete()
    if deleted:
        _record_for_person(AccountsAuditAction.MFA_DISABLED, user, acting_user=acting_user)


@transaction.atomic
def do_reset_member_mfa(org: Organization, member: User, *, acting_user: User) -> None:
    """An admin removes a member's lost authenticator; the member enrols again at next sign-in."""
    _require_org_perm(org, acting_user, "manage_members")
    if not Membership.objects.filter(organization=org, user=member, is_active=True).exists():
        raise ActionError(_("That person is not a member of this organisation."))
    if member == acting_user:
        raise ActionError(_("Turn off your own two-factor authentication from your security page."))
    MfaDevice.objects.filter(user=member).delete()
    RecoveryCode.objects.filter(user=member).delete()
    audit.record(AccountsAuditAction.MFA_RESET, actor=acting_user, organization=org, target=member)
    _revoke_sessions(UserSession.objects.filter(user=member))


# --- Organisation policy ---------------------------------------------------------------------


def policy_of(org: Organization) -> SecurityPolicy:
    policy = SecurityPolicy.objects.filter(organization=org).first()
    return policy if policy is not None else SecurityPolicy(organization=org)


@transaction.atomic
def do_set_security_policy(
    org: Organization,
    *,
    mfa_required: bool,
    idle_timeout_minutes: int | None,
    acting_user: User | None,
) -> SecurityPolicy:
    """Change an organisation's sign-in rules (owners and admins)."""
    _require_org_perm(org, acting_user, "manage_org")
    if idle_timeout_minutes is not None and not 5 <= idle_timeout_minutes <= 24 * 60:
        raise ActionError(_("The idle time-out must be between 5 minutes and 24 hours."))
    policy, _created = SecurityPolicy.objects.select_for_update().get_or_create(organization=org)
    before = audit.snapshot(policy, ("mfa_required", "idle_timeout_minutes"))
    policy.mfa_required = mfa_required
    policy.idle_timeout_minutes = idle_timeout_minutes
    policy.updated_at = timezone.now()
    policy.save()
    audit.record(
        AccountsAuditAction.POLICY_CHANGED,
        actor=acting_user,
        organization=org,
        target=policy,
        before=before,
        after=audit.snapshot(policy, ("mfa_required", "idle_timeout_minutes")),
    )
    return policy


def mfa_required_for(user: User) -> bool:
    return SecurityPolicy.objects.filter(
        organization__memberships__user=user,
        organization__memberships__is_active=True,
        mfa_required=True,
    ).exists()


def token_needs_mfa(user: User, org: Organization | int) -> bool:
    """Whether `org` requires two-factor authentication and `user` has not met the rule, so their
    API tokens for `org` are refused: no confirmed authenticator, and they do not sign in
    through `org`'s single sign-on (whose identity provider applies its own, as for sessions).
    One query when the organisation does not require MFA (the usual case)."""
    org_id = org if isinstance(org, int) else org.pk
    if not SecurityPolicy.objects.filter(organization_id=org_id, mfa_required=True).exists():
        return False
    if confirmed_device(user) is not None:
        return False
    return not SsoIdentity.objects.filter(
        user=user, provider__organization_id=org_id, provider__enabled=True
    ).exists()


def idle_timeout_minutes_for(user: User) -> int:
    """The shortest idle time-out of the person's organisations, or the installation's."""
    overrides = SecurityPolicy.objects.filter(
        organization__memberships__user=user,
        organization__memberships__is_active=True,
        idle_timeout_minutes__isnull=False,
    ).values_list("idle_timeout_minutes", flat=True)
    return min([settings.SESSION_IDLE_TIMEOUT_MINUTES, *[m for m in overrides if m]])


# --- Sessions --------------------------------------------------------------------------------


def _session_store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore


def _revoke_sessions(rows: Iterable[UserSession]) -> int:
    store = _session_store()
    count = 0
    for row in list(rows):
        store(session_key=row.session_key).delete()
        row.delete()
        count += 1
    return count


@transaction.atomic
def do_revoke_session(session: UserSession, *, acting_user: User) -> None:
    """End one of one's own sessions: that browser is signed out at its next request."""
    if session.user_id != acting_user.pk:
        raise ActionError(_("That is not one of your sessions."))
    info = {"session": session.pk, "user_agent": session.user_agent[:120], "ip": session.ip}
    _revoke_sessions([session])
    _record_for_person(
        AccountsAuditAction.SESSION_REVOKED, acting_user, acting_user=acting_user, after=info
    )


@transaction.atomic
def do_revoke_other_sessions(user: User, *, keep_session_key: str, acting_user: User) -> int:
    if user != acting_user:
        raise ActionError(_("That is not one of your sessions."))
    count = _revoke_sessions(
        UserSession.objects.filter(user=user).exclude(session_key=keep_session_key)
    )
    _record_for_person(
        AccountsAuditAction.SESSIONS_REVOKED,
        user,
        acting_user=acting_user,
        after={"sessions": count, "kept_current": True},
    )
    return count


@transaction.atomic
def do_revoke_member_sessions(org: Organization, member: User, *, acting_user: User | None) -> int:
    """Sign a member out everywhere (a lost laptop, a suspected hijack)."""
    _require_org_perm(org, acting_user, "manage_members")
    if not Membership.objects.filter(organization=org, user=member).exists():
        raise ActionError(_("That person is not a member of this organisation."))
    count = _revoke_sessions(UserSession.objects.filter(user=member))
    audit.record(
        AccountsAuditAction.SESSIONS_REVOKED,
        actor=acting_user,
        organization=org,
        target=member,
        after={"sessions": count},
    )
    return count


@transaction.atomic
def do_record_idle_sign_out(user: User, *, idle_minutes: int) -> None:
    _record_for_person(
        AccountsAuditAction.SESSION_IDLE_TIMEOUT,
        user,
        acting_user=user,
        after={"idle_minutes": idle_minutes},
    )


# --- Single sign-on --------------------------------------------------------------------------

SSO_FIELDS = (
    "protocol",
    "enabled",
    "oidc_issuer",
    "oidc_client_id",
    "saml_idp_entity_id",
    "saml_idp_sso_url",
    "groups_claim",
    "default_role",
)
MAPPABLE_ROLES = [r for r in Role.values if r != Role.OWNER]


@transaction.atomic
def do_save_sso_provider(
    org: Organization,
    *,
    protocol: str,
    enabled: bool,
    oidc_issuer: str = "",
    oidc_client_id: str = "",
    oidc_client_secret: str = "",
    saml_idp_entity_id: str = "",
    saml_idp_sso_url: str = "",
    saml_idp_certificate: str = "",
    groups_claim: str = "groups",
    default_role: str = "",
    acting_user: User | None,
) -> SsoProvider:
    """Set up (or change) the organisation's identity provider.

    An empty `oidc_client_secret` keeps the stored one. The audit row records which fields
    changed and that the secret changed, never the secret.
    """
    _require_org_perm(org, acting_user, "manage_org")
    if protocol not in SsoProtocol.values:
        raise ActionError(_("Choose OpenID Connect or SAML 2.0."))
    if default_role and default_role not in MAPPABLE_ROLES:
        raise ActionError(_("Single sign-on cannot make anyone an owner."))
    provider = SsoProvider.objects.select_for_update().filter(organization=org).first()
    created = provider is None
    if provider is None:
        provider = SsoProvider(organization=org)
    before = None if created else audit.snapshot(provider, SSO_FIELDS)
    provider.protocol = protocol
    provider.oidc_issuer = oidc_issuer.strip().rstrip("/")
    provider.oidc_client_id = oidc_client_id.strip()
    provider.saml_idp_entity_id = saml_idp_entity_id.strip()
    provider.saml_idp_sso_url = saml_idp_sso_url.strip()
    if saml_idp_certificate.strip():
        provider.saml_idp_certificate = saml_idp_certificate.strip()
    provider.groups_claim = groups_claim.strip() or "groups"
    provider.default_role = default_role
    secret_changed = False
    if oidc_client_secret:
        provider.oidc_client_secret = core_actions.do_store_secret(
            org,
            name="sso:oidc:client_secret",
            value=oidc_client_secret,
            acting_user=acting_user,
        )
        secret_changed = True
    problem = _sso_problem(provider)
    if enabled and problem:
        raise ActionError(problem)
    provider.enabled = enabled
    provider.updated_at = timezone.now()
    provider.save()
    after: dict[str, Any] = audit.snapshot(provider, SSO_FIELDS)
    after["client_secret_changed"] = secret_changed
    after["certificate_set"] = bool(provider.saml_idp_certificate)
    audit.record(
        AccountsAuditAction.SSO_PROVIDER_SAVED,
        actor=acting_user,
        organization=org,
        target=provider,
        before=before,
        after=after,
    )
    return provider


def _sso_problem(provider: SsoProvider) -> str | None:
    if provider.protocol == SsoProtocol.OIDC:
        if not (provider.oidc_issuer and provider.oidc_client_id and provider.oidc_client_secret):
            return _("OpenID Connect needs the issuer, the client ID and the client secret.")
    elif not (
        provider.saml_idp_entity_id and provider.saml_idp_sso_url and provider.saml_idp_certificate
    ):
        return _("SAML needs the identity provider's entity ID, sign-in URL and certificate.")
    return None


@transaction.atomic
def do_add_sso_mapping(
    provider: SsoProvider,
    *,
    group: str,
    role: str,
    brands: Iterable[Brand] = (),
    acting_user: User | None,
) -> SsoGroupMapping:
    org = provider.organization
    _require_org_perm(org, acting_user, "manage_org")
    group = group.strip()
    if not group:
        raise ActionError(_("Name the identity provider's group."))
    if role not in MAPPABLE_ROLES:
        raise ActionError(_("Single sign-on cannot make anyone an owner."))
    brand_list = list(brands)
    if any(b.organization_id != org.pk for b in brand_list):
        raise ActionError(_("A brand belongs to another organisation."))
    if SsoGroupMapping.objects.filter(provider=provider, group=group).exists():
        raise ActionError(_("That group is mapped already; remove it first to change it."))
    last = provider.mappings.aggregate(models.Max("position"))["position__max"]
    mapping = SsoGroupMapping.objects.create(
        provider=provider, group=group, role=role, position=(last or 0) + 1
    )
    mapping.brands.set(brand_list)
    audit.record(
        AccountsAuditAction.SSO_MAPPING_ADDED,
        actor=acting_user,
        organization=org,
        target=mapping,
        after={"group": group, "role": role, "brands": [b.pk for b in brand_list]},
    )
    return mapping


@transaction.atomic
def do_remove_sso_mapping(mapping: SsoGroupMapping, *, acting_user: User | None) -> None:
    org = mapping.provider.organization
    _require_org_perm(org, acting_user, "manage_org")
    audit.record(
        AccountsAuditAction.SSO_MAPPING_REMOVED,
        actor=acting_user,
        organization=org,
        target=mapping,
        before={"group": mapping.group, "role": mapping.role},
    )
    mapping.delete()


@dataclass(frozen=True)
class SsoClaims:
    """What an identity provider vouched for, after its signature and conditions were checked."""

    subject: str
    email: str
    name: str
    groups: tuple[str, ...]
    method: str  # SignInMethod.SSO_OIDC or SSO_SAML


class SsoRefused(ActionError):
    """The identity provider signed the person in but Greenroom will not (no role, a clash)."""


def role_for_groups(provider: SsoProvider, groups: Iterable[str]) -> tuple[str, list[Brand]] | None:
    have = set(groups)
    for mapping in provider.mappings.prefetch_related("brands"):
        if mapping.group in have:
            return mapping.role, list(mapping.brands.all())
    if provider.default_role:
        return provider.default_role, []
    return None


def _unique_username(email: str, subject: str) -> str:
    base = (email or subject)[:140]
    username, n = base, 1
    while User.objects.filter(username__iexact=username).exists():
        n += 1
        username = f"{base}-{n}"
    return username


def _find_or_create_person(provider: SsoProvider, claims: SsoClaims) -> tuple[User, bool]:
    identity = (
        SsoIdentity.objects.select_related("user")
        .filter(provider=provider, subject=claims.subject)
        .first()
    )
    if identity is not None:
        return identity.user, False
    org = provider.organization
    user: User | None = None
    if claims.email:
        existing = User.objects.filter(email__iexact=claims.email).first()
        if existing is not None:
            # Link an existing account only if it is this organisation's alone: another
            # organisation's identity provider must never be able to sign someone in elsewhere.
            other_orgs = (
                Membership.objects.filter(user=existing, is_active=True)
                .exclude(organization=org)
                .exists()
            )
            in_org = Membership.objects.filter(user=existing, organization=org).exists()
            if other_orgs or not in_org or existing.is_staff or existing.is_superuser:
                raise SsoRefused(
                    _(
                        "An account with the address %(email)s already exists. Ask an "
                        "administrator of %(org)s to link it."
                    )
                    % {"email": claims.email, "org": org.name}
                )
            user = existing
    created = False
    if user is None:
        user = core_actions.do_create_user(
            username=_unique_username(claims.email, claims.subject),
            email=claims.email,
            password=None,
            display_name=claims.name[:150],
            acting_user=None,
        )
        created = True
    SsoIdentity.objects.create(provider=provider, user=user, subject=claims.subject)
    return user, created


def do_sso_sign_in(provider: SsoProvider, claims: SsoClaims) -> User:
    """The person an identity provider vouched for, provisioned and given their mapped role.

    Just-in-time: someone new gets an account and a membership; someone known gets the role
    their groups map to now (so a change in the identity provider shows up at next sign-in).
    Refuses (SsoRefused, audited) when no group maps to a role or the account cannot be linked.
    """
    try:
        return _sso_sign_in(provider, claims)
    except SsoRefused as refusal:
        _record_sso_refusal(provider, claims, reason=str(refusal))
        raise


@transaction.atomic
def _record_sso_refusal(provider: SsoProvider, claims: SsoClaims, *, reason: str) -> None:
    audit.record(
        AccountsAuditAction.SSO_SIGN_IN_REFUSED,
        actor=None,
        organization=provider.organization,
        target=provider,
        after={"subject": claims.subject[:200], "email": claims.email[:200], "reason": reason},
    )


@transaction.atomic
def _sso_sign_in(provider: SsoProvider, claims: SsoClaims) -> User:
    org = provider.organization
    mapped = role_for_groups(provider, claims.groups)
    if mapped is None:
        raise SsoRefused(
            _(
                "Your identity provider signed you in, but none of your groups gives a role in "
                "%(org)s. Ask its administrators to add you to a mapped group."
            )
            % {"org": org.name}
        )
    role, brands = mapped
    user, created = _find_or_create_person(provider, claims)
    if not user.is_active:
        raise SsoRefused(_("This account is deactivated."))
    if created:
        audit.record(
            AccountsAuditAction.SSO_USER_PROVISIONED,
            actor=None,
            organization=org,
            target=user,
            after={"username": user.username, "role": role},
        )
    membership = Membership.objects.filter(organization=org, user=user).first()
    if membership is None or not membership.is_active:
        core_actions.do_add_member(org, user, role, brands=brands, acting_user=None)
    elif membership.role == Role.OWNER:
        pass  # owners are named in Greenroom, never demoted by a group change
    else:
        current = (membership.role, sorted(b.pk for b in membership.brands.all()))
        if current != (role, sorted(b.pk for b in brands)):
            core_actions.do_change_role(membership, role=role, brands=brands, acting_user=None)
    changed = {"email": claims.email} if claims.email and claims.email != user.email else {}
    if changed:
        user.email = claims.email
        user.save(update_fields=["email"])
    SsoIdentity.objects.filter(provider=provider, subject=claims.subject).update(
        last_login_at=timezone.now()
    )
    audit.record(
        AccountsAuditAction.SSO_SIGN_IN,
        actor=user,
        organization=org,
        target=user,
        after={
            "protocol": provider.protocol,
            "groups": list(claims.groups)[:50],
            "role": membership.role if membership and membership.role == Role.OWNER else role,
            "provisioned": created,
        },
    )
    return user


def sign_in_method_label(method: str) -> str:
    return str(dict(SignInMethod.choices).get(method, method))
