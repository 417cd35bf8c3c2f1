from __future__ import annotations

from django.apps import AppConfig


class NetworksConfig(AppConfig):
    name = "greenroom.networks"
    label = "networks"
    verbose_name = "Networks"

    def ready(self) -> None:
        # Connector packages register themselves on import; then the configuration is checked.
        from greenroom.networks import registry
        from greenroom.networks.bluesky import connector as _bluesky  # noqa: F401
        from greenroom.networks.linkedin import connector as _linkedin  # noqa: F401
        from greenroom.networks.mastodon import connector as _mastodon  # noqa: F401
        from greenroom.networks.mastodon import oauth as _mastodon_oauth  # noqa: F401
        from greenroom.networks.meta import connector as _meta  # noqa: F401
        from greenroom.networks.sandbox import connector  # noqa: F401
        from greenroom.networks.tiktok import connector as _tiktok  # noqa: F401
        from greenroom.networks.x import connector as _x  # noqa: F401
        from greenroom.networks.youtube import connector as _youtube  # noqa: F401

        registry.check_configuration()

        from greenroom.core import actions

        actions.channel_kind_problem = registry.channel_kind_problem

        from greenroom.networks import health
        from greenroom.networks import held as _held  # noqa: F401  (its task)

        health.connect()
