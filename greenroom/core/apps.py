from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "greenroom.core"
    label = "core"
    verbose_name = "Greenroom core"

    def ready(self) -> None:
        from greenroom.core import signals  # noqa: F401
