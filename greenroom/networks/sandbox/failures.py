"""How badly the sandbox behaves: latency, random 5xx, 429s with Retry-After, and writes that
commit and then hang past the client's timeout (so the client cannot know whether they worked).

Defaults come from settings (SANDBOX_LATENCY_MS ...); a global row and per-account rows override
them field by field; `/sandbox/admin/failures` edits the rows.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from greenroom.networks.sandbox.models import (
    SandboxAccount,
    SandboxFailureSettings,
    SandboxRateWindow,
)
from greenroom.networks.sandbox.service import ApiError


@dataclass(frozen=True)
class Failures:
    latency_ms: int = 0
    error_rate: float = 0.0
    rate_limit_per_minute: int = 0  # 0: no limit
    retry_after_s: int = 30
    timeout_rate: float = 0.0
    timeout_s: float = 30.0


FIELDS = tuple(f.name for f in fields(Failures))

# Set by `calm()`: the demo seeds its data without injected failures, whatever the settings say.
_calm = False


@contextmanager
def calm() -> Iterator[None]:
    global _calm
    previous, _calm = _calm, True
    try:
        yield
    finally:
        _calm = previous


def defaults() -> Failures:
    return Failures(
        latency_ms=int(settings.SANDBOX_LATENCY_MS),
        error_rate=float(settings.SANDBOX_ERROR_RATE),
        rate_limit_per_minute=int(settings.SANDBOX_RATE_LIMIT_PER_MINUTE),
        retry_after_s=int(settings.SANDBOX_RETRY_AFTER_S),
        timeout_rate=float(settings.SANDBOX_TIMEOUT_RATE),
        timeout_s=float(settings.SANDBOX_TIMEOUT_S),
    )


def _overlay(base: Failures, row: SandboxFailureSettings | None) -> Failures:
    if row is None:
        return base
    changes = {name: getattr(row, name) for name in FIELDS if getattr(row, name) is not None}
    return replace(base, **changes)


def effective(account: SandboxAccount | None) -> Failures:
    """The failure settings that apply to a request of this account."""
    if _calm:
        return Failures(rate_limit_per_minute=0)
    result = _overlay(defaults(), SandboxFailureSettings.objects.filter(is_global=True).first())
    if account is not None:
        row = SandboxFailureSettings.objects.filter(account=account).first()
        result = _overlay(result, row)
    return result


def _validate(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ApiError(
            400,
            "unknown_setting",
            _("Unknown failure settings: %(names)s. Known: %(known)s.")
            % {"names": ", ".join(sorted(unknown)), "known": ", ".join(FIELDS)},
        )
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            clean[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ApiError(
                400,
                "invalid_setting",
                _("%(name)s must be a non-negative number or null.") % {"name": name},
            )
        if name in ("error_rate", "timeout_rate") and value > 1:
            raise ApiError(
                400, "invalid_setting", _("%(name)s is a share between 0 and 1.") % {"name": name}
            )
        clean[name] = (
            float(value) if name in ("error_rate", "timeout_rate", "timeout_s") else int(value)
        )
    return clean


@transaction.atomic
def update(account: SandboxAccount | None, values: dict[str, Any]) -> SandboxFailureSettings:
    """Set some failure settings globally (account None) or for one account; null inherits."""
    clean = _validate(values)
    if account is None:
        row, _created = SandboxFailureSettings.objects.get_or_create(is_global=True)
    else:
        row, _created = SandboxFailureSettings.objects.get_or_create(account=account)
    for name, value in clean.items():
        setattr(row, name, value)
    row.save()
    return row


def row_json(row: SandboxFailureSettings | None) -> dict[str, Any]:
    return {name: getattr(row, name) if row is not None else None for name in FIELDS}


def as_json(failures: Failures) -> dict[str, Any]:
    return asdict(failures)


def should_fail(failures: Failures) -> bool:
    return failures.error_rate > 0 and random.random() < failures.error_rate


def should_hang(failures: Failures) -> bool:
    return failures.timeout_rate > 0 and random.random() < failures.timeout_rate


def count_request(account: SandboxAccount, failures: Failures) -> None:
    """Count one request in the account's current minute; 429 with Retry-After past the limit."""
    limit = failures.rate_limit_per_minute
    if limit <= 0:
        return
    now = timezone.now()
    window = now.replace(second=0, microsecond=0)
    with transaction.atomic():
        updated = SandboxRateWindow.objects.filter(account=account, window_start=window).update(
            count=F("count") + 1
        )
        if not updated:
            try:
                with transaction.atomic():
                    SandboxRateWindow.objects.create(account=account, window_start=window, count=1)
            except IntegrityError:
                SandboxRateWindow.objects.filter(account=account, window_start=window).update(
                    count=F("count") + 1
                )
            # Old windows are useless; drop them while we are here.
            SandboxRateWindow.objects.filter(
                account=account, window_start__lt=window - timedelta(minutes=10)
            ).delete()
        count = (
            SandboxRateWindow.objects.filter(account=account, window_start=window)
            .values_list("count", flat=True)
            .first()
        )
    if count is not None and count > limit:
        raise ApiError(
            429,
            "rate_limited",
            _("Too many requests: this account may make %(limit)s per minute. Retry later.")
            % {"limit": limit},
            headers={"Retry-After": str(failures.retry_after_s)},
        )
