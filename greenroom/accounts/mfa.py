"""TOTP (RFC 6238) codes, recovery codes and the enrolment QR code.

Codes are six digits over 30-second steps. A code is accepted for the current step and one step
either side (clocks drift), and only for a step newer than the last accepted one: the same code,
or an older one, cannot be used twice.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import secrets
import time

import pyotp
import segno
from django.conf import settings

STEP_S = 30
DIGITS = 6
WINDOW = 1
RECOVERY_CODE_COUNT = 10
# 12 characters of a 32-letter alphabet: 60 bits, so a copy of the hashes cannot be reversed by
# trying every code. No 0/O or 1/I/L to misread.
RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RECOVERY_GROUPS = 3
RECOVERY_GROUP_LEN = 4

_TOTP_SHAPE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    return pyotp.random_base32()  # 32 base32 characters: 160 bits, as RFC 4226 recommends


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_S)


def normalise_code(raw: str) -> str:
    """What people type: spaces and dashes dropped, letters upper-cased."""
    return re.sub(r"[\s-]", "", raw or "").upper()


def looks_like_totp(code: str) -> bool:
    return bool(_TOTP_SHAPE.match(code))


def matching_step(
    secret: str, code: str, *, after_step: int, now: float | None = None
) -> int | None:
    """The time step (within the window, newer than `after_step`) whose code is `code`."""
    if not looks_like_totp(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    step_now = current_step(now)
    for step in range(step_now - WINDOW, step_now + WINDOW + 1):
        if step <= after_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_S), code):
            return step
    return None


def code_at(secret: str, step: int) -> str:
    """The code an authenticator shows during `step` (tests and the demo use it)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).at(step * STEP_S)


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).provisioning_uri(
        name=account, issuer_name=settings.MFA_ISSUER
    )


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline SVG (drawn here: no image service, no CDN)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True, nl=False, title=None
    )
    return out.getvalue().decode()


def format_secret(secret: str) -> str:
    """The key in groups of four, for people who type it in instead of scanning."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def new_recovery_code() -> str:
    raw = "".join(
        secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUPS * RECOVERY_GROUP_LEN)
    )
    return "-".join(raw[i : i + RECOVERY_GROUP_LEN] for i in range(0, len(raw), RECOVERY_GROUP_LEN))


def hash_recovery_code(code: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{normalise_code(code)}".encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    normal = normalise_code(code)
    return len(normal) == RECOVERY_GROUPS * RECOVERY_GROUP_LEN and all(
        c in RECOVERY_ALPHABET for c in normal
    )
