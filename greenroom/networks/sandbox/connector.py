from __future__ import annotations

from greenroom.networks.registry import register


@register("sandbox")
class SandboxConnector:
    kind = "sandbox"
