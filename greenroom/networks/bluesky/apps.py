from __future__ import annotations

from django.apps import AppConfig


class BlueskyConfig(AppConfig):
    name = "greenroom.networks.bluesky"
    label = "bluesky"
    verbose_name = "Bluesky"
