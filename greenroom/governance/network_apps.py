"""The network apps page: owners and admins enter the app credentials each network's developer
console gave them (stored in the vault, never shown back) and read the addresses to register
there (the OAuth redirect URL and the webhook URL)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache

from greenroom.core.actions import ActionError
from greenroom.core.models import Organization
from greenroom.core.templatetags.greenroom import network_name
from greenroom.core.tenancy import current_org, has_org_perm
from greenroom.governance.views import _nav, _user
from greenroom.networks import network_api
from greenroom.networks.app_credentials import NetworkApp, network_app, statuses

MAX_LENGTH = 1000


class NetworkAppForm(forms.Form):
    """One network's app credentials; a blank field keeps what is stored."""

    def __init__(self, app: NetworkApp, *args: Any, **kwargs: Any) -> None:
        kwargs["prefix"] = app.kind
        super().__init__(*args, **kwargs)
        self.app = app
        for f in app.fields:
            attrs = {"autocomplete": "off", "spellcheck": "false"}
            widget: forms.Widget = (
                forms.PasswordInput(attrs={**attrs, "autocomplete": "new-password"})
                if f.secret
                else forms.TextInput(attrs=attrs)
            )
            self.fields[f.name] = forms.CharField(
                label=str(f.label), required=False, max_length=MAX_LENGTH, widget=widget, strip=True
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name, value in list(cleaned.items()):
            if value and any(ch.isspace() for ch in value):
                self.add_error(
                    name,
                    gettext_lazy(
                        "This value contains spaces; copy it again from the developer console."
                    ),
                )
        if not self.errors and not any(cleaned.values()):
            raise forms.ValidationError(
                gettext_lazy("Enter at least one value; blank fields keep what is stored.")
            )
        return cleaned

    def values(self) -> dict[str, str]:
        return {name: value for name, value in self.cleaned_data.items() if value}


def _require_vault(request: HttpRequest) -> Organization:
    org = current_org(request)
    if not has_org_perm(request, org, "manage_vault"):
        raise Http404("No such page.")
    return org


@never_cache
@login_required
def network_apps(request: HttpRequest) -> HttpResponse:
    """Every network app of the organisation; POST saves one network's values."""
    org = _require_vault(request)
    bound: NetworkAppForm | None = None
    if request.method == "POST":
        app = network_app(request.POST.get("network", ""))
        if app is None:
            raise Http404("No such network.")
        bound = NetworkAppForm(app, request.POST)
        if bound.is_valid():
            try:
                network_api.do_set_app_credentials(
                    org, app.kind, acting_user=_user(request), **bound.values()
                )
            except ActionError as error:
                bound.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    gettext("The %(network)s app's credentials are saved in the vault.")
                    % {"network": network_name(app.kind)},
                )
                return redirect(f"{request.path}#app-{app.kind}")
    apps = []
    for status in statuses(request, org):
        form = bound if bound is not None and bound.app == status.app else None
        form = form or NetworkAppForm(status.app)
        rows = [(form[stored.field.name], stored) for stored in status.fields]
        apps.append({"status": status, "form": form, "rows": rows})
    return render(
        request,
        "governance/network_apps.html",
        {"org": org, "apps": apps, "tab": "network_apps", **_nav(request, org)},
        status=400 if bound is not None and bound.errors else 200,
    )
