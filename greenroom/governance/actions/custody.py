"""Recording who holds each channel on the network itself: native admins, the recovery email and
phone, the two-factor device; and the organisation's governance settings."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.core import audit
from greenroom.core.actions import ActionError
from greenroom.core.models import Channel, Membership, Organization, User
from greenroom.core.permissions import Role
from greenroom.governance.models import (
    ChannelRecovery,
    GovernanceSettings,
    NativeAdmin,
    NativeAdminSource,
    TwoFactorMethod,
)

from .common import GovernanceAction, check_member, require_channel_perm, require_org_perm

RECOVERY_FIELDS = (
    "recovery_email",
    "recovery_email_controller",
    "recovery_phone",
    "recovery_phone_controller",
    "two_factor_method",
    "two_factor_holder",
)
SETTINGS_FIELDS = (
    "mail_domains",
    "token_warning_days",
    "inactive_days",
    "scim_default_role",
    "scim_successor",
)
_PHONE = re.compile(r"^\+?[0-9][0-9 ()./-]{3,30}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def settings_of(org: Organization) -> GovernanceSettings:
    """The organisation's settings; the defaults (unsaved) until someone changes them."""
    found = GovernanceSettings.objects.filter(organization=org).first()
    return found if found is not None else GovernanceSettings(organization=org)


def _member_with_email(org: Organization, email: str) -> User | None:
    if not email:
        return None
    return (
        User.objects.filter(
            email__iexact=email, memberships__organization=org, memberships__is_active=True
        )
        .order_by("pk")
        .first()
    )


@transaction.atomic
def do_record_native_admin(
    channel: Channel,
    *,
    name: str = "",
    email: str = "",
    user: User | None = None,
    network_role: str = "",
    knows_password: bool = False,
    source: str = NativeAdminSource.RECORDED,
    acting_user: User | None,
) -> NativeAdmin:
    """Record someone who has admin rights on the channel's account on the network itself.

    A Greenroom member is linked by name or by their email address, so offboarding them later
    puts this channel on their checklist."""
    require_channel_perm(acting_user, channel, "administer", _("record its native admins"))
    org = channel.organization
    email = email.strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ActionError(
                _("%(email)s is not an email address.") % {"email": email[:60]}
            ) from None
    if user is not None:
        if not Membership.objects.filter(organization=org, user=user).exists():
            raise ActionError(
                _("%(person)s is not a member of %(org)s.") % {"person": user, "org": org}
            )
    else:
        user = _member_with_email(org, email)
    name = name.strip() or (user.name if user is not None else "") or email
    if not name:
        raise ActionError(_("Give the admin's name or email address."))
    if source not in NativeAdminSource.values:
        raise ActionError(_("Unknown source %(source)r.") % {"source": source})
    current = NativeAdmin.objects.filter(channel=channel, removed_at__isnull=True)
    if (user is not None and current.filter(user=user).exists()) or (
        email and current.filter(email__iexact=email).exists()
    ):
        raise ActionError(
            _("%(name)s is already recorded as an admin of %(channel)s.")
            % {"name": name, "channel": channel.name}
        )
    admin = NativeAdmin.objects.create(
        organization=org,
        channel=channel,
        name=name[:200],
        email=email,
        user=user,
        network_role=network_role.strip()[:100],
        knows_password=knows_password,
        source=source,
        recorded_by=acting_user,
    )
    audit.record(
        GovernanceAction.NATIVE_ADMIN_RECORDED,
        actor=acting_user,
        organization=org,
        target=admin,
        after={
            "channel": channel.pk,
            "user": user.pk if user else None,
            "email": email,
            "network_role": admin.network_role,
            "knows_password": knows_password,
            "source": source,
        },
    )
    return admin


def _mark_removed(admins: Iterable[NativeAdmin], acting_user: User | None) -> list[audit.Entry]:
    now = timezone.now()
    entries = []
    for admin in admins:
        if admin.removed_at is not None:
            continue
        admin.removed_at, admin.removed_by = now, acting_user
        admin.save(update_fields=["removed_at", "removed_by"])
        entries.append(
            audit.Entry(
                GovernanceAction.NATIVE_ADMIN_REMOVED,
                admin.organization,
                target=admin,
                before={"channel": admin.channel_id, "user": admin.user_id},
            )
        )
    return entries


@transaction.atomic
def do_remove_native_admin(admin: NativeAdmin, *, acting_user: User | None) -> NativeAdmin:
    """Record that someone no longer has admin rights on the network (they were removed there)."""
    require_channel_perm(acting_user, admin.channel, "administer", _("change its native admins"))
    audit.record_many(_mark_removed([admin], acting_user), actor=acting_user)
    return admin


@transaction.atomic
def do_save_recovery(
    channel: Channel,
    *,
    recovery_email: str,
    recovery_email_controller: User | None,
    recovery_phone: str,
    recovery_phone_controller: User | None,
    two_factor_method: str,
    two_factor_holder: User | None,
    acting_user: User | None,
) -> ChannelRecovery:
    """Record how the channel's account is recovered and who holds what that takes."""
    require_channel_perm(acting_user, channel, "administer", _("change its recovery details"))
    org = channel.organization
    for person, what in (
        (recovery_email_controller, _("the recovery email's reader")),
        (recovery_phone_controller, _("the recovery phone's holder")),
        (two_factor_holder, _("the two-factor device's holder")),
    ):
        check_member(org, person, what=str(what))
    phone = recovery_phone.strip()
    if phone and not _PHONE.match(phone):
        raise ActionError(
            _(
                "%(phone)s is not a phone number: use digits, spaces and dashes, "
                "e.g. +82 2 1234 5678."
            )
            % {"phone": phone[:40]}
        )
    if two_factor_method not in TwoFactorMethod.values:
        raise ActionError(
            _("Unknown two-factor method %(method)r.") % {"method": two_factor_method}
        )
    recovery = ChannelRecovery.objects.select_for_update().filter(channel=channel).first()
    if recovery is None:
        recovery = ChannelRecovery(channel=channel)
        before = None
    else:
        before = audit.snapshot(recovery, RECOVERY_FIELDS)
    recovery.recovery_email = recovery_email.strip().lower()
    recovery.recovery_email_controller = recovery_email_controller
    recovery.recovery_phone = phone
    recovery.recovery_phone_controller = recovery_phone_controller
    recovery.two_factor_method = two_factor_method
    recovery.two_factor_holder = two_factor_holder
    recovery.updated_at = timezone.now()
    recovery.updated_by = acting_user
    if recovery.recovery_email:
        try:
            validate_email(recovery.recovery_email)
        except ValidationError:
            raise ActionError(
                _("%(email)s is not an email address.") % {"email": recovery.recovery_email[:60]}
            ) from None
    recovery.save()
    audit.record(
        GovernanceAction.RECOVERY_SAVED,
        actor=acting_user,
        organization=org,
        target=channel,
        before=before,
        after=audit.snapshot(recovery, RECOVERY_FIELDS),
    )
    return recovery


def clean_domains(domains: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().lstrip("@")
        if not domain:
            continue
        if not _DOMAIN.match(domain):
            raise ActionError(
                _("%(domain)s is not a mail domain (e.g. acme.com).") % {"domain": domain[:60]}
            )
        if domain not in cleaned:
            cleaned.append(domain)
    return cleaned


@transaction.atomic
def do_save_settings(
    org: Organization,
    *,
    mail_domains: Iterable[str],
    token_warning_days: int,
    inactive_days: int,
    scim_default_role: str,
    scim_successor: User | None,
    acting_user: User | None,
) -> GovernanceSettings:
    """Change how gaps are judged and what SCIM gives new and departing people."""
    require_org_perm(acting_user, org, "manage_org", _("change governance settings"))
    if not 1 <= token_warning_days <= 365:
        raise ActionError(_("Warn about tokens between 1 and 365 days ahead."))
    if not 7 <= inactive_days <= 3650:
        raise ActionError(_("Call a channel inactive after 7 to 3650 days."))
    if scim_default_role not in Role.values or scim_default_role == Role.OWNER:
        raise ActionError(_("SCIM cannot make people owners; choose another role."))
    check_member(org, scim_successor, what=str(_("the successor")))
    found = GovernanceSettings.objects.select_for_update().filter(organization=org).first()
    current = found if found is not None else GovernanceSettings(organization=org)
    before = audit.snapshot(current, SETTINGS_FIELDS) if found is not None else None
    current.mail_domains = clean_domains(mail_domains)
    current.token_warning_days = token_warning_days
    current.inactive_days = inactive_days
    current.scim_default_role = scim_default_role
    current.scim_successor = scim_successor
    current.updated_at = timezone.now()
    current.save()
    audit.record(
        GovernanceAction.SETTINGS_SAVED,
        actor=acting_user,
        organization=org,
        target=current,
        before=before,
        after=audit.snapshot(current, SETTINGS_FIELDS),
    )
    return current
