"""Sign-in with throttling, sign-out, password reset and change.

Throttling lives in the authentication form rather than the view so that every form that signs
people in (ours and the operators' admin) refuses in the same way, before any password is checked.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, SetPasswordForm
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpResponse
from django.utils.translation import ngettext

from greenroom.core import actions
from greenroom.core.actions import AuditAction
from greenroom.core.middleware import client_ip
from greenroom.core.models import User

THROTTLED = "throttled"


def _key(kind: str, value: str) -> str:
    # Hashed so any username or address makes a safe cache key of fixed length.
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()
    return f"greenroom:login-failures:{kind}:{digest}"


def _failures(key: str) -> int:
    value = cache.get(key, 0)
    return value if isinstance(value, int) else 0


def _bump(key: str) -> None:
    # add() starts the window at the first failure; incr() keeps its expiry.
    cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW_S)
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW_S)


@dataclass(frozen=True)
class Refusal:
    message: str


def _minutes() -> int:
    return max(1, math.ceil(settings.LOGIN_FAILURE_WINDOW_S / 60))


def check_throttle(username: str, ip: str | None) -> Refusal | None:
    """A refusal when this username or this address has failed too often in the window."""
    limit = settings.LOGIN_FAILURE_LIMIT
    minutes = _minutes()
    if _failures(_key("user", username)) >= limit:
        return Refusal(
            ngettext(
                "Too many failed sign-ins for this account. Try again in %(minutes)d minute "
                "or reset your password.",
                "Too many failed sign-ins for this account. Try again in %(minutes)d minutes "
                "or reset your password.",
                minutes,
            )
            % {"minutes": minutes}
        )
    if ip and _failures(_key("ip", ip)) >= limit:
        return Refusal(
            ngettext(
                "Too many failed sign-ins from your network. Try again in %(minutes)d minute.",
                "Too many failed sign-ins from your network. Try again in %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes}
        )
    return None


def record_failure(username: str, ip: str | None) -> None:
    _bump(_key("user", username))
    if ip:
        _bump(_key("ip", ip))


def clear_user_failures(username: str) -> None:
    cache.delete(_key("user", username))


# The same counters for other sign-in steps (the second factor counts under its own kind, so a
# right password cannot wipe out failed codes).
def note_failure(kind: str, value: str) -> None:
    _bump(_key(kind, value))


def failure_count(kind: str, value: str) -> int:
    return _failures(_key(kind, value))


def forget_failures(kind: str, value: str) -> None:
    cache.delete(_key(kind, value))


class ThrottledAuthenticationForm(AuthenticationForm):
    """Refuses without checking the password once a username or an address failed too often."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return super().clean()
        ip = client_ip(self.request) if self.request is not None else None
        refusal = check_throttle(username, ip)
        if refusal is not None:
            actions.do_record_auth_event(
                AuditAction.LOGIN_THROTTLED, user=None, username=username[:150]
            )
            raise ValidationError(refusal.message, code=THROTTLED)
        try:
            data = super().clean()
        except ValidationError as error:
            if getattr(error, "code", None) == "invalid_login":
                record_failure(username, ip)
            raise
        clear_user_failures(username)
        return data


class ThrottledAdminAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, THROTTLED):
            response.status_code = 429
        return response


class LogoutView(auth_views.LogoutView):
    """POST only (Django's default): a link or an image cannot sign anyone out."""


class ActionSetPasswordForm(SetPasswordForm):  # type: ignore[type-arg]
    """Password reset through an emailed link; the write goes through actions."""

    def save(self, commit: bool = True) -> Any:
        user: User = self.user
        actions.do_set_password(
            user, password=self.cleaned_data["new_password1"], how="reset", acting_user=user
        )
        # The person proved they own the address: let them sign in again straight away.
        clear_user_failures(user.username)
        return user


class ActionPasswordChangeForm(PasswordChangeForm):
    def save(self, commit: bool = True) -> Any:
        user: User = self.user
        actions.do_set_password(
            user, password=self.cleaned_data["new_password1"], how="changed", acting_user=user
        )
        return user


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    extra_email_context = {"product": "Greenroom"}


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = ActionSetPasswordForm
    template_name = "registration/password_reset_confirm.html"


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = ActionPasswordChangeForm
    template_name = "registration/password_change_form.html"


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"
