"""Sign-in's second step, single sign-on, a person's security page and the organisation's.

Reads go through `restrict()` in the current organisation (a member of another organisation is a
404); writes go through greenroom.accounts.actions.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from greenroom.accounts import actions, mfa, oidc, saml, sessions
from greenroom.accounts.forms import (
    CodeForm,
    EnrolForm,
    MappingForm,
    PolicyForm,
    ReauthForm,
    SsoChooseForm,
    SsoProviderForm,
)
from greenroom.accounts.models import (
    MfaDevice,
    RecoveryCode,
    SignInMethod,
    SsoGroupMapping,
    SsoProtocol,
    SsoProvider,
    UserSession,
)
from greenroom.core import auth_views as core_auth
from greenroom.core.actions import ActionError
from greenroom.core.middleware import client_ip
from greenroom.core.models import Membership, Organization, User
from greenroom.core.tenancy import current_org, has_org_perm

log = logging.getLogger(__name__)

PENDING = "greenroom_mfa_pending"
PENDING_S = 300
OIDC_STATE = "greenroom_oidc"
SAML_STATE = "greenroom_saml"
SSO_STATE_S = 600
MFA_THROTTLE = "mfa"


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):  # every caller is behind login_required
        raise Http404("No such page.")
    return user


def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


# --- Password, then second factor ------------------------------------------------------------


class LoginView(core_auth.LoginView):
    """Core's throttled sign-in; people with MFA are asked for a code before the session is
    authenticated."""

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        user = form.get_user()
        if actions.confirmed_device(user) is None:
            sessions.sign_in(
                self.request,
                user,
                method=SignInMethod.PASSWORD,
                backend=getattr(user, "backend", None),
            )
            return HttpResponseRedirect(self.get_success_url())
        self.request.session[PENDING] = {
            "user": user.pk,
            "backend": getattr(user, "backend", None),
            "at": int(time.time()),
            "next": self.get_success_url(),
        }
        return redirect("login_verify")


def _pending_user(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_S:
        request.session.pop(PENDING, None)
        return None
    user = User.objects.filter(pk=int(pending.get("user") or 0), is_active=True).first()
    return (user, pending) if user is not None else None


def _throttled(user: User, ip: str | None) -> str | None:
    limit = settings.LOGIN_FAILURE_LIMIT
    if core_auth.failure_count(MFA_THROTTLE, str(user.pk)) >= limit or (
        ip and core_auth.failure_count(f"{MFA_THROTTLE}-ip", ip) >= limit
    ):
        minutes = max(1, settings.LOGIN_FAILURE_WINDOW_S // 60)
        return ngettext(
            "Too many wrong codes. Try again in %(minutes)d minute.",
            "Too many wrong codes. Try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
    return None


def _note_code_failure(user: User, ip: str | None) -> None:
    core_auth.note_failure(MFA_THROTTLE, str(user.pk))
    if ip:
        core_auth.note_failure(f"{MFA_THROTTLE}-ip", ip)


def _check_code(request: HttpRequest, user: User, form: CodeForm | ReauthForm) -> str | None:
    """Check the form's code (throttled); the kind accepted, or None with an error on the form."""
    ip = client_ip(request)
    refusal = _throttled(user, ip)
    if refusal:
        form.add_error(None, refusal)
        return None
    kind = actions.do_verify_second_factor(user, code=form.cleaned_data["code"])
    if kind is None:
        _note_code_failure(user, ip)
        form.add_error("code", _("That code is not right, or it has been used already."))
        return None
    core_auth.forget_failures(MFA_THROTTLE, str(user.pk))
    return str(kind)


def login_verify(request: HttpRequest) -> HttpResponse:
    found = _pending_user(request)
    if found is None:
        messages.info(request, _("Sign in again: the sign-in took too long."))
        return redirect("login")
    user, pending = found
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        kind = _check_code(request, user, form)
        if kind is not None:
            del request.session[PENDING]
            method = (
                SignInMethod.RECOVERY_CODE
                if kind == actions.SecondFactor.RECOVERY_CODE
                else SignInMethod.PASSWORD_MFA
            )
            sessions.sign_in(request, user, method=method, backend=pending.get("backend"))
            if method == SignInMethod.RECOVERY_CODE:
                left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
                messages.warning(
                    request,
                    ngettext(
                        "You used a recovery code: %(n)d is left. Make new ones on your "
                        "security page.",
                        "You used a recovery code: %(n)d are left. Make new ones on your "
                        "security page.",
                        left,
                    )
                    % {"n": left},
                )
            return HttpResponseRedirect(_safe_next(request, pending.get("next")))
    if form.errors:
        status = 429 if _throttled(user, client_ip(request)) else 400
    return render(request, "accounts/login_verify.html", {"form": form}, status=status)


# --- A person's security page ----------------------------------------------------------------


def _visible_sessions(user: User) -> list[UserSession]:
    """Sessions that can still be used: anything idle past the time-out is gone already."""
    idle = actions.idle_timeout_minutes_for(user)
    cutoff = timezone.now() - timedelta(minutes=idle + 1)
    stale = UserSession.objects.filter(user=user, last_seen_at__lt=cutoff)
    if stale.exists():
        actions._revoke_sessions(stale)  # already unusable: tidy without an audit row
    return list(UserSession.objects.filter(user=user))


@login_required
def security(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    device = MfaDevice.objects.filter(user=user).first()
    current_key = request.session.session_key
    return render(
        request,
        "accounts/security.html",
        {
            "device": device if device and device.is_confirmed else None,
            "recovery_left": RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
            "sessions": [sessions.describe(r, current_key) for r in _visible_sessions(user)],
            "reauth": ReauthForm(needs_password=user.has_usable_password()),
            "needs_password": user.has_usable_password(),
            "mfa_required": actions.mfa_required_for(user),
        },
    )


@login_required
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if actions.confirmed_device(user) is not None:
        messages.info(request, _("Two-factor authentication is on already."))
        return redirect("security")
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = actions.do_confirm_mfa(user, code=form.cleaned_data["code"], acting_user=user)
        except ActionError as error:
            form.add_error("code", str(error))
        else:
            sessions.mark_enrolled(request)
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "just_enrolled": True},
            )
    device = MfaDevice.objects.filter(user=user).first()
    fresh = device is not None and timezone.now() - device.created_at < timedelta(minutes=15)
    if device is not None and fresh:
        secret = actions.device_secret(device)  # the same key while they scan and retype
    else:
        device, secret = actions.do_start_mfa_enrolment(user, acting_user=user)
    uri = mfa.provisioning_uri(secret, user.email or user.username)
    return render(
        request,
        "accounts/mfa_enrol.html",
        {
            "form": form,
            # Drawn by segno from our own otpauth URI: paths only, no user text in the SVG.
            "qr_svg": mark_safe(mfa.qr_svg(uri)),  # noqa: S308  # nosec B308 B703
            "secret_text": mfa.format_secret(secret),
            "mfa_required": actions.mfa_required_for(user),
        },
        status=400 if form.errors else 200,
    )


def _reauthenticate(request: HttpRequest, user: User) -> ReauthForm | None:
    """The re-authentication form if it failed, None if the person proved who they are."""
    form = ReauthForm(request.POST, needs_password=user.has_usable_password())
    if not form.is_valid():
        return form
    if user.has_usable_password() and not user.check_password(form.cleaned_data["password"]):
        _note_code_failure(user, client_ip(request))
        form.add_error("password", _("That is not your password."))
        return form
    if _check_code(request, user, form) is None:
        return form
    return None


def _security_with_errors(request: HttpRequest, form: ReauthForm) -> HttpResponse:
    user = _user(request)
    device = actions.confirmed_device(user)
    return render(
        request,
        "accounts/security.html",
        {
            "device": device,
            "recovery_left": RecoveryCode.objects.filter(user=user, used_at__isnull=True).count(),
            "sessions": [
                sessions.describe(r, request.session.session_key) for r in _visible_sessions(user)
            ],
            "reauth": form,
            "needs_password": user.has_usable_password(),
            "mfa_required": actions.mfa_required_for(user),
        },
        status=400,
    )


@login_required
@require_POST
def mfa_disable(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    failed = _reauthenticate(request, user)
    if failed is not None:
        return _security_with_errors(request, failed)
    actions.do_disable_mfa(user, acting_user=user)
    # The organisation's rule applies again at once.
    sessions.refresh(request, user, now=time.time())
    messages.success(request, _("Two-factor authentication is off."))
    return redirect("security")


@login_required
@require_POST
def recovery_codes_regenerate(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    failed = _reauthenticate(request, user)
    if failed is not None:
        return _security_with_errors(request, failed)
    try:
        codes = actions.do_regenerate_recovery_codes(user, acting_user=user)
    except ActionError as error:
        messages.error(request, str(error))
        return redirect("security")
    return render(request, "accounts/recovery_codes.html", {"codes": codes})


@login_required
@require_POST
def session_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    row = get_object_or_404(UserSession, pk=pk, user=user)
    current = row.session_key == request.session.session_key
    actions.do_revoke_session(row, acting_user=user)
    if current:
        logout(request)
        return redirect("login")
    messages.success(request, _("That session is signed out."))
    return redirect("security")


@login_required
@require_POST
def sessions_revoke_others(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    count = actions.do_revoke_other_sessions(
        user, keep_session_key=request.session.session_key or "", acting_user=user
    )
    messages.success(
        request,
        ngettext(
            "%(n)d other session is signed out.", "%(n)d other sessions are signed out.", count
        )
        % {"n": count},
    )
    return redirect("security")


# --- The organisation's security settings ----------------------------------------------------


def _org_admin(request: HttpRequest, perm: str = "manage_org") -> Organization:
    org = current_org(request)
    if not has_org_perm(request, org, perm):
        raise Http404("No such page.")
    return org


def _org_page(
    request: HttpRequest,
    org: Organization,
    *,
    policy_form: PolicyForm | None = None,
    sso_form: SsoProviderForm | None = None,
    mapping_form: MappingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    policy = actions.policy_of(org)
    provider = SsoProvider.objects.restrict(user, "manage_org").filter(organization=org).first()
    members = list(
        Membership.objects.restrict(user, "manage_members")
        .filter(organization=org, is_active=True)
        .select_related("user")
        .order_by("user__username")
    )
    enrolled = set(
        MfaDevice.objects.filter(
            user__in=[m.user_id for m in members], confirmed_at__isnull=False
        ).values_list("user_id", flat=True)
    )
    session_counts: dict[int, int] = {}
    for user_id in UserSession.objects.filter(user__in=[m.user_id for m in members]).values_list(
        "user_id", flat=True
    ):
        session_counts[user_id] = session_counts.get(user_id, 0) + 1
    sso_initial: dict[str, Any] = {"groups_claim": "groups", "protocol": SsoProtocol.OIDC}
    if provider is not None:
        sso_initial = {
            "protocol": provider.protocol,
            "enabled": provider.enabled,
            "oidc_issuer": provider.oidc_issuer,
            "oidc_client_id": provider.oidc_client_id,
            "saml_idp_entity_id": provider.saml_idp_entity_id,
            "saml_idp_sso_url": provider.saml_idp_sso_url,
            "groups_claim": provider.groups_claim,
            "default_role": provider.default_role,
        }
    return render(
        request,
        "accounts/org_security.html",
        {
            "org": org,
            "policy": policy,
            "policy_form": policy_form
            or PolicyForm(
                initial={
                    "mfa_required": policy.mfa_required,
                    "idle_timeout_minutes": policy.idle_timeout_minutes,
                }
            ),
            "default_idle": settings.SESSION_IDLE_TIMEOUT_MINUTES,
            "provider": provider,
            "sso_form": sso_form or SsoProviderForm(initial=sso_initial),
            "mapping_form": mapping_form or MappingForm(organization=org),
            "mappings": list(provider.mappings.prefetch_related("brands")) if provider else [],
            "members": [
                {
                    "membership": m,
                    "mfa": m.user_id in enrolled,
                    "sessions": session_counts.get(m.user_id, 0),
                }
                for m in members
            ],
            "sp_entity_id": saml.sp_entity_id(provider) if provider else None,
            "acs_url": saml.acs_url(provider) if provider else None,
            "oidc_redirect_uri": settings.BASE_URL + reverse("sso_oidc_callback", args=[org.slug]),
            "sso_start_url": settings.BASE_URL + reverse("sso_start", args=[org.slug]),
        },
        status=status,
    )


@login_required
def org_security(request: HttpRequest) -> HttpResponse:
    return _org_page(request, _org_admin(request))


@login_required
@require_POST
def org_policy(request: HttpRequest) -> HttpResponse:
    org = _org_admin(request)
    form = PolicyForm(request.POST)
    if not form.is_valid():
        return _org_page(request, org, policy_form=form, status=400)
    try:
        actions.do_set_security_policy(
            org,
            mfa_required=form.cleaned_data["mfa_required"],
            idle_timeout_minutes=form.cleaned_data["idle_timeout_minutes"],
            acting_user=_user(request),
        )
    except ActionError as error:
        form.add_error(None, str(error))
        return _org_page(request, org, policy_form=form, status=400)
    # The person who changed it is held to it straight away (others within a minute).
    sessions.refresh(request, _user(request), now=time.time())
    messages.success(request, _("Sign-in rules saved."))
    return redirect("org_security")


@login_required
@require_POST
def org_sso(request: HttpRequest) -> HttpResponse:
    org = _org_admin(request)
    form = SsoProviderForm(request.POST)
    if not form.is_valid():
        return _org_page(request, org, sso_form=form, status=400)
    try:
        actions.do_save_sso_provider(org, acting_user=_user(request), **form.cleaned_data)
    except ActionError as error:
        form.add_error(None, str(error))
        return _org_page(request, org, sso_form=form, status=400)
    messages.success(request, _("Single sign-on settings saved."))
    return redirect("org_security")


@login_required
@require_POST
def org_sso_mapping_add(request: HttpRequest) -> HttpResponse:
    org = _org_admin(request)
    provider = get_object_or_404(
        SsoProvider.objects.restrict(_user(request), "manage_org"), organization=org
    )
    form = MappingForm(request.POST, organization=org)
    if not form.is_valid():
        return _org_page(request, org, mapping_form=form, status=400)
    try:
        actions.do_add_sso_mapping(
            provider,
            group=form.cleaned_data["group"],
            role=form.cleaned_data["role"],
            brands=form.cleaned_data["brands"],
            acting_user=_user(request),
        )
    except ActionError as error:
        form.add_error(None, str(error))
        return _org_page(request, org, mapping_form=form, status=400)
    messages.success(request, _("Group mapping added."))
    return redirect("org_security")


@login_required
@require_POST
def org_sso_mapping_remove(request: HttpRequest, pk: int) -> HttpResponse:
    org = _org_admin(request)
    mapping = get_object_or_404(
        SsoGroupMapping.objects.restrict(_user(request), "manage_org"),
        pk=pk,
        provider__organization=org,
    )
    actions.do_remove_sso_mapping(mapping, acting_user=_user(request))
    messages.success(request, _("Group mapping removed."))
    return redirect("org_security")


def _member(request: HttpRequest, org: Organization, pk: int) -> Membership:
    return get_object_or_404(
        Membership.objects.restrict(_user(request), "manage_members").select_related("user"),
        pk=pk,
        organization=org,
    )


@login_required
@require_POST
def member_revoke_sessions(request: HttpRequest, pk: int) -> HttpResponse:
    org = _org_admin(request, "manage_members")
    membership = _member(request, org, pk)
    count = actions.do_revoke_member_sessions(org, membership.user, acting_user=_user(request))
    messages.success(
        request,
        ngettext(
            "%(name)s: %(n)d session signed out.",
            "%(name)s: %(n)d sessions signed out.",
            count,
        )
        % {"name": membership.user.name, "n": count},
    )
    return redirect("org_security")


@login_required
@require_POST
def member_reset_mfa(request: HttpRequest, pk: int) -> HttpResponse:
    org = _org_admin(request, "manage_members")
    membership = _member(request, org, pk)
    try:
        actions.do_reset_member_mfa(org, membership.user, acting_user=_user(request))
    except ActionError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(name)s's authenticator is removed; they set up a new one at next sign-in.")
            % {"name": membership.user.name},
        )
    return redirect("org_security")


# --- Single sign-on --------------------------------------------------------------------------


def _enabled_provider(slug: str) -> SsoProvider:
    # Anonymous: the organisation is named by its public sign-in name; a missing organisation
    # and one without single sign-on look the same.
    provider = (
        SsoProvider.objects.select_related("organization")
        .filter(organization__slug=slug, enabled=True)
        .first()
    )
    if provider is None:
        raise Http404("No single sign-on here.")
    return provider


def sso_choose(request: HttpRequest) -> HttpResponse:
    """Ask which organisation; then a page that goes on to its identity provider.

    Not a redirect: the form's Content-Security-Policy (form-action 'self') would stop a
    redirect chain that leaves Greenroom.
    """
    form = SsoChooseForm(request.GET or None)
    start_url = None
    status = 200
    if request.GET and form.is_valid():
        slug = form.cleaned_data["organization"]
        if SsoProvider.objects.filter(organization__slug=slug, enabled=True).exists():
            start_url = reverse("sso_start", args=[slug])
            next_url = request.GET.get("next", "")
            if next_url.startswith("/"):
                start_url += "?" + urlencode({"next": next_url})
        else:
            form.add_error(
                "organization", _("No organisation with that sign-in name uses single sign-on.")
            )
            status = 404
    return render(
        request, "accounts/sso_choose.html", {"form": form, "start_url": start_url}, status=status
    )


def sso_start(request: HttpRequest, slug: str) -> HttpResponse:
    provider = _enabled_provider(slug)
    next_url = _safe_next(request, request.GET.get("next"))
    try:
        if provider.protocol == SsoProtocol.OIDC:
            auth = oidc.authorization_request(
                provider, redirect_uri=settings.BASE_URL + reverse("sso_oidc_callback", args=[slug])
            )
            request.session[OIDC_STATE] = {
                "org": provider.organization_id,
                "state": auth.state,
                "nonce": auth.nonce,
                "verifier": auth.code_verifier,
                "next": next_url,
                "at": int(time.time()),
            }
            return HttpResponseRedirect(auth.url)
        url, request_id = saml.login_url(provider)
    except (oidc.OidcError, saml.SamlError) as exc:
        log.warning("single sign-on for %s cannot start: %s", slug, exc)
        return _sso_failed(request, provider)
    request.session[SAML_STATE] = {
        "org": provider.organization_id,
        "request_id": request_id,
        "next": next_url,
        "at": int(time.time()),
    }
    return HttpResponseRedirect(url)


def _sso_failed(request: HttpRequest, provider: SsoProvider, message: str = "") -> HttpResponse:
    return render(
        request,
        "accounts/sso_failed.html",
        {
            "org": provider.organization,
            "message": message
            or _(
                "Your identity provider's answer could not be accepted. Try again; if it "
                "happens again, tell your administrator (the reason is in Greenroom's log)."
            ),
        },
        status=403,
    )


def _complete_sso(
    request: HttpRequest, provider: SsoProvider, claims: actions.SsoClaims, next_url: str
) -> HttpResponse:
    try:
        user = actions.do_sso_sign_in(provider, claims)
    except actions.SsoRefused as refusal:
        return _sso_failed(request, provider, str(refusal))
    sessions.sign_in(request, user, method=claims.method)
    return HttpResponseRedirect(_safe_next(request, next_url))


def oidc_callback(request: HttpRequest, slug: str) -> HttpResponse:
    provider = _enabled_provider(slug)
    state = request.session.pop(OIDC_STATE, None)
    if (
        not isinstance(state, dict)
        or state.get("org") != provider.organization_id
        or time.time() - state.get("at", 0) > SSO_STATE_S
        or not secrets.compare_digest(str(state.get("state", "")), request.GET.get("state", ""))
    ):
        log.warning("OIDC callback for %s with an unknown or expired state", slug)
        return _sso_failed(request, provider)
    error = request.GET.get("error", "")
    if error:
        log.warning("OIDC provider for %s answered %s", slug, error[:100])
        return _sso_failed(request, provider)
    redirect_uri = settings.BASE_URL + reverse("sso_oidc_callback", args=[slug])
    try:
        tokens = oidc.exchange_code(
            provider,
            code=request.GET.get("code", ""),
            redirect_uri=redirect_uri,
            code_verifier=state["verifier"],
        )
        claims = oidc.validate_id_token(provider, str(tokens["id_token"]), nonce=state["nonce"])
        subject, email, name, groups, method = oidc.claims_for_sign_in(provider, claims, tokens)
    except oidc.OidcError as exc:
        log.warning("OIDC sign-in for %s refused: %s", slug, exc)
        return _sso_failed(request, provider)
    return _complete_sso(
        request,
        provider,
        actions.SsoClaims(subject=subject, email=email, name=name, groups=groups, method=method),
        state.get("next", ""),
    )


@csrf_exempt  # the identity provider posts here; the signed response is the proof
@require_POST
def saml_acs(request: HttpRequest, slug: str) -> HttpResponse:
    """Check the response, then hand it to this browser's own session with a one-time ticket.

    The POST comes cross-site, so it carries no session cookie (SameSite=Lax); the redirect to
    `saml_complete` does, which binds the result to the browser that started the sign-in.
    """
    provider = _enabled_provider(slug)
    try:
        result = saml.consume_response(provider, request.POST.get("SAMLResponse", ""))
    except saml.SamlError as exc:
        log.warning("SAML sign-in for %s refused: %s", slug, exc)
        return _sso_failed(request, provider)
    ticket = secrets.token_urlsafe(32)
    cache.set(
        f"greenroom:saml-ticket:{ticket}",
        {
            "org": provider.organization_id,
            "request_id": result.request_id,
            "subject": result.subject,
            "email": result.email,
            "name": result.name,
            "groups": list(result.groups),
        },
        120,
    )
    return redirect(f"{reverse('sso_saml_complete', args=[slug])}?ticket={ticket}")


def saml_complete(request: HttpRequest, slug: str) -> HttpResponse:
    provider = _enabled_provider(slug)
    key = f"greenroom:saml-ticket:{request.GET.get('ticket', '')}"
    data = cache.get(key)
    cache.delete(key)
    state = request.session.pop(SAML_STATE, None)
    if (
        not isinstance(data, dict)
        or not isinstance(state, dict)
        or data.get("org") != provider.organization_id
        or state.get("org") != provider.organization_id
        or state.get("request_id") != data.get("request_id")
        or time.time() - state.get("at", 0) > SSO_STATE_S
    ):
        log.warning("SAML completion for %s without a matching request from this browser", slug)
        return _sso_failed(request, provider)
    claims = actions.SsoClaims(
        subject=data["subject"],
        email=data["email"],
        name=data["name"],
        groups=tuple(data["groups"]),
        method=SignInMethod.SSO_SAML,
    )
    return _complete_sso(request, provider, claims, state.get("next", ""))


def saml_metadata(request: HttpRequest, slug: str) -> HttpResponse:
    provider = get_object_or_404(SsoProvider, organization__slug=slug, protocol=SsoProtocol.SAML)
    return HttpResponse(saml.metadata_xml(provider), content_type="application/samlmetadata+xml")
