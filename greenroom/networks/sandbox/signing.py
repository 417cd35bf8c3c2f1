"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>", sent as `t=<unix>,v1=<hex>`.

The timestamp is signed with the body so a captured delivery cannot be replayed later than the
tolerance; the receiver compares in constant time and accepts any of several secrets, so a secret
can be rotated without dropping deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

from django.utils.translation import gettext as _

SIGNATURE_HEADER = "X-Sandbox-Signature"
DELIVERY_HEADER = "X-Sandbox-Delivery"
TOLERANCE_S = 300


class SignatureError(Exception):
    """Why a signature header was refused (the message is safe to return to the sender)."""


def compute(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},v1={compute(secret, ts, body)}"


def parse(value: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for part in value.split(","):
        key, _sep, item = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(item)
            except ValueError as exc:
                raise SignatureError(_("The signature's timestamp is not a number.")) from exc
        elif key == "v1" and item:
            signatures.append(item)
    if timestamp is None or not signatures:
        raise SignatureError(_("The signature header must look like t=<unix time>,v1=<hex>."))
    return timestamp, signatures


def verify(
    value: str | None,
    body: bytes,
    secrets: Sequence[str],
    *,
    now: float | None = None,
    tolerance_s: int = TOLERANCE_S,
) -> int:
    """Check a signature header against the body; return its timestamp or raise SignatureError."""
    if not value:
        raise SignatureError(_("The %(header)s header is missing.") % {"header": SIGNATURE_HEADER})
    timestamp, signatures = parse(value)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError(
            _(
                "The signature's timestamp is more than five minutes away from our clock: "
                "the delivery is stale or replayed."
            )
        )
    for secret in secrets:
        expected = compute(secret, timestamp, body)
        if any(hmac.compare_digest(expected, given) for given in signatures):
            return timestamp
    raise SignatureError(_("The signature does not match the body."))
