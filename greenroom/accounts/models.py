"""Sign-in security: MFA devices and recovery codes, sessions, organisation policy and SSO.

A person's TOTP key is sealed with the vault (it belongs to no organisation, so it lives on the
device row rather than in `Secret`); recovery codes are stored as salted hashes only. SSO
providers belong to an organisation; their client secret is a `Secret`.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone as tz
from django.utils.translation import gettext_lazy as _

from greenroom.core.models import Brand, Organization, Secret, User
from greenroom.core.permissions import Role
from greenroom.core.restrict import RestrictedManager


class MfaDevice(models.Model):
    """A person's authenticator app (TOTP, RFC 6238). Unconfirmed until a first code is given."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="mfa_device")
    # The base32 key, sealed by core.vault; never rendered after enrolment.
    secret_ciphertext = models.BinaryField()
    created_at = models.DateTimeField(default=tz.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The newest 30-second step whose code was accepted: that code and older ones are refused,
    # so a code seen over someone's shoulder cannot be used again.
    last_used_step = models.BigIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        state = "confirmed" if self.confirmed_at else "pending"
        return f"authenticator of {self.user} ({state})"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class RecoveryCode(models.Model):
    """One single-use recovery code, kept as SHA-256 over a per-code salt and the code."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    salt = models.CharField(max_length=32)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=tz.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code #{self.pk} of {self.user}"


class SignInMethod(models.TextChoices):
    PASSWORD = "password", _("Password")
    PASSWORD_MFA = "password_mfa", _("Password and authenticator")
    RECOVERY_CODE = "recovery_code", _("Password and recovery code")
    SSO_OIDC = "sso_oidc", _("Single sign-on (OpenID Connect)")
    SSO_SAML = "sso_saml", _("Single sign-on (SAML)")


class UserSession(models.Model):
    """One signed-in browser of one person, so they (and admins) can see and end it.

    Written by `SessionTrackingMiddleware`; revoking deletes the session itself from the session
    store, whatever SESSION_ENGINE is.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tracked_sessions")
    session_key = models.CharField(max_length=64, unique=True)
    user_agent = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    method = models.CharField(max_length=16, choices=SignInMethod.choices, blank=True)
    created_at = models.DateTimeField(default=tz.now)
    last_seen_at = models.DateTimeField(default=tz.now)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"session #{self.pk} of {self.user}"


class SecurityPolicy(models.Model):
    """An organisation's sign-in rules. No row means the defaults (no MFA rule, global idle)."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="security_policy"
    )
    mfa_required = models.BooleanField(_("require two-factor authentication"), default=False)
    # None: settings.SESSION_IDLE_TIMEOUT_MINUTES.
    idle_timeout_minutes = models.PositiveIntegerField(
        _("sign out after this many idle minutes"), null=True, blank=True
    )
    updated_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["SecurityPolicy"]()

    def __str__(self) -> str:
        return f"security policy of {self.organization}"


class SsoProtocol(models.TextChoices):
    OIDC = "oidc", _("OpenID Connect")
    SAML = "saml", _("SAML 2.0")


class SsoProvider(models.Model):
    """An organisation's identity provider. One per organisation."""

    restrict_org = "organization"
    restrict_channel: ClassVar[str | None] = None

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="sso_provider"
    )
    protocol = models.CharField(_("protocol"), max_length=8, choices=SsoProtocol.choices)
    enabled = models.BooleanField(_("enabled"), default=False)
    # OpenID Connect
    oidc_issuer = models.URLField(_("issuer"), blank=True)
    oidc_client_id = models.CharField(_("client ID"), max_length=300, blank=True)
    oidc_client_secret = models.ForeignKey(
        Secret, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # SAML 2.0
    saml_idp_entity_id = models.CharField(
        _("identity provider entity ID"), max_length=500, blank=True
    )
    saml_idp_sso_url = models.URLField(_("identity provider sign-in URL"), blank=True)
    saml_idp_certificate = models.TextField(_("identity provider signing certificate"), blank=True)
    # Where the person's groups are: an ID token claim or a SAML attribute.
    groups_claim = models.CharField(
        _("groups claim or attribute"), max_length=200, default="groups"
    )
    # Blank: a person none of whose groups is mapped is refused.
    default_role = models.CharField(
        _("role when no group matches"), max_length=32, choices=Role.choices, blank=True
    )
    updated_at = models.DateTimeField(default=tz.now)

    objects = RestrictedManager["SsoProvider"]()

    def __str__(self) -> str:
        return f"{self.get_protocol_display()} for {self.organization}"


class SsoGroupMapping(models.Model):
    """An identity-provider group that gives a role, over all brands or only some.

    Mappings are read in `position` order; the first whose group the person is in decides.
    """

    restrict_org = "provider__organization"
    restrict_channel: ClassVar[str | None] = None

    provider = models.ForeignKey(SsoProvider, on_delete=models.CASCADE, related_name="mappings")
    group = models.CharField(_("group"), max_length=300)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    brands = models.ManyToManyField(Brand, blank=True, related_name="+")
    position = models.PositiveIntegerField(default=0)

    objects = RestrictedManager["SsoGroupMapping"]()

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "group"], name="sso_mapping_unique_group")
        ]

    def __str__(self) -> str:
        return f"{self.group} -> {self.role}"


class SsoIdentity(models.Model):
    """Which person an identity provider's subject is, once they have signed in."""

    restrict_org = "provider__organization"
    restrict_channel: ClassVar[str | None] = None

    provider = models.ForeignKey(SsoProvider, on_delete=models.CASCADE, related_name="identities")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sso_identities")
    subject = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=tz.now)
    last_login_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedManager["SsoIdentity"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="sso_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.subject} at {self.provider}"
