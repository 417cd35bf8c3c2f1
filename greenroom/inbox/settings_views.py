"""The inbox settings page: saved replies, availability, business hours, SLA policies and rules.

Reads go through `restrict(user, ...)` inside the current organisation; anything out of scope is
a 404. Organisation-wide settings need manage_org, the same rule as the API and the actions.
Writes go through inbox.actions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from greenroom.core.actions import ActionError
from greenroom.core.models import TIMEZONE_CHOICES, Organization, Team, User
from greenroom.core.tenancy import channel_perms, require_section
from greenroom.inbox import actions
from greenroom.inbox.forms import HoursForm
from greenroom.inbox.models import (
    AgentProfile,
    BusinessHours,
    ConversationKind,
    Priority,
    RoutingRule,
    SavedReply,
    Sentiment,
    SlaPolicy,
)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _can_configure(request: HttpRequest, org: Organization) -> bool:
    # Saved replies, SLA policies and routing rules are organisation-wide settings: manage_org,
    # the same rule as the API and the actions (administering one channel is not enough).
    return "manage_org" in channel_perms(request, org)


@login_required
def inbox_settings(request: HttpRequest) -> HttpResponse:
    """Saved replies, my availability, and (for those who configure) SLA policies and rules."""
    org = require_section(request, "inbox")
    user = _user(request)
    can_configure = _can_configure(request, org)
    if request.method == "POST" and request.POST.get("form") == "hours":
        return _save_business_hours(request, org, user)
    if request.method == "POST":
        form = request.POST.get("form", "")
        try:
            if form == "availability":
                capacity = request.POST.get("capacity", "")
                actions.do_set_agent(
                    org,
                    user,
                    status=request.POST.get("status") or None,
                    capacity=int(capacity) if capacity.isdigit() else None,
                    acting_user=user,
                )
            elif form == "saved_reply" and can_configure:
                actions.do_save_saved_reply(
                    org,
                    title=request.POST.get("title", ""),
                    body=request.POST.get("body", ""),
                    acting_user=user,
                )
            elif form == "policy" and can_configure:
                actions.do_save_sla_policy(
                    org,
                    name=request.POST.get("name", "") or _("SLA policy"),
                    first_response_minutes=int(request.POST.get("first_response_minutes") or 1440),
                    priority=request.POST.get("priority", ""),
                    kind=request.POST.get("kind", ""),
                    business_hours=_business_hours_named(
                        request, org, request.POST.get("business_hours", "")
                    ),
                    acting_user=user,
                )
            elif form == "rule" and can_configure:
                team_id = request.POST.get("set_team", "")
                actions.do_save_routing_rule(
                    org,
                    name=request.POST.get("name", "") or _("Routing rule"),
                    position=int(request.POST.get("position") or 100),
                    keywords=request.POST.get("keywords", ""),
                    kind=request.POST.get("kind", ""),
                    language=request.POST.get("language", ""),
                    sentiment=request.POST.get("sentiment", ""),
                    set_team=(
                        get_object_or_404(Team.objects.filter(organization=org), pk=int(team_id))
                        if team_id.isdigit()
                        else None
                    ),
                    set_priority=request.POST.get("set_priority", ""),
                    add_tags=[t for t in request.POST.get("add_tags", "").split(",") if t.strip()],
                    require_approval=request.POST.get("require_approval") == "on",
                    stop=request.POST.get("stop") == "on",
                    acting_user=user,
                )
            else:
                raise Http404
            messages.success(request, _("Saved."))
        except (ActionError, ValueError) as exc:
            messages.error(request, str(exc))
        return redirect("inbox_settings")
    return render(request, "inbox/settings.html", _settings_context(request, org, user))


def _business_hours_named(request: HttpRequest, org: Organization, pk: str) -> BusinessHours | None:
    if not pk:
        return None
    if not pk.isdigit():
        raise Http404
    return get_object_or_404(
        BusinessHours.objects.restrict(request.user, "view_org").filter(organization=org),
        pk=int(pk),
    )


def _save_business_hours(request: HttpRequest, org: Organization, user: User) -> HttpResponse:
    """Create or change business hours: manage_org, as through the API. A form with mistakes
    comes back with every mistake named and everything typed still in it."""
    if "manage_org" not in channel_perms(request, org):
        raise PermissionDenied
    pk = request.POST.get("hours_id", "")
    hours = None
    if pk:
        if not pk.isdigit():
            raise Http404
        hours = get_object_or_404(
            BusinessHours.objects.restrict(user, "manage_org").filter(organization=org),
            pk=int(pk),
        )
    form = HoursForm.read(request.POST, hours.pk if hours else None)
    if not form.errors:
        try:
            actions.do_save_business_hours(
                org,
                name=form.name,
                weekly=form.weekly,
                holidays=form.holiday_dates,
                holiday_names=form.holiday_names,
                timezone_name=form.timezone,
                hours=hours,
                acting_user=user,
            )
        except ActionError as exc:
            form.errors.append(str(exc))
        else:
            messages.success(request, _("Business hours saved."))
            return redirect("inbox_settings")
    context = _settings_context(request, org, user, failed=form)
    return render(request, "inbox/settings.html", context, status=400)


def _settings_context(
    request: HttpRequest, org: Organization, user: User, failed: HoursForm | None = None
) -> dict[str, Any]:
    can_configure = _can_configure(request, org)
    profile = AgentProfile.objects.filter(organization=org, user=user).first()
    all_hours = list(
        BusinessHours.objects.restrict(user, "view_org").filter(organization=org).order_by("name")
    )
    hours_forms = [HoursForm.of(h) for h in all_hours] + [HoursForm()]
    if failed is not None:
        hours_forms = [failed if f.pk == failed.pk else f for f in hours_forms]
    context = {
        "hours_forms": hours_forms,
        "business_hours": all_hours,
        "can_manage_org": "manage_org" in channel_perms(request, org),
        "timezones": TIMEZONE_CHOICES,
        "org": org,
        "profile": profile,
        "can_configure": can_configure,
        "saved_replies": SavedReply.objects.restrict(user, "view_org").filter(organization=org),
        "policies": SlaPolicy.objects.restrict(user, "view_org")
        .filter(organization=org)
        .select_related("brand", "channel", "business_hours"),
        "rules": RoutingRule.objects.restrict(user, "view_org")
        .filter(organization=org)
        .select_related("set_team", "set_assignee", "channel", "brand", "auto_reply"),
        "priorities": Priority.choices,
        "kinds": ConversationKind.choices,
        "sentiments": Sentiment.choices,
        "languages": org.languages or [],
        "teams": Team.objects.restrict(user, "view_org").filter(organization=org),
    }
    return context
