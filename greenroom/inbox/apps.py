from __future__ import annotations

from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "greenroom.inbox"
    label = "inbox"
    verbose_name = "Community inbox"

    def ready(self) -> None:
        from greenroom.core import notify as core_notify
        from greenroom.inbox import notify, signals

        signals.connect()
        # People's own apprise URLs live in their agent profiles; other apps' notices use them.
        core_notify.register_person_targets(notify.person_targets)
