"""Governance: what Greenroom knows about each channel's custody beyond owner and backup (native
admins on the network, recovery email and phone, the 2FA device), offboarding records with their
native-network checklist, and SCIM provisioning (tokens, identities, groups).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import Channel, Organization, Team, User
from greenroom.core.permissions import Role
from greenroom.core.restrict import RestrictedManager

DEFAULT_TOKEN_WARNING_DAYS = 14
DEFAULT_INACTIVE_DAYS = 90


class GovernanceSettings(models.Model):
    """Per organisation: how gaps are judged and who receives what SCIM deactivations leave."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="governance_settings"
    )
    # The organisation's own mail domains. A recovery address there that is not a person's own
    # is a shared (role) mailbox; empty: inferred from the members' addresses.
    mail_domains = models.JSONField(_("mail domains"), default=list, blank=True)
    token_warning_days = models.PositiveIntegerField(
        _("warn about tokens expiring within (days)"), default=DEFAULT_TOKEN_WARNING_DAYS
    )
    inactive_days = models.PositiveIntegerField(
        _("call a channel inactive after (days)"), default=DEFAULT_INACTIVE_DAYS
    )
    scim_default_role = models.CharField(
        _("role for people SCIM creates"),
        max_length=32,
        choices=Role.choices,
        default=Role.CONTRIBUTOR,
    )
    # When SCIM deactivates someone nobody names a successor: this person receives their
    # channels, conversations and approvals. None: backups take over and conversations go back
    # to the queue.
    scim_successor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("successor when SCIM deactivates someone"),
    )
    updated_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["GovernanceSettings"]()

    def __str__(self) -> str:
        return f"governance settings of {self.organization}"


class NativeAdminSource(models.TextChoices):
    RECORDED = "recorded", _("Recorded")
    NETWORK = "network", _("Read from the network")


class NativeAdmin(models.Model):
    """Someone with admin rights on the network itself (a Page admin in Meta Business Manager, a
    LinkedIn page super admin, whoever knows the X password): rights Greenroom cannot revoke."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = "channel"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="native_admins")
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"), blank=True)
    # The Greenroom person this is, when they are one (offboarding finds them through it).
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="native_admin_of"
    )
    network_role = models.CharField(_("role on the network"), max_length=100, blank=True)
    # A shared login rather than a personal admin seat: the password must change when they go.
    knows_password = models.BooleanField(_("knows the account password"), default=False)
    source = models.CharField(
        max_length=16, choices=NativeAdminSource.choices, default=NativeAdminSource.RECORDED
    )
    recorded_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RestrictedManager["NativeAdmin"]()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} on {self.channel}"

    @property
    def is_greenroom_user(self) -> bool:
        return self.user_id is not None


class TwoFactorMethod(models.TextChoices):
    UNKNOWN = "", _("Not recorded")
    NONE = "none", _("None")
    APP = "app", _("Authenticator app")
    SMS = "sms", _("Text message")
    KEY = "key", _("Security key")
    EMAIL = "email", _("Email code")


class ChannelRecovery(models.Model):
    """How the account is recovered and who holds what that takes."""

    restrict_org = "channel__organization"
    restrict_channel: ClassVar[str | None] = "channel"

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="recovery")
    recovery_email = models.EmailField(_("recovery email"), blank=True)
    recovery_email_controller = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who reads the recovery email"),
    )
    recovery_phone = models.CharField(_("recovery phone"), max_length=32, blank=True)
    recovery_phone_controller = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who holds the recovery phone"),
    )
    two_factor_method = models.CharField(
        _("two-factor method"), max_length=16, choices=TwoFactorMethod.choices, blank=True
    )
    two_factor_holder = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who holds the two-factor device"),
    )
    updated_at = models.DateTimeField(default=tz.now)
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RestrictedManager["ChannelRecovery"]()

    def __str__(self) -> str:
        return f"recovery of {self.channel}"


class OffboardingSource(models.TextChoices):
    PAGE = "page", _("Person's page")
    API = "api", _("API")
    SCIM = "scim", _("SCIM (identity provider)")


class Offboarding(models.Model):
    """One person taken out of an organisation in one action, with what it did."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="offboardings"
    )
    # Copied so the report reads the same if the account is renamed or deleted.
    person_name = models.CharField(max_length=200)
    person_email = models.CharField(max_length=254, blank=True)
    role = models.CharField(max_length=32, choices=Role.choices)
    successor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who received the open conversations; None: the unassigned queue.
    conversations_to = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=16, choices=OffboardingSource.choices)
    reason = models.TextField(_("reason"), blank=True)
    started_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_by_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=tz.now)
    took_ms = models.PositiveIntegerField(default=0)

    objects = RestrictedManager["Offboarding"]()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"offboarding of {self.person_name}"


class StepKind(models.TextChoices):
    SESSIONS = "sessions", _("Sessions signed out")
    API_TOKENS = "api_tokens", _("API tokens revoked")
    CONVERSATIONS = "conversations", _("Open conversations reassigned")
    APPROVALS = "approvals", _("Pending approvals reassigned")
    CHANNELS = "channels", _("Owner and backup roles moved")
    GRANTS = "grants", _("Channel grants removed")
    TEAMS = "teams", _("Removed from teams")
    MEMBERSHIP = "membership", _("Membership ended")
    ACCOUNT = "account", _("Account deactivated")
    CHECKLIST = "checklist", _("Native-network checklist")


class OffboardingStep(models.Model):
    restrict_org = "offboarding__organization"
    restrict_channel: ClassVar[str | None] = None

    offboarding = models.ForeignKey(Offboarding, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=32, choices=StepKind.choices)
    count = models.PositiveIntegerField(default=0)
    # What exactly happened (ids, what went where), read by the report page and the API.
    detail = models.JSONField(default=dict, blank=True)

    objects = RestrictedManager["OffboardingStep"]()

    class Meta:
        ordering = ["offboarding_id", "position"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.count}"


class ChecklistKind(models.TextChoices):
    REMOVE_NATIVE_ADMIN = "remove_native_admin", _("Remove their admin rights on the network")
    ROTATE_PASSWORD = "rotate_password", _("Change the shared password they knew")
    MOVE_TWO_FACTOR = "move_two_factor", _("Move the two-factor device")
    CHANGE_RECOVERY_EMAIL = "change_recovery_email", _("Change the recovery email")
    CHANGE_RECOVERY_PHONE = "change_recovery_phone", _("Change the recovery phone")
    FIX_APPROVAL_STEP = "fix_approval_step", _("Give an approval step enough approvers")
    FIX_ROUTING_RULE = "fix_routing_rule", _("Change a routing rule that assigns to them")


class ChecklistItem(models.Model):
    """Something only a person can do, outside Greenroom, tracked until someone ticks it off."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = "channel"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    offboarding = models.ForeignKey(Offboarding, on_delete=models.CASCADE, related_name="checklist")
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    native_admin = models.ForeignKey(
        NativeAdmin, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=ChecklistKind.choices)
    # Names of what the item is about (an approval step, a routing rule), copied.
    detail = models.JSONField(default=dict, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_by_name = models.CharField(max_length=200, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = RestrictedManager["ChecklistItem"]()

    class Meta:
        ordering = ["offboarding_id", "channel_id", "pk"]
        indexes = [models.Index(fields=["organization", "done_at"], name="gov_checklist_open")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.offboarding.person_name})"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class ScimToken(models.Model):
    """The bearer token an identity provider uses for one organisation. Only its SHA-256 is kept;
    the token is shown once, when an owner or admin creates it."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=24)
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager["ScimToken"]()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class ScimIdentity(models.Model):
    """A person as the organisation's identity provider knows them."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="scim_identities")
    external_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=tz.now)
    updated_at = models.DateTimeField(default=tz.now)
    # Set by DELETE /Users/{id}: the resource is gone for SCIM (404) until it is created again.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager["ScimIdentity"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="scim_identity_unique")
        ]
        indexes = [models.Index(fields=["organization", "external_id"], name="scim_identity_ext")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.external_id or 'no external id'})"


class ScimGroup(models.Model):
    """A team as the identity provider's group, and the role its members get (if any)."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="scim")
    external_id = models.CharField(max_length=255, blank=True)
    # Members provisioned through SCIM get this role (the strongest of their groups'); blank:
    # the group says nothing about roles.
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    created_at = models.DateTimeField(default=tz.now)
    # Set by DELETE /Groups/{id}: the team stays (approval steps and routing may name it) but is
    # emptied and no longer a SCIM group.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager["ScimGroup"]()

    def __str__(self) -> str:
        return f"SCIM group {self.team}"
