from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "greenroom.core"
    label = "core"
    verbose_name = "Greenroom core"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from greenroom.core import lookups, signals  # noqa: F401

        # Each app names its audit actions in <app>/audit_labels.py.
        autodiscover_modules("audit_labels")
