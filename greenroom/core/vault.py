"""Secrets encrypted at rest with MultiFernet.

Keys come from settings.VAULT_KEYS, newest first: new values are encrypted with the first key and
any listed key decrypts, so rotation is "add a key in front, run `greenroom vault rotate`, drop the
old key". Plaintext leaves this module only through `reveal()`, which connectors call when they talk
to a network; it is never rendered, logged or returned by the API.
"""

from __future__ import annotations

import threading
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from greenroom.core.models import Secret

_registered: set[str] = set()
_lock = threading.Lock()
# Encrypted fields outside `Secret` (a person's TOTP key belongs to no organisation): their apps
# register them so `rotate()` re-encrypts them with the rest.
_sealed_fields: list[tuple[type[models.Model], str]] = []


class VaultError(Exception):
    pass


def _fernet() -> MultiFernet:
    keys = settings.VAULT_KEYS
    if not keys:
        raise VaultError("No vault key configured: set GREENROOM_VAULT_KEYS.")
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise VaultError(
            "A key in GREENROOM_VAULT_KEYS is not a valid Fernet key (32 url-safe base64 bytes)."
        ) from exc


def remember_plaintext(value: str) -> None:
    """Let the log filter redact this value wherever it appears (see core.logging)."""
    if len(value) >= 8:
        with _lock:
            _registered.add(value)


def known_plaintexts() -> frozenset[str]:
    with _lock:
        return frozenset(_registered)


def hint_for(value: str) -> str:
    return "…" + value[-4:] if len(value) >= 12 else "…"


def seal(value: str) -> bytes:
    remember_plaintext(value)
    return _fernet().encrypt(value.encode())


def reveal(secret: Secret) -> str:
    return unseal(bytes(secret.ciphertext), name=f"Secret {secret.name!r}")


def unseal(ciphertext: bytes, *, name: str) -> str:
    """Decrypt a value sealed by `seal()`; `name` says what it is in the error message."""
    try:
        value = _fernet().decrypt(ciphertext).decode()
    except InvalidToken as exc:
        raise VaultError(
            f"{name} cannot be decrypted with the configured keys: "
            "was a vault key removed before `greenroom vault rotate` ran?"
        ) from exc
    remember_plaintext(value)
    return value


def register_sealed_field(model: type[models.Model], field: str) -> None:
    """Have `rotate()` re-encrypt `model.field` (a BinaryField written with `seal()`)."""
    if (model, field) not in _sealed_fields:
        _sealed_fields.append((model, field))


def rotate(batch: int = 500) -> int:
    """Re-encrypt every secret with the newest key. Returns how many were rotated."""
    f = _fernet()
    rotated = 0
    last = 0
    now: datetime = timezone.now()
    while True:
        with transaction.atomic():
            rows = list(
                Secret.objects.select_for_update().filter(pk__gt=last).order_by("pk")[:batch]
            )
            if not rows:
                break
            for secret in rows:
                try:
                    secret.ciphertext = f.rotate(bytes(secret.ciphertext))
                except InvalidToken as exc:
                    raise VaultError(
                        f"Secret {secret.name!r} cannot be decrypted with the configured keys: "
                        "keep the old key in GREENROOM_VAULT_KEYS until rotation has finished."
                    ) from exc
                secret.rotated_at = now
                secret.save(update_fields=["ciphertext", "rotated_at"])
                rotated += 1
            last = rows[-1].pk
    for model, field in _sealed_fields:
        rotated += _rotate_field(f, model, field, batch)
    return rotated


def _rotate_field(f: MultiFernet, model: type[models.Model], field: str, batch: int) -> int:
    rotated = 0
    last = 0
    manager = model._default_manager
    while True:
        with transaction.atomic():
            rows = list(
                manager.select_for_update()
                .filter(pk__gt=last)
                .exclude(**{field: b""})
                .order_by("pk")[:batch]
            )
            if not rows:
                break
            for row in rows:
                try:
                    setattr(row, field, f.rotate(bytes(getattr(row, field))))
                except InvalidToken as exc:
                    raise VaultError(
                        f"{model._meta.verbose_name} #{row.pk} cannot be decrypted with the "
                        "configured keys: keep the old key in GREENROOM_VAULT_KEYS until rotation "
                        "has finished."
                    ) from exc
                row.save(update_fields=[field])
                rotated += 1
            last = rows[-1].pk
    return rotated
