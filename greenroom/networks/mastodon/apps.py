from __future__ import annotations

from django.apps import AppConfig


class MastodonConfig(AppConfig):
    name = "greenroom.networks.mastodon"
    label = "mastodon"
    verbose_name = "Mastodon"
