from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from greenroom.accounts import actions, mfa
from greenroom.conftest import PASSWORD
from greenroom.core.models import User


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    # Throttle counters, pending SSO requests and seen assertions live in the cache, which
    # outlives a test's database transaction.
    cache.clear()
    yield
    cache.clear()


def enrol(user: User) -> tuple[str, list[str]]:
    """Turn MFA on for `user`; returns the TOTP key and the recovery codes."""
    _device, secret = actions.do_start_mfa_enrolment(user, acting_user=user)
    codes = actions.do_confirm_mfa(
        user, code=mfa.code_at(secret, mfa.current_step() - 1), acting_user=user
    )
    return secret, codes


def now_code(secret: str, offset: int = 0) -> str:
    return mfa.code_at(secret, mfa.current_step() + offset)


def password_step(client: Client, username: str, ip: str = "10.1.0.1", **extra: Any) -> Any:
    return client.post(
        "/login/", {"username": username, "password": PASSWORD, **extra}, REMOTE_ADDR=ip
    )
