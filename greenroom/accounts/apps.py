from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "greenroom.accounts"
    label = "accounts"
    verbose_name = "Greenroom sign-in security"

    def ready(self) -> None:
        from greenroom.accounts import signals  # noqa: F401
        from greenroom.accounts.models import MfaDevice
        from greenroom.core import vault

        vault.register_sealed_field(MfaDevice, "secret_ciphertext")
