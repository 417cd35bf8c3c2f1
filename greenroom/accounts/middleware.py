"""Idle time-out, the session list's bookkeeping and the organisation's MFA rule, per request."""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from greenroom.accounts import sessions
from greenroom.accounts.actions import do_record_idle_sign_out
from greenroom.accounts.models import UserSession
from greenroom.core.models import User

# Requests that neither count as activity nor get redirected.
PASSIVE_PREFIXES = ("/static/", "/healthz", "/sandbox/", "/hooks/")
# What someone who must enrol in MFA may still open.
ENROLMENT_OPEN_PREFIXES = (
    "/settings/security/",
    "/logout/",
    "/login/",
    "/i18n/",
    "/settings/language/",
)
# Polling (`hx-trigger="every 15s"`) sends this header so an open tab does not keep its session
# alive forever. EventSource cannot send headers of its own; its Accept header marks it instead.
BACKGROUND_HEADER = "X-Greenroom-Background"
EVENT_STREAM = "text/event-stream"


def _login_url(request: HttpRequest) -> str:
    url = reverse("login")
    if request.method == "GET" and not request.headers.get("HX-Request"):
        return f"{url}?{urlencode({'next': request.get_full_path()})}"
    return url


def _send_to(request: HttpRequest, url: str, *, status: int, message: str) -> HttpResponse:
    """A redirect a browser, htmx and an API client each understand."""
    if request.headers.get("HX-Request"):
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
        response["HX-Redirect"] = url
        return response
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponseRedirect(url)


class SessionSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            not isinstance(user, User)
            or not user.is_authenticated
            or request.path.startswith(PASSIVE_PREFIXES)
        ):
            return self.get_response(request)
        session = request.session
        now = time.time()
        last = session.get(sessions.LAST_ACTIVITY)
        idle = session.get(sessions.IDLE_MINUTES) or settings.SESSION_IDLE_TIMEOUT_MINUTES
        if isinstance(last, int) and now - last > idle * 60:
            return self._idle_sign_out(request, user, idle)
        background = (
            request.headers.get(BACKGROUND_HEADER) == "1"
            or request.headers.get("Accept") == EVENT_STREAM
        )
        if (
            not isinstance(last, int)
            or (not background and now - last >= sessions.TOUCH_S)
            or session.get(sessions.TRACKED_KEY) != session.session_key
        ):
            sessions.refresh(request, user, now=now)
        if session.get(sessions.NEEDS_MFA) and not request.path.startswith(ENROLMENT_OPEN_PREFIXES):
            return _send_to(
                request,
                reverse("mfa_enrol"),
                status=403,
                message=_(
                    "Your organisation requires two-factor authentication: set it up to go on."
                ),
            )
        return self.get_response(request)

    def _idle_sign_out(self, request: HttpRequest, user: User, idle: int) -> HttpResponse:
        key = request.session.session_key
        login_url = _login_url(request)
        logout(request)
        if key:
            UserSession.objects.filter(session_key=key).delete()
        do_record_idle_sign_out(user, idle_minutes=idle)
        message = ngettext(
            "You were signed out after %(minutes)d idle minute. Sign in again to go on.",
            "You were signed out after %(minutes)d idle minutes. Sign in again to go on.",
            idle,
        ) % {"minutes": idle}
        messages.info(request, message)
        return _send_to(request, login_url, status=401, message=message)
