"""The inbox settings page: availability, saved replies, SLA policies, routing rules, business
hours and (for managers) the agents' availability.

Reads go through `restrict(user, ...)` inside the current organisation; anything out of scope,
another organisation's object included, is a 404. Organisation-wide settings need manage_org,
the same rule as the API and the actions. Writes go through inbox.actions. A form with mistakes
comes back with status 400, each mistake next to its field and everything typed still in it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from greenroom.core.actions import ActionError
from greenroom.core.ids import as_id
from greenroom.core.models import TIMEZONE_CHOICES, Organization, User
from greenroom.core.permissions import ROLE_PERMS
from greenroom.core.templatetags.greenroom import language_label, network_name
from greenroom.core.tenancy import channel_perms, require_section
from greenroom.inbox import actions, handout
from greenroom.inbox.forms import (
    AgentForm,
    HoursForm,
    RoutingRuleForm,
    SavedReplyForm,
    SlaPolicyForm,
)
from greenroom.inbox.models import (
    AgentProfile,
    BusinessHours,
    RoutingRule,
    SavedReply,
    SlaPolicy,
)


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _policy_row(policy: SlaPolicy) -> dict[str, Any]:
    """A policy with its targets as lengths of time: "1 day", not "1440 min"."""

    def length(minutes: int | None) -> timedelta | None:
        return timedelta(minutes=minutes) if minutes else None

    return {
        "policy": policy,
        "first": length(policy.first_response_minutes),
        "next": length(policy.next_response_minutes),
        "resolution": length(policy.resolution_minutes),
    }


def _rule_row(rule: RoutingRule) -> dict[str, Any]:
    """What a routing rule matches and what it does, each a list of short phrases, so the list
    of rules reads without opening each one."""
    matches: list[str] = []
    if rule.keywords:
        matches.append(f"“{Truncator(rule.keywords).chars(40)}”")
    matches += [obj.name for obj in (rule.channel, rule.brand) if obj is not None]
    if rule.network:
        matches.append(network_name(rule.network))
    if rule.kind:
        matches.append(rule.get_kind_display())
    if rule.language:
        matches.append(language_label(rule.language))
    if rule.sentiment:
        matches.append(rule.get_sentiment_display())
    if rule.author_is_vip is not None:
        matches.append(_("VIP") if rule.author_is_vip else _("not VIP"))
    if rule.author_is_customer is not None:
        matches.append(
            _("known customer") if rule.author_is_customer else _("not a known customer")
        )
    does: list[str] = []
    if rule.set_team is not None:
        does.append(rule.set_team.name)
    if rule.set_assignee is not None:
        does.append(rule.set_assignee.name)
    if rule.set_priority:
        does.append(_("Priority: %(priority)s") % {"priority": rule.get_set_priority_display()})
    does += [f"#{tag}" for tag in rule.add_tags or []]
    if rule.auto_reply is not None:
        does.append(_("auto-reply “%(title)s”") % {"title": rule.auto_reply.title})
    if rule.require_approval:
        does.append(_("approval by a second person") if rule.four_eyes else _("approval"))
    if rule.stop:
        does.append(_("stop"))
    return {"rule": rule, "matches": matches or [_("every message")], "does": does}


def may_configure(request: HttpRequest, org: Organization) -> bool:
    # Saved replies, SLA policies and routing rules are organisation-wide settings: manage_org,
    # the same rule as the API and the actions (administering one channel is not enough).
    return "manage_org" in channel_perms(request, org)


def _add_error(form: forms.Form, exc: ActionError) -> None:
    """What the action refused, shown at the top of the form it came from."""
    form.add_error(None, str(exc))


@login_required
def inbox_settings(request: HttpRequest) -> HttpResponse:
    """Saved replies, my availability, and (for those who configure) SLA policies and rules."""
    org = require_section(request, "inbox")
    user = _user(request)
    can_configure = may_configure(request, org)
    if request.method != "POST":
        return render(request, "inbox/settings.html", _settings_context(request, org, user))
    kind = request.POST.get("form", "")
    if kind == "hours":
        return _save_business_hours(request, org, user)
    if kind == "availability":
        return _save_agent(request, org, user, user, "me")
    if not can_configure or kind not in EDITORS:
        raise Http404
    return EDITORS[kind].save(request, org, user, None)


class _Editor:
    """Creating, changing, switching off and deleting one kind of organisation-wide setting.

    Everything is read through `restrict(user, "manage_org")` in the current organisation, so
    people who do not manage it and other organisations' ids get a 404."""

    def __init__(
        self,
        key: str,
        model: type[Model],
        form: type[SavedReplyForm | SlaPolicyForm | RoutingRuleForm],
        title: Any,
        save: Any,
        delete: Any,
    ) -> None:
        self.key, self.model, self.form, self.title = key, model, form, title
        self._save, self._delete = save, delete

    def get(self, request: HttpRequest, org: Organization, pk: int) -> Any:
        rows: QuerySet[Any] = self.model.objects.restrict(  # type: ignore[attr-defined]
            request.user, "manage_org"
        )
        return get_object_or_404(rows.filter(organization=org), pk=pk)

    def save(
        self, request: HttpRequest, org: Organization, user: User, target: Any
    ) -> HttpResponse:
        form = self.form(request.POST, org=org, user=user, auto_id=f"{self.key}-%s")
        if form.is_valid():
            try:
                self._save(org, target, form, user)
            except ActionError as exc:
                _add_error(form, exc)
            else:
                messages.success(request, _("Saved."))
                return redirect("inbox_settings")
        if target is not None:
            return _edit_page(request, self, target, form, status=400)
        context = _settings_context(request, org, user, bound={self.key: form})
        return render(request, "inbox/settings.html", context, status=400)


def _save_reply(org: Organization, saved: Any, form: SavedReplyForm, user: User) -> None:
    data = form.cleaned_data
    actions.do_save_saved_reply(
        org,
        title=data["title"],
        body=data["body"],
        brand=data["brand"],
        language=data["language"],
        saved=saved,
        acting_user=user,
    )


def _save_policy(org: Organization, policy: Any, form: SlaPolicyForm, user: User) -> None:
    actions.do_save_sla_policy(org, policy=policy, acting_user=user, **form.values())


def _save_rule(org: Organization, rule: Any, form: RoutingRuleForm, user: User) -> None:
    actions.do_save_routing_rule(org, rule=rule, acting_user=user, **form.values())


EDITORS: dict[str, _Editor] = {
    "saved_reply": _Editor(
        "saved_reply",
        SavedReply,
        SavedReplyForm,
        gettext_lazy("Saved reply"),
        _save_reply,
        actions.do_delete_saved_reply,
    ),
    "policy": _Editor(
        "policy",
        SlaPolicy,
        SlaPolicyForm,
        gettext_lazy("SLA policy"),
        _save_policy,
        actions.do_delete_sla_policy,
    ),
    "rule": _Editor(
        "rule",
        RoutingRule,
        RoutingRuleForm,
        gettext_lazy("Routing rule"),
        _save_rule,
        actions.do_delete_routing_rule,
    ),
}


def _edit_page(
    request: HttpRequest, editor: _Editor, target: Any, form: forms.Form, status: int = 200
) -> HttpResponse:
    context = {
        "editor": editor,
        "target": target,
        "form": form,
        "save_url": reverse(f"inbox_{editor.key}_save", args=[target.pk]),
        "delete_url": reverse(f"inbox_{editor.key}_delete", args=[target.pk]),
    }
    return render(request, "inbox/settings_edit.html", context, status=status)


@login_required
@require_GET
def edit(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """A saved reply, policy or rule in a form filled with what it is now."""
    org = require_section(request, "inbox")
    editor = EDITORS[key]
    target = editor.get(request, org, pk)
    form = editor.form(
        initial=editor.form.initial_of(target), org=org, user=_user(request), auto_id=f"{key}-%s"
    )
    return _edit_page(request, editor, target, form)


@login_required
@require_POST
def save(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    org = require_section(request, "inbox")
    editor = EDITORS[key]
    return editor.save(request, org, _user(request), editor.get(request, org, pk))


@login_required
@require_POST
def delete(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    org = require_section(request, "inbox")
    editor = EDITORS[key]
    target = editor.get(request, org, pk)
    try:
        editor._delete(target, acting_user=_user(request))
    except ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Deleted “%(name)s”.") % {"name": target})
    return redirect("inbox_settings")


@login_required
@require_POST
def set_active(request: HttpRequest, pk: int, key: str) -> HttpResponse:
    """Switch a saved reply, policy or rule off (it stays, ignored) or back on."""
    org = require_section(request, "inbox")
    editor = EDITORS[key]
    target = editor.get(request, org, pk)
    wanted = request.POST.get("active", "")
    if wanted not in ("0", "1"):
        messages.error(request, _("Choose whether to turn it on or off."))
        return redirect("inbox_settings")
    try:
        if key == "policy":
            actions.do_save_sla_policy(
                org, policy=target, acting_user=_user(request), is_active=wanted == "1"
            )
        elif key == "saved_reply":
            actions.do_save_saved_reply(
                org,
                saved=target,
                title=target.title,
                body=target.body,
                brand=target.brand,
                language=target.language,
                is_active=wanted == "1",
                acting_user=_user(request),
            )
        else:
            actions.do_save_routing_rule(
                org, rule=target, acting_user=_user(request), is_active=wanted == "1"
            )
    except ActionError as exc:
        messages.error(request, str(exc))
    else:
        if wanted == "1":
            messages.success(request, _("“%(name)s” is on.") % {"name": target})
        else:
            messages.success(request, _("“%(name)s” is off.") % {"name": target})
    return redirect("inbox_settings")


def _members(org: Organization) -> QuerySet[User]:
    return User.objects.filter(memberships__organization=org, memberships__is_active=True)


@login_required
@require_POST
def agent(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager (manage_org) sets a team member's status or capacity; anyone sets their own."""
    org = require_section(request, "inbox")
    user = _user(request)
    person = get_object_or_404(_members(org).distinct(), pk=pk)
    if person.pk != user.pk and not may_configure(request, org):
        raise Http404
    return _save_agent(request, org, user, person, f"agent{person.pk}")


def _save_agent(
    request: HttpRequest, org: Organization, user: User, person: User, key: str
) -> HttpResponse:
    form = AgentForm(request.POST, auto_id=f"{key}-%s")
    if form.is_valid():
        try:
            actions.do_set_agent(
                org,
                person,
                status=form.cleaned_data["status"],
                capacity=form.cleaned_data["capacity"],
                acting_user=user,
            )
        except ActionError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("inbox_settings")
    context = _settings_context(request, org, user, bound={key: form})
    return render(request, "inbox/settings.html", context, status=400)


def _save_business_hours(request: HttpRequest, org: Organization, user: User) -> HttpResponse:
    """Create or change business hours: manage_org, as through the API. A form with mistakes
    comes back with every mistake named and everything typed still in it."""
    if "manage_org" not in channel_perms(request, org):
        raise PermissionDenied
    given = request.POST.get("hours_id", "")
    hours = None
    if given:
        pk = as_id(given)
        if pk is None:
            raise Http404
        hours = get_object_or_404(
            BusinessHours.objects.restrict(user, "manage_org").filter(organization=org), pk=pk
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


def _agent_rows(org: Organization, bound: dict[str, Any]) -> list[dict[str, Any]]:
    """Everyone whose role answers conversations, with status, capacity and open load."""
    engaging = [role for role, perms in ROLE_PERMS.items() if "engage" in perms]
    people = list(
        _members(org)
        .filter(memberships__role__in=engaging)
        .order_by("display_name", "username")
        .distinct()
    )
    profiles = {p.user_id: p for p in AgentProfile.objects.filter(organization=org)}
    load = handout.open_load(org.pk, people)
    rows = []
    for person in people:
        profile = profiles.get(person.pk)
        key = f"agent{person.pk}"
        initial = {
            "status": profile.status if profile else "on_shift",
            "capacity": profile.capacity if profile else 20,
        }
        form = bound.get(key) or AgentForm(initial=initial, auto_id=f"{key}-%s")
        rows.append({"person": person, "form": form, "load": load.get(person.pk, 0), **initial})
    return rows


def _settings_context(
    request: HttpRequest,
    org: Organization,
    user: User,
    failed: HoursForm | None = None,
    bound: dict[str, Any] | None = None,
) -> dict[str, Any]:
    bound = bound or {}
    can_configure = may_configure(request, org)
    profile = AgentProfile.objects.filter(organization=org, user=user).first()
    all_hours = list(
        BusinessHours.objects.restrict(user, "view_org").filter(organization=org).order_by("name")
    )
    hours_forms = [HoursForm.of(h) for h in all_hours] + [HoursForm()]
    if failed is not None:
        hours_forms = [failed if f.pk == failed.pk else f for f in hours_forms]
    mine = {
        "status": profile.status if profile else "on_shift",
        "capacity": profile.capacity if profile else 20,
    }
    new = {
        key: bound.get(key) or editor.form(org=org, user=user, auto_id=f"{key}-%s")
        for key, editor in EDITORS.items()
    }
    context = {
        "hours_forms": hours_forms,
        "business_hours": all_hours,
        "can_manage_org": can_configure,
        "timezones": TIMEZONE_CHOICES,
        "org": org,
        "profile": profile,
        "me_form": bound.get("me") or AgentForm(initial=mine, auto_id="me-%s"),
        "can_configure": can_configure,
        "saved_replies": SavedReply.objects.restrict(user, "view_org").filter(organization=org),
        "policies": [
            _policy_row(policy)
            for policy in SlaPolicy.objects.restrict(user, "view_org")
            .filter(organization=org)
            .select_related("brand", "channel", "business_hours")
        ],
        "rules": [
            _rule_row(rule)
            for rule in RoutingRule.objects.restrict(user, "view_org")
            .filter(organization=org)
            .select_related("set_team", "set_assignee", "channel", "brand", "auto_reply")
        ],
        "reply_form": new["saved_reply"],
        "policy_form": new["policy"],
        "rule_form": new["rule"],
        "agents": _agent_rows(org, bound) if can_configure else [],
    }
    return context
