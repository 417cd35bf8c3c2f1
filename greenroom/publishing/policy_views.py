"""The approval policies page: who approves posts for a brand or a channel, in which order, and
how long each step may take. Everyone in publishing reads it; owners and admins change it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from greenroom.core.models import Brand, Channel, ChannelStatus, Membership, Team, User
from greenroom.core.restrict import Access
from greenroom.core.tenancy import require_section
from greenroom.publishing import actions
from greenroom.publishing.actions import StepInput
from greenroom.publishing.forms import PolicyForm, StepForm
from greenroom.publishing.models import ApprovalPolicy, ApprovalStep

STEP_ROWS = 3


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return user


def _step_forms(request: HttpRequest, org_id: int) -> list[StepForm]:
    teams = Team.objects.restrict(request.user, "view_org").filter(organization_id=org_id)
    people = User.objects.filter(
        pk__in=Membership.objects.filter(organization_id=org_id, is_active=True).values("user_id")
    ).order_by("first_name", "username")
    data = request.POST if request.method == "POST" else None
    return [
        StepForm(data, prefix=f"step{n}", teams=teams, people=people, initial={"min_approvals": 1})
        for n in range(STEP_ROWS)
    ]


def _steps(forms: list[StepForm]) -> list[StepInput]:
    steps = []
    for form in forms:
        if form.is_blank():
            continue
        data = form.cleaned_data
        hours = data.get("respond_within_hours")
        steps.append(
            StepInput(
                name=data.get("name") or "",
                team=data.get("team"),
                approvers=list(data.get("approvers") or []),
                min_approvals=data.get("min_approvals") or 1,
                respond_within=timedelta(hours=float(hours)) if hours else None,
            )
        )
    return steps


@login_required
def policies(request: HttpRequest) -> HttpResponse:
    org = require_section(request, "publishing")
    user = _user(request)
    may_manage = Access.of(user).has_org_perm(org.pk, "manage_org")
    brands = Brand.objects.restrict(user, "view_org").filter(organization=org)
    channels = (
        Channel.objects.restrict(user, "view")
        .filter(organization=org)
        .exclude(status=ChannelStatus.ARCHIVED)
        .defer("credentials")
    )
    form = PolicyForm(request.POST or None, brands=brands, channels=channels)
    step_forms = _step_forms(request, org.pk)
    if request.method == "POST" and may_manage:
        # Every form is validated, so each shows its own errors at once.
        steps_valid = [f.is_valid() for f in step_forms]
        if form.is_valid() and all(steps_valid):
            try:
                policy = actions.do_create_approval_policy(
                    org,
                    name=form.cleaned_data["name"],
                    brand=form.cleaned_data["brand"],
                    channel=form.cleaned_data["channel"],
                    steps=_steps(step_forms),
                    acting_user=user,
                )
            except actions.ActionError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("Approval policy “%(name)s” saved. Posts submitted from now on follow it.")
                    % {"name": policy.name},
                )
                return redirect("publishing_policies")
    active = (
        ApprovalPolicy.objects.restrict(user, "view_org")
        .filter(organization=org, is_active=True)
        .select_related("brand", "channel", "channel__brand")
        .prefetch_related(
            Prefetch(
                "steps",
                queryset=ApprovalStep.objects.select_related("team").prefetch_related("approvers"),
            )
        )
        .order_by("brand__name", "channel__name", "pk")
    )
    context: dict[str, Any] = {
        "org": org,
        "form": form,
        "step_forms": step_forms,
        "policies": list(active),
        "may_manage": may_manage,
    }
    return render(request, "publishing/policies.html", context)


@login_required
@require_POST
def policy_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    org = require_section(request, "publishing")
    user = _user(request)
    policy = get_object_or_404(
        ApprovalPolicy.objects.restrict(user, "view_org").filter(organization=org), pk=pk
    )
    try:
        actions.do_deactivate_approval_policy(policy, acting_user=user)
    except actions.ActionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _(
                "“%(name)s” is switched off. Posts waiting for approval now follow the "
                "policies still active."
            )
            % {"name": policy.name},
        )
    return redirect("publishing_policies")
