"""Tenancy (Organization -> Brand -> Channel), people and access, the audit log and the vault."""

from __future__ import annotations

import zoneinfo
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from greenroom.core.permissions import ChannelPerm, Role
from greenroom.core.restrict import RestrictedManager

TIMEZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class User(AbstractUser):
    """A person. Tenancy comes from memberships; a user may belong to several organisations."""

    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="UTC", choices=TIMEZONE_CHOICES
    )
    language = models.CharField(
        _("language"), max_length=8, default="en", choices=[("en", "English"), ("ko", "한국어")]
    )

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def name(self) -> str:
        return str(self)


class Organization(models.Model):
    restrict_org = "pk"
    restrict_channel: ClassVar[str | None] = None

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(unique=True)
    timezone = models.CharField(max_length=64, default="UTC", choices=TIMEZONE_CHOICES)
    # Languages the organisation's audience writes in; language detection is restricted to them.
    languages = models.JSONField(default=list)
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["Organization"]()

    def __str__(self) -> str:
        return self.name


class Brand(models.Model):
    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="brands")
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField()
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["Brand"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="brand_unique_slug")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChannelStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    NEEDS_RECONNECT = "needs_reconnect", _("Needs reconnecting")
    PAUSED = "paused", _("Paused")
    ARCHIVED = "archived", _("Archived")


class Channel(models.Model):
    """One connected account on one network."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = ""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="channels"
    )
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="channels")
    # The network whose rules apply (x, instagram, ...): drives validation and rendering.
    kind = models.CharField(_("network"), max_length=32)
    # Sandbox-backed channels behave like `kind` but talk to Greenroom's own sandbox network.
    sandboxed = models.BooleanField(default=False)
    name = models.CharField(_("name"), max_length=200)
    handle = models.CharField(_("handle"), max_length=200)
    external_id = models.CharField(_("external id"), max_length=200, blank=True)
    region = models.CharField(_("region"), max_length=64, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", choices=TIMEZONE_CHOICES)
    owner = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_channels"
    )
    backup = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="backup_channels"
    )
    status = models.CharField(
        max_length=32, choices=ChannelStatus.choices, default=ChannelStatus.ACTIVE
    )
    credentials = models.ForeignKey(
        "core.Secret", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["Channel"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "kind", "handle"], name="channel_unique_handle"
            )
        ]
        ordering = ["brand__name", "kind", "handle"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Membership(models.Model):
    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    # Empty: the role applies to every brand. Otherwise only to these brands' channels.
    brands = models.ManyToManyField(Brand, blank=True, related_name="+")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["Membership"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} as {self.get_role_display()}"


class ChannelGrant(models.Model):
    """One channel permission given to one person on one channel, beyond their role."""

    restrict_org = "channel__organization"
    restrict_channel: ClassVar[str | None] = "channel"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="channel_grants")
    permission = models.CharField(max_length=16, choices=ChannelPerm.choices)
    granted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["ChannelGrant"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "user", "permission"], name="grant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.permission} on {self.channel} for {self.user}"


class Team(models.Model):
    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=200)
    lead = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(User, blank=True, related_name="teams")
    created_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["Team"]()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="team_unique")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AuditChainHead(models.Model):
    """A single row holding the newest audit hash; writers lock it so the chain stays linear."""

    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_event_id}"


class AuditEvent(models.Model):
    """An append-only, hash-chained record of one action."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=tz.now, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Copied so the record survives the person being deleted or renamed.
    actor_name = models.CharField(max_length=200)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = RestrictedManager["AuditEvent"]()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["organization", "-id"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("audit events are append-only")


class Secret(models.Model):
    """An encrypted value in the vault (network tokens, app credentials).

    Only greenroom.core.vault reads `ciphertext`; nothing renders it.
    """

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=200)
    ciphertext = models.BinaryField()
    # Safe to show: when the secret expires and a non-secret hint ("…x9Qa").
    expires_at = models.DateTimeField(null=True, blank=True)
    hint = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(default=tz.now)
    rotated_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager["Secret"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="secret_unique_name")
        ]

    def __str__(self) -> str:
        return f"secret {self.name}"

    def __repr__(self) -> str:
        return f"<Secret {self.pk} {self.name}>"


class ApiTokenScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Write")


class ApiToken(models.Model):
    """A personal access token. Only its SHA-256 is stored; the token is shown once."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=tz.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager["ApiToken"]()

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = tz.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class WorkerHeartbeat(models.Model):
    """Written by beat through a worker every few seconds; /healthz reads its age."""

    name = models.CharField(max_length=100, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} seen {self.seen_at:%Y-%m-%d %H:%M:%S}"
