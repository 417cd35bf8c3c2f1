from __future__ import annotations

from django.apps import AppConfig


class ConnectionsConfig(AppConfig):
    name = "greenroom.networks.connections"
    label = "connections"
    verbose_name = "Network connections"
