from __future__ import annotations

from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "greenroom.inbox"
    label = "inbox"
    verbose_name = "Community inbox"

    def ready(self) -> None:
        from greenroom.inbox import signals

        signals.connect()
