"""Governance pages: the channel inventory and its gaps, a channel's custody, a person's page with
offboarding, offboarding reports with their checklists, provisioning (SCIM) and settings.

Every read goes through `restrict()` within the current organisation; anything out of scope,
including a write the person may not make, is a 404. Every write goes through an action.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext, pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from greenroom.core import actions as core_actions
from greenroom.core.actions import ActionError
from greenroom.core.forms import ChannelPeopleForm
from greenroom.core.models import (
    ApiToken,
    AuditEvent,
    Brand,
    Channel,
    ChannelGrant,
    ChannelStatus,
    Membership,
    Organization,
    Team,
    User,
)
from greenroom.core.templatetags.greenroom import network_name
from greenroom.core.tenancy import current_org, has_org_perm, require_section
from greenroom.core.views import audit_rows
from greenroom.governance import actions, inventory
from greenroom.governance.forms import (
    ChecklistDoneForm,
    GroupRoleForm,
    InventoryFilterForm,
    NativeAdminForm,
    OffboardForm,
    RecoveryForm,
    ScimTokenForm,
    SettingsForm,
)
from greenroom.governance.models import (
    ChecklistItem,
    NativeAdmin,
    Offboarding,
    OffboardingSource,
    ScimGroup,
    ScimToken,
)
from greenroom.inbox.actions import OPEN_STATUSES
from greenroom.inbox.models import Conversation


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # every caller is behind login_required
    return user


def _channels(request: HttpRequest, org: Organization, perm: str = "view") -> QuerySet[Channel]:
    return Channel.objects.restrict(request.user, perm).filter(organization=org)


def _members(request: HttpRequest, org: Organization) -> QuerySet[User]:
    """Active people of `org` the user can see: who may be chosen for a role on a channel."""
    memberships = Membership.objects.restrict(request.user, "view_org").filter(
        organization=org, is_active=True
    )
    return User.objects.filter(memberships__in=memberships).order_by("display_name", "username")


def may_read_reports(request: HttpRequest, org: Organization) -> bool:
    """Gaps and offboarding reports: owners and admins, and auditors (read only)."""
    return has_org_perm(request, org, "manage_members") or has_org_perm(request, org, "view_audit")


def _nav(request: HttpRequest, org: Organization) -> dict[str, bool]:
    """What the governance tabs offer this person."""
    return {
        "can_audit": has_org_perm(request, org, "view_audit"),
        "can_read_reports": may_read_reports(request, org),
        "can_manage": has_org_perm(request, org, "manage_members"),
        "can_configure": has_org_perm(request, org, "manage_org"),
        "can_vault": has_org_perm(request, org, "manage_vault"),
    }


def _require_reports(request: HttpRequest) -> Organization:
    org = current_org(request)
    if not may_read_reports(request, org):
        raise Http404("No such page.")
    return org


def _require_org_perm(request: HttpRequest, perm: str) -> Organization:
    org = current_org(request)
    if not has_org_perm(request, org, perm):
        raise Http404("No such page.")
    return org


# --- The inventory and its gaps --------------------------------------------------------------


def _row_text() -> dict[str, str]:
    """Words every inventory row repeats, translated once per page instead of once per row."""
    return {
        "left": gettext("left"),
        "no_owner": gettext("No owner"),
        "no_backup": gettext("No backup"),
        "outside": gettext("not in Greenroom"),
        "not_recorded": gettext("Not recorded"),
        "no_recovery": gettext("No recovery email"),
        "personal": gettext("personal"),
        "shared": gettext("shared"),
        "two_factor": gettext("2FA"),
        "not_connected": gettext("Not connected"),
        "no_expiry": gettext("Does not expire"),
        "expired": gettext("Expired"),
        "soon": gettext("Soon"),
        "none_yet": gettext("None yet"),
        "no_gaps": pgettext("gaps", "None"),
    }


@login_required
def governance(request: HttpRequest) -> HttpResponse:
    """The channel inventory: every channel the person may see, with its custody and gaps."""
    org = require_section(request, "governance")
    channels = _channels(request, org)
    kinds = sorted(set(channels.order_by().values_list("kind", flat=True)))
    form = InventoryFilterForm(
        request.GET or None,
        brands=Brand.objects.restrict(request.user, "view_org").filter(organization=org),
        networks=[(k, network_name(k)) for k in kinds],
        members=_members(request, org),
    )
    person = None
    gap = ""
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            channels = channels.filter(
                Q(name__icontains=data["q"]) | Q(handle__icontains=data["q"])
            )
        if data["brand"]:
            channels = channels.filter(brand=data["brand"])
        if data["network"]:
            channels = channels.filter(kind=data["network"])
        if data["status"]:
            channels = channels.filter(status=data["status"])
        gap = data["gap"]
        person = data["person"]
    built = inventory.build(org, channels)
    rows = built.rows
    if gap == "any":
        rows = [r for r in rows if r.gaps]
    elif gap:
        rows = [r for r in rows if r.has(gap)]
    if person is not None:
        rows = [
            r
            for r in rows
            if person.pk in (r.channel.owner_id, r.channel.backup_id)
            or any(a.user_id == person.pk for a in r.native_admins)
        ]
    context = {
        "org": org,
        "form": form,
        "rows": rows,
        "total": len(built.rows),
        "filtered": len(rows) != len(built.rows),
        "no_backup": sum(1 for r in rows if r.channel.backup_id is None),
        "no_owner": sum(1 for r in rows if r.channel.owner_id is None),
        "reconnect": sum(1 for r in rows if r.channel.status == ChannelStatus.NEEDS_RECONNECT),
        "with_gaps": sum(1 for r in rows if r.gaps),
        "text": _row_text(),
        **_nav(request, org),
    }
    return render(request, "governance/inventory.html", context)


@login_required
def gaps(request: HttpRequest) -> HttpResponse:
    """Channels with no backup, a single native admin, a personal recovery email, an owner who
    left, a token about to expire or no activity: each with the link that fixes it."""
    org = _require_reports(request)
    built = inventory.build(org, _channels(request, org))
    administered = set(_channels(request, org, "administer").values_list("pk", flat=True))
    counts = built.gap_counts()
    groups = [
        {
            "kind": kind,
            "label": inventory.GAP_LABELS[kind],
            "fix": inventory.GAP_FIXES[kind],
            "rows": [r for r in built.rows if r.has(kind)],
        }
        for kind in inventory.GAP_ORDER
        if counts[kind]
    ]
    context = {
        "org": org,
        "groups": groups,
        "count_rows": [(inventory.GAP_LABELS[k], counts[k]) for k in inventory.GAP_ORDER],
        "total": len(built.rows),
        "with_gaps": len(built.with_gaps()),
        "administered": administered,
        "settings": built.settings,
        **_nav(request, org),
    }
    return render(request, "governance/gaps.html", context)


# --- A channel ---------------------------------------------------------------------------------


def reconnect_url(channel: Channel) -> str | None:
    """Where an administrator renews the channel's token, when Greenroom can do it."""
    if channel.sandboxed:
        return None
    for name in (f"{channel.kind}:connect",):
        try:
            return reverse(name, args=[channel.pk])
        except NoReverseMatch:
            pass
    from greenroom.networks import oauth
    from greenroom.networks.base import ConnectorError

    try:
        oauth.provider_for(channel.kind)
    except ConnectorError:
        return None
    return reverse("hooks:oauth_start", args=[channel.kind, channel.pk])


def _granted_scopes(channel: Channel) -> tuple[str, ...]:
    """The scopes the network granted at the last connect (names only; the token stays sealed)."""
    if channel.credentials_id is None:
        return ()
    from greenroom.networks.network_api import granted_scopes

    return granted_scopes(channel)


def _channel_forms(
    request: HttpRequest, org: Organization, channel: Channel, post: dict[str, Any] | None
) -> dict[str, Any]:
    members = _members(request, org)
    recovery = getattr(channel, "recovery", None)
    which = (post or {}).get("form", "people")
    return {
        "people_form": ChannelPeopleForm(
            post if which == "people" else None,
            initial={"owner": channel.owner, "backup": channel.backup, "status": channel.status},
            members=members,
        ),
        "admin_form": NativeAdminForm(post if which == "native_admin" else None, members=members),
        "recovery_form": RecoveryForm(
            post if which == "recovery" else None,
            initial={
                "recovery_email": recovery.recovery_email,
                "recovery_email_controller": recovery.recovery_email_controller,
                "recovery_phone": recovery.recovery_phone,
                "recovery_phone_controller": recovery.recovery_phone_controller,
                "two_factor_method": recovery.two_factor_method,
                "two_factor_holder": recovery.two_factor_holder,
            }
            if recovery is not None
            else None,
            members=members,
        ),
    }


def _save_channel(
    request: HttpRequest, channel: Channel, forms: dict[str, Any]
) -> HttpResponse | None:
    """Handle a POST to the channel page: None when a form has errors to show."""
    user = _user(request)
    which = request.POST.get("form", "people")
    try:
        if which == "people":
            form = forms["people_form"]
            if not form.is_valid():
                return None
            core_actions.do_update_channel(
                channel,
                owner=form.cleaned_data["owner"],
                backup=form.cleaned_data["backup"],
                status=form.cleaned_data["status"],
                acting_user=user,
            )
            messages.success(request, gettext("Channel %(name)s saved.") % {"name": channel.name})
            return redirect("channel_detail", pk=channel.pk)
        if which == "native_admin":
            form = forms["admin_form"]
            if not form.is_valid():
                return None
            data = form.cleaned_data
            admin = actions.do_record_native_admin(
                channel,
                name=data["name"],
                email=data["email"],
                user=data["user"],
                network_role=data["network_role"],
                knows_password=data["knows_password"],
                acting_user=user,
            )
            messages.success(
                request, gettext("%(name)s recorded as a native admin.") % {"name": admin.name}
            )
            return redirect(reverse("channel_detail", args=[channel.pk]) + "#native-admins")
        if which == "remove_native_admin":
            admin = get_object_or_404(
                NativeAdmin.objects.restrict(user, "administer").filter(
                    channel=channel, removed_at__isnull=True
                ),
                pk=request.POST.get("admin") or 0,
            )
            actions.do_remove_native_admin(admin, acting_user=user)
            messages.success(
                request,
                gettext("%(name)s is no longer listed as a native admin.") % {"name": admin.name},
            )
            return redirect(reverse("channel_detail", args=[channel.pk]) + "#native-admins")
        if which == "recovery":
            form = forms["recovery_form"]
            if not form.is_valid():
                return None
            actions.do_save_recovery(channel, acting_user=user, **form.cleaned_data)
            messages.success(request, gettext("Recovery details saved."))
            return redirect(reverse("channel_detail", args=[channel.pk]) + "#recovery")
    except ActionError as error:
        form_key = {
            "people": "people_form",
            "native_admin": "admin_form",
            "recovery": "recovery_form",
        }
        if which in form_key:
            forms[form_key[which]].add_error(None, str(error))
            return None
        messages.error(request, str(error))
        return redirect("channel_detail", pk=channel.pk)
    raise Http404("No such form.")


@login_required
def channel_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A channel's custody: owner, backup and status; its token; the people with admin rights
    on the network; how the account is recovered; open offboarding tasks; grants; history."""
    org = require_section(request, "governance")
    channel = get_object_or_404(inventory.inventory_channels(_channels(request, org)), pk=pk)
    can_administer = _channels(request, org, "administer").filter(pk=pk).exists()
    forms: dict[str, Any] = {}
    if request.method == "POST":
        # Re-read through the stricter gate: only administrators may change a channel.
        channel = get_object_or_404(
            inventory.inventory_channels(_channels(request, org, "administer")), pk=pk
        )
        forms = _channel_forms(request, org, channel, request.POST)
        response = _save_channel(request, channel, forms)
        if response is not None:
            return response
    elif can_administer:
        forms = _channel_forms(request, org, channel, None)
    row = inventory.build(org, _channels(request, org).filter(pk=channel.pk)).rows[0]
    grants = (
        ChannelGrant.objects.restrict(request.user, "view")
        .filter(channel=channel)
        .select_related("user", "granted_by")
        .order_by("user__display_name", "permission")
    )
    open_items = list(
        ChecklistItem.objects.restrict(request.user, "view")
        .filter(organization=org, channel=channel, done_at__isnull=True)
        .select_related("offboarding", "native_admin")
    )
    history: list[Any] = []
    if has_org_perm(request, org, "view_audit"):
        events = AuditEvent.objects.restrict(request.user, "view_audit").filter(
            organization=org, target_type="core.channel", target_id=str(channel.pk)
        )
        history = audit_rows(request, org, list(events[:10]))
    context = {
        "org": org,
        "channel": channel,
        "row": row,
        "grants": list(grants),
        "form": forms.get("people_form"),
        **forms,
        "can_administer": can_administer,
        "history": history,
        "open_items": open_items,
        "reconnect_url": reconnect_url(channel) if can_administer else None,
        "granted_scopes": _granted_scopes(channel),
    }
    failed = any(f.errors for f in forms.values())
    return render(request, "governance/channel.html", context, status=400 if failed else 200)


# --- People and offboarding --------------------------------------------------------------------


def _person(request: HttpRequest, org: Organization, pk: int) -> Membership:
    membership: Membership = get_object_or_404(
        Membership.objects.restrict(request.user, "view_members")
        .filter(organization=org)
        .select_related("user", "organization")
        .prefetch_related("brands"),
        user_id=pk,
    )
    return membership


def _successors(request: HttpRequest, org: Organization, person: User) -> QuerySet[User]:
    return _members(request, org).exclude(pk=person.pk)


@login_required
def person(request: HttpRequest, pk: int) -> HttpResponse:
    """A person's page in the team section: what they hold, and the offboarding button."""
    org = require_section(request, "team")
    membership = _person(request, org, pk)
    return _person_page(request, org, membership, None)


def _person_page(
    request: HttpRequest, org: Organization, membership: Membership, form: OffboardForm | None
) -> HttpResponse:
    subject = membership.user
    can_offboard = (
        has_org_perm(request, org, "manage_members")
        and membership.is_active
        and subject.pk != request.user.pk
    )
    if can_offboard and form is None:
        form = OffboardForm(members=_successors(request, org, subject))
    channels = _channels(request, org)
    context = {
        "org": org,
        "membership": membership,
        "subject": subject,
        "owned": list(channels.filter(owner=subject).select_related("brand")),
        "backed_up": list(channels.filter(backup=subject).select_related("brand")),
        "native": list(
            NativeAdmin.objects.restrict(request.user, "view")
            .filter(organization=org, user=subject, removed_at__isnull=True)
            .select_related("channel")
        ),
        "grant_count": ChannelGrant.objects.filter(channel__organization=org, user=subject).count(),
        "teams": list(Team.objects.filter(organization=org, members=subject)),
        "open_conversations": Conversation.objects.filter(
            organization=org, assignee=subject, status__in=OPEN_STATUSES
        ).count(),
        "tokens": ApiToken.objects.filter(
            organization=org, user=subject, revoked_at__isnull=True
        ).count(),
        "offboardings": list(
            Offboarding.objects.restrict(request.user, "view_org").filter(
                organization=org, person=subject
            )
        )
        if may_read_reports(request, org)
        else [],
        "form": form if can_offboard else None,
        "can_offboard": can_offboard,
    }
    status = 400 if form is not None and form.errors else 200
    return render(request, "governance/person.html", context, status=status)


@login_required
@require_POST
def offboard(request: HttpRequest, pk: int) -> HttpResponse:
    org = _require_org_perm(request, "manage_members")
    membership = _person(request, org, pk)
    if not membership.is_active:
        raise Http404("No such person.")
    form = OffboardForm(request.POST, members=_successors(request, org, membership.user))
    if form.is_valid():
        try:
            offboarding = actions.do_offboard(
                org,
                membership.user,
                successor=form.cleaned_data["successor"],
                conversations_to=form.cleaned_data["conversations_to"],
                reason=form.cleaned_data["reason"],
                source=OffboardingSource.PAGE,
                acting_user=_user(request),
            )
        except ActionError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                gettext(
                    "%(name)s is offboarded. The checklist below tracks what is left to do "
                    "on the networks."
                )
                % {"name": offboarding.person_name},
            )
            return redirect("governance:offboarding", pk=offboarding.pk)
    return _person_page(request, org, membership, form)


@login_required
def offboardings(request: HttpRequest) -> HttpResponse:
    org = _require_reports(request)
    found = (
        Offboarding.objects.restrict(request.user, "view_org")
        .filter(organization=org)
        .annotate(
            open_items=Count("checklist", filter=Q(checklist__done_at__isnull=True)),
            items=Count("checklist"),
        )
        .select_related("successor")
    )
    context = {"org": org, "offboardings": list(found[:200]), **_nav(request, org)}
    return render(request, "governance/offboardings.html", context)


@login_required
def offboarding(request: HttpRequest, pk: int) -> HttpResponse:
    org = _require_reports(request)
    found = get_object_or_404(
        Offboarding.objects.restrict(request.user, "view_org")
        .filter(organization=org)
        .select_related("successor", "conversations_to", "started_by"),
        pk=pk,
    )
    items = list(
        found.checklist.select_related("channel", "native_admin", "done_by").order_by(
            "done_at", "channel__name", "pk"
        )
    )
    context = {
        "org": org,
        "offboarding": found,
        "steps": list(found.steps.all()),
        "open_items": [i for i in items if i.done_at is None],
        "done_items": [i for i in items if i.done_at is not None],
        "can_tick": has_org_perm(request, org, "manage_members"),
        **_nav(request, org),
    }
    return render(request, "governance/offboarding.html", context)


@login_required
@require_POST
def checklist_done(request: HttpRequest, pk: int) -> HttpResponse:
    org = current_org(request)
    item = get_object_or_404(
        ChecklistItem.objects.restrict(request.user, "view").filter(organization=org), pk=pk
    )
    form = ChecklistDoneForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        actions.do_complete_checklist_item(item, note=note, acting_user=_user(request))
    except actions.NotAllowed:
        raise Http404("No such task.") from None
    except ActionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, gettext("Ticked off."))
    back = request.POST.get("back", "")
    if back == "channel" and item.channel_id is not None:
        return redirect("channel_detail", pk=item.channel_id)
    return redirect("governance:offboarding", pk=item.offboarding_id)


# --- Provisioning and settings -------------------------------------------------------------------


@never_cache
@login_required
def provisioning(request: HttpRequest) -> HttpResponse:
    """SCIM: the endpoint, tokens (a new one shown once), and which role each group gives."""
    org = _require_org_perm(request, "manage_members")
    user = _user(request)
    created: tuple[ScimToken, str] | None = None
    form = ScimTokenForm()
    if request.method == "POST":
        form = ScimTokenForm(request.POST)
        if form.is_valid():
            try:
                created = actions.do_create_scim_token(
                    org, name=form.cleaned_data["name"], acting_user=user
                )
            except ActionError as error:
                form.add_error(None, str(error))
            else:
                form = ScimTokenForm()
    teams = Team.objects.restrict(user, "view_members").filter(organization=org).order_by("name")
    roles = dict(
        ScimGroup.objects.filter(organization=org, deleted_at__isnull=True).values_list(
            "team_id", "role"
        )
    )
    context = {
        "org": org,
        "form": form,
        "tokens": list(ScimToken.objects.restrict(user, "manage_members").filter(organization=org)),
        "new_token": created[0] if created else None,
        "new_token_plaintext": created[1] if created else None,
        "endpoint": request.build_absolute_uri("/scim/v2"),
        "teams": [{"team": t, "role": roles.get(t.pk, "")} for t in teams],
        "role_form": GroupRoleForm(teams=teams),
        **_nav(request, org),
    }
    return render(
        request, "governance/provisioning.html", context, status=400 if form.errors else 200
    )


@login_required
@require_POST
def revoke_scim_token(request: HttpRequest, pk: int) -> HttpResponse:
    org = _require_org_perm(request, "manage_members")
    token = get_object_or_404(
        ScimToken.objects.restrict(request.user, "manage_members").filter(organization=org), pk=pk
    )
    actions.do_revoke_scim_token(token, acting_user=_user(request))
    messages.success(request, gettext("Token %(name)s revoked.") % {"name": token.name})
    return redirect("governance:provisioning")


@login_required
@require_POST
def group_role(request: HttpRequest) -> HttpResponse:
    org = _require_org_perm(request, "manage_members")
    teams = Team.objects.restrict(request.user, "view_members").filter(organization=org)
    form = GroupRoleForm(request.POST, teams=teams)
    if not form.is_valid():
        raise Http404("No such team.")
    try:
        actions.do_set_group_role(
            form.cleaned_data["team"], role=form.cleaned_data["role"], acting_user=_user(request)
        )
    except ActionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, gettext("Saved."))
    return redirect("governance:provisioning")


@login_required
def governance_settings(request: HttpRequest) -> HttpResponse:
    org = _require_org_perm(request, "manage_org")
    current = actions.settings_of(org)
    members = _members(request, org)
    if request.method == "POST":
        form = SettingsForm(request.POST, members=members)
        if form.is_valid():
            try:
                actions.do_save_settings(
                    org,
                    mail_domains=form.domains(),
                    token_warning_days=form.cleaned_data["token_warning_days"],
                    inactive_days=form.cleaned_data["inactive_days"],
                    scim_default_role=form.cleaned_data["scim_default_role"],
                    scim_successor=form.cleaned_data["scim_successor"],
                    acting_user=_user(request),
                )
            except ActionError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, gettext("Governance settings saved."))
                return redirect("governance:settings")
    else:
        form = SettingsForm(
            initial={
                "mail_domains": "\n".join(current.mail_domains),
                "token_warning_days": current.token_warning_days,
                "inactive_days": current.inactive_days,
                "scim_default_role": current.scim_default_role,
                "scim_successor": current.scim_successor,
            },
            members=members,
        )
    return render(
        request,
        "governance/settings.html",
        {"org": org, "form": form, **_nav(request, org)},
        status=400 if form.errors else 200,
    )
