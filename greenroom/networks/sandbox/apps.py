from __future__ import annotations

from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "greenroom.networks.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox network"
