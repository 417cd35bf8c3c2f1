from __future__ import annotations

from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "greenroom.networks"
    label = "networks"
    verbose_name = "Networks"

    def ready(self) -> None:
        # Connector packages register themselves on import; then the configuration is checked.
        from greenroom.networks import registry
        from greenroom.networks.sandbox import connector  # noqa: F401

        registry.check_configuration()

        from greenroom.core import actions

        actions.channel_kind_problem = registry.channel_kind_problem
