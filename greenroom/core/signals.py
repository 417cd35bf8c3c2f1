"""Sign-ins and sign-outs go into the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from greenroom.core.actions import AuditAction, do_record_auth_event


@receiver(user_logged_in)
def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    do_record_auth_event(AuditAction.LOGIN, user=user, username=user.username)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        do_record_auth_event(AuditAction.LOGOUT, user=user, username=user.username)


@receiver(user_login_failed)
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    do_record_auth_event(
        AuditAction.LOGIN_FAILED, user=None, username=str(credentials.get("username", ""))[:150]
    )
