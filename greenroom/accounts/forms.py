from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from greenroom.accounts.actions import MAPPABLE_ROLES, confirmed_device
from greenroom.accounts.models import SsoProtocol
from greenroom.core.auth_views import ThrottledAdminAuthenticationForm
from greenroom.core.models import Brand, Organization
from greenroom.core.permissions import Role

ROLE_CHOICES = [(value, label) for value, label in Role.choices if value in MAPPABLE_ROLES]


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
        help_text=_("The six digits your authenticator app shows, or one of your recovery codes."),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your app"),
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class ReauthForm(forms.Form):
    """Proof that the person at the keyboard is the account's owner, for risky changes."""

    password = forms.CharField(
        label=_("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        required=False,
    )
    code = forms.CharField(
        label=_("Authenticator or recovery code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def __init__(self, *args: Any, needs_password: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # People who sign in only through single sign-on have no password to give.
        self.fields["password"].required = needs_password


class PolicyForm(forms.Form):
    mfa_required = forms.BooleanField(
        label=_("Require two-factor authentication"),
        required=False,
        help_text=_(
            "People without it are sent to set it up on every page until they do. Sign-ins "
            "through your single sign-on provider count: it applies its own rules."
        ),
    )
    idle_timeout_minutes = forms.IntegerField(
        label=_("Sign out after this many idle minutes"),
        required=False,
        min_value=5,
        max_value=24 * 60,
        help_text=_("Empty: the installation's default."),
    )


class SsoProviderForm(forms.Form):
    protocol = forms.ChoiceField(label=_("Protocol"), choices=SsoProtocol.choices)
    enabled = forms.BooleanField(label=_("Allow sign-in through this provider"), required=False)
    oidc_issuer = forms.URLField(label=_("Issuer URL"), required=False, assume_scheme="https")
    oidc_client_id = forms.CharField(label=_("Client ID"), required=False, max_length=300)
    oidc_client_secret = forms.CharField(
        label=_("Client secret"),
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text=_("Stored encrypted in the vault. Leave empty to keep the stored secret."),
    )
    saml_idp_entity_id = forms.CharField(
        label=_("Identity provider entity ID"), required=False, max_length=500
    )
    saml_idp_sso_url = forms.URLField(
        label=_("Identity provider sign-in URL"), required=False, assume_scheme="https"
    )
    saml_idp_certificate = forms.CharField(
        label=_("Identity provider signing certificate (PEM)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("Leave empty to keep the stored certificate."),
    )
    groups_claim = forms.CharField(
        label=_("Groups claim or attribute"), max_length=200, initial="groups"
    )
    default_role = forms.ChoiceField(
        label=_("Role when no group matches"),
        choices=[("", _("Nobody: refuse the sign-in")), *ROLE_CHOICES],
        required=False,
    )

    def clean_saml_idp_certificate(self) -> str:
        value: str = self.cleaned_data.get("saml_idp_certificate", "").strip()
        if value:
            from cryptography import x509

            body = value
            if "BEGIN CERTIFICATE" not in body:
                body = "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----"
            try:
                x509.load_pem_x509_certificate(body.encode())
            except ValueError as exc:
                raise forms.ValidationError(
                    _("This is not a PEM certificate. Paste the -----BEGIN CERTIFICATE----- block.")
                ) from exc
        return value


class MappingForm(forms.Form):
    group = forms.CharField(label=_("Identity provider group"), max_length=300)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES)
    brands = forms.ModelMultipleChoiceField(
        label=_("Only these brands"),
        queryset=Brand.objects.none(),
        required=False,
        help_text=_("None chosen: every brand."),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        brands: Any = self.fields["brands"]
        brands.queryset = Brand.objects.filter(organization=organization)


class SsoChooseForm(forms.Form):
    organization = forms.SlugField(
        label=_("Organisation sign-in name"),
        help_text=_("Your administrator can tell you: it is part of your organisation's address."),
    )


class AdminAuthenticationForm(ThrottledAdminAuthenticationForm):
    """The operators' admin asks for no second factor, so people with one sign in at /login/
    (which does) and come back."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        user = self.get_user()
        if user is not None and confirmed_device(user) is not None:
            raise forms.ValidationError(
                _(
                    "Your account uses two-factor authentication: sign in on Greenroom's sign-in "
                    "page, then open the operator admin."
                ),
                code="mfa_required",
            )
        return data
