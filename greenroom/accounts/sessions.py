"""What Greenroom keeps in a signed-in session, and the session list behind it.

Kept in the session (so a request costs no extra query): when it was last active, its idle
time-out, how it signed in, and whether its person must still enrol in MFA. Those facts are
refreshed from the database at most once a minute (`TOUCH_S`), so a policy change reaches every
open session within a minute.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import login
from django.http import HttpRequest
from django.utils import timezone

from greenroom.accounts.actions import (
    confirmed_device,
    idle_timeout_minutes_for,
    mfa_required_for,
)
from greenroom.accounts.models import SignInMethod, UserSession
from greenroom.core.middleware import client_ip
from greenroom.core.models import User

LAST_ACTIVITY = "greenroom_last_activity"
IDLE_MINUTES = "greenroom_idle_minutes"
METHOD = "greenroom_sign_in_method"
NEEDS_MFA = "greenroom_needs_mfa_enrolment"
# The session key the session list knows this session by; Django changes the key on sign-in and
# on a password change, and the row must follow.
TRACKED_KEY = "greenroom_tracked_session_key"
TOUCH_S = 60
SSO_METHODS = frozenset({SignInMethod.SSO_OIDC, SignInMethod.SSO_SAML})


def sign_in(request: HttpRequest, user: User, *, method: str, backend: str | None = None) -> None:
    """Authenticate the session (Django's login: new session key) and start tracking it."""
    login(request, user, backend=backend or "django.contrib.auth.backends.ModelBackend")
    request.session[METHOD] = method
    refresh(request, user, now=time.time(), force_row=True)


def refresh(request: HttpRequest, user: User, *, now: float, force_row: bool = False) -> None:
    """Note activity, reload the person's idle time-out and MFA duty, and update the session row."""
    session = request.session
    session[LAST_ACTIVITY] = int(now)
    session[IDLE_MINUTES] = idle_timeout_minutes_for(user)
    method = session.get(METHOD, "")
    session[NEEDS_MFA] = (
        method not in SSO_METHODS and mfa_required_for(user) and confirmed_device(user) is None
    )
    if session.session_key is None:
        session.save()
    key = session.session_key
    if key is None:
        return
    tracked = session.get(TRACKED_KEY)
    if tracked and tracked != key:
        UserSession.objects.filter(session_key=tracked, user=user).delete()
    session[TRACKED_KEY] = key
    seen = timezone.now()
    ip = client_ip(request)
    updated = UserSession.objects.filter(session_key=key, user=user).update(
        last_seen_at=seen, ip=ip
    )
    if not updated or force_row:
        UserSession.objects.update_or_create(
            session_key=key,
            defaults={
                "user": user,
                "user_agent": request.headers.get("User-Agent", "")[:300],
                "ip": ip,
                "method": method,
                "last_seen_at": seen,
            },
        )


def mark_enrolled(request: HttpRequest) -> None:
    request.session[NEEDS_MFA] = False


def describe(row: UserSession, current_key: str | None) -> dict[str, Any]:
    return {
        "row": row,
        "current": row.session_key == current_key,
        "browser": browser_label(row.user_agent),
    }


def browser_label(user_agent: str) -> str:
    """A short "Chrome on Windows" from a user-agent string (no parser library for one line)."""
    ua = user_agent or ""
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
                ("curl/", "curl"),
            )
            if token in ua
        ),
        "",
    )
    system = next(
        (
            name
            for token, name in (
                ("Windows", "Windows"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Android", "Android"),
                ("Mac OS X", "macOS"),
                ("CrOS", "ChromeOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    if browser and system:
        return f"{browser} · {system}"
    return browser or system or (ua[:60] if ua else "")
