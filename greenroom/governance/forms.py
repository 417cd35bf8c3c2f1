"""Forms of the governance pages. Choices of people and brands come from the view, already
restricted to the current organisation."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from greenroom.core.forms import MemberChoiceField
from greenroom.core.models import Brand, ChannelStatus, Team, User
from greenroom.core.permissions import Role
from greenroom.governance.inventory import GAP_LABELS
from greenroom.governance.models import TwoFactorMethod


class FastSelect(forms.Select):
    """A <select> rendered in Python: Django renders each option through a template, which
    costs about a millisecond per option, and a filter offering 500 people has 500 options."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        chosen = {str(v) for v in self.format_value(value)}
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        options = format_html_join(
            "",
            "{}",
            (
                (
                    format_html('<option value="{}" selected>{}</option>', key, label)
                    if str(key) in chosen
                    else format_html('<option value="{}">{}</option>', key, label),
                )
                for key, label in self.choices
            ),
        )
        return format_html("<select{}>{}</select>", flatatt(final), options)


def _people(form: forms.Form, members: QuerySet[User], *names: str) -> None:
    for name in names:
        field = form.fields[name]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = members


class InventoryFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    brand = forms.ModelChoiceField(
        label=_("Brand"),
        queryset=Brand.objects.none(),
        required=False,
        empty_label=_("All brands"),
        widget=FastSelect,
    )
    network = forms.ChoiceField(label=_("Network"), required=False, widget=FastSelect)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *ChannelStatus.choices],
        widget=FastSelect,
    )
    gap = forms.ChoiceField(
        label=_("Gap"),
        required=False,
        choices=[("", _("Any")), ("any", _("Any gap")), *GAP_LABELS.items()],
        widget=FastSelect,
    )
    person = MemberChoiceField(
        label=_("Person"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Anyone"),
        widget=FastSelect,
        help_text=_("Channels this person owns, backs up or administers on the network."),
    )

    def __init__(
        self,
        *args: Any,
        brands: QuerySet[Brand],
        networks: list[tuple[str, str]],
        members: QuerySet[User],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        brand = self.fields["brand"]
        assert isinstance(brand, forms.ModelChoiceField)
        brand.queryset = brands
        network = self.fields["network"]
        assert isinstance(network, forms.ChoiceField)
        network.choices = [("", _("All networks")), *networks]
        _people(self, members, "person")


class NativeAdminForm(forms.Form):
    user = MemberChoiceField(
        label=_("Greenroom person"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Not a Greenroom user"),
    )
    name = forms.CharField(
        label=_("Name"),
        required=False,
        max_length=200,
        help_text=_("For someone outside Greenroom (an agency, a former colleague)."),
    )
    email = forms.EmailField(label=_("Email"), required=False)
    network_role = forms.CharField(
        label=_("Role on the network"),
        required=False,
        max_length=100,
        help_text=_("As the network calls it: Admin, Editor, Full control, Super admin ..."),
    )
    knows_password = forms.BooleanField(
        label=_("Knows the account's password (a shared login)"), required=False
    )

    def __init__(self, *args: Any, members: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _people(self, members, "user")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not (data.get("user") or data.get("name") or data.get("email")):
            raise forms.ValidationError(_("Choose a person, or give a name or an email address."))
        return data


class RecoveryForm(forms.Form):
    recovery_email = forms.EmailField(
        label=_("Recovery email"),
        required=False,
        help_text=_("Use a shared mailbox of the organisation, never a person's own address."),
    )
    recovery_email_controller = MemberChoiceField(
        label=_("Who reads it"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody recorded"),
    )
    recovery_phone = forms.CharField(label=_("Recovery phone"), required=False, max_length=32)
    recovery_phone_controller = MemberChoiceField(
        label=_("Who holds the phone"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody recorded"),
    )
    two_factor_method = forms.ChoiceField(
        label=_("Two-factor method"), required=False, choices=TwoFactorMethod.choices
    )
    two_factor_holder = MemberChoiceField(
        label=_("Who holds the two-factor device"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody recorded"),
    )

    def __init__(self, *args: Any, members: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _people(
            self,
            members,
            "recovery_email_controller",
            "recovery_phone_controller",
            "two_factor_holder",
        )


class OffboardForm(forms.Form):
    successor = MemberChoiceField(
        label=_("Hand their channels and approvals to"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody: each channel's backup takes over"),
    )
    conversations_to = MemberChoiceField(
        label=_("Hand their open conversations to"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody: back to the unassigned queue"),
    )
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
    confirm = forms.BooleanField(
        label=_("I understand: this signs them out and takes away their access now."),
        required=True,
    )

    def __init__(self, *args: Any, members: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _people(self, members, "successor", "conversations_to")


class ChecklistDoneForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class ScimTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("The identity provider that will use it, e.g. Okta or Entra ID."),
    )


class GroupRoleForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    role = forms.ChoiceField(
        required=False,
        choices=[("", _("No role")), *[(v, label) for v, label in Role.choices if v != Role.OWNER]],
    )

    def __init__(self, *args: Any, teams: QuerySet[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team = self.fields["team"]
        assert isinstance(team, forms.ModelChoiceField)
        team.queryset = teams


class SettingsForm(forms.Form):
    mail_domains = forms.CharField(
        label=_("The organisation's mail domains"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "One per line or comma-separated. Recovery addresses elsewhere count as personal. "
            "Empty: taken from the members' addresses."
        ),
    )
    token_warning_days = forms.IntegerField(
        label=_("Warn about tokens expiring within (days)"), min_value=1, max_value=365
    )
    inactive_days = forms.IntegerField(
        label=_("Call a channel inactive after (days)"), min_value=7, max_value=3650
    )
    scim_default_role = forms.ChoiceField(
        label=_("Role for people SCIM creates"),
        choices=[(v, label) for v, label in Role.choices if v != Role.OWNER],
    )
    scim_successor = MemberChoiceField(
        label=_("Successor when SCIM deactivates someone"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("Nobody: backups take over, conversations go back to the queue"),
    )

    def __init__(self, *args: Any, members: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _people(self, members, "scim_successor")

    def domains(self) -> list[str]:
        return [d for d in re.split(r"[\s,;]+", self.cleaned_data["mail_domains"]) if d]
