"""The API tokens page (/settings/tokens/): list, create (shown once), revoke.

The plaintext of a new token is rendered in the response to the POST that created it and
nowhere else: not in the session, not after a redirect, and the page is marked no-store so a
browser's back button or cache cannot bring it back.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from greenroom.core import actions
from greenroom.core.models import ApiToken, Organization, User
from greenroom.core.restrict import RestrictedQuerySet
from greenroom.core.tenancy import current_org_or_none

from .forms import ApiTokenForm


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required
    return user


def _my_tokens(user: User, org: Organization) -> RestrictedQuerySet[ApiToken]:
    return ApiToken.objects.restrict(user, "view_org").filter(organization=org, user=user)


@never_cache
@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    org = current_org_or_none(request)
    if org is None:
        return render(request, "api/tokens.html", {"org": None})
    created: tuple[ApiToken, str] | None = None
    if request.method == "POST":
        form = ApiTokenForm(request.POST)
        if form.is_valid():
            try:
                created = actions.do_create_api_token(
                    user,
                    org,
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.expires_at(),
                    acting_user=user,
                )
            except actions.ActionError as exc:
                form.add_error(None, str(exc))
            else:
                form = ApiTokenForm()
    else:
        form = ApiTokenForm()
    context = {
        "org": org,
        "form": form,
        "tokens": _my_tokens(user, org).order_by("-created_at", "-pk"),
        "new_token": created[0] if created else None,
        "new_token_plaintext": created[1] if created else None,
    }
    return render(request, "api/tokens.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
def revoke_api_token(request: HttpRequest, token_id: int) -> HttpResponse:
    user = _user(request)
    org = current_org_or_none(request)
    token = get_object_or_404(
        _my_tokens(user, org) if org else ApiToken.objects.none(), pk=token_id
    )
    actions.do_revoke_api_token(token, acting_user=user)
    messages.success(
        request,
        gettext("Token “%(name)s” revoked: scripts using it stop working now.")
        % {"name": token.name},
    )
    return redirect("api_tokens")
