"""Which connector class serves which network kind.

Network packages register their class with `@register`; settings.GREENROOM_NETWORKS lists the
kinds an installation enables. A kind without a connector, or one the rule table does not know,
stops start-up with a message that says what to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from greenroom.core.models import Channel
    from greenroom.networks.base import Connector

_registry: dict[str, type[Connector]] = {}

C = TypeVar("C")

SANDBOX = "sandbox"


def register(kind: str) -> Callable[[C], C]:
    def decorator(cls: C) -> C:
        if kind in _registry and _registry[kind] is not cls:
            raise ImproperlyConfigured(f"Two connectors claim the network kind {kind!r}.")
        _registry[kind] = cls  # type: ignore[assignment]
        return cls

    return decorator


def known_kinds() -> set[str]:
    """Every network the rule table describes."""
    from greenroom.networks import rules

    return set(rules.network_names())


def connector_kinds() -> set[str]:
    return set(_registry)


def check_configuration() -> None:
    """Called at start-up (NetworksConfig.ready)."""
    enabled = list(settings.GREENROOM_NETWORKS)
    unknown = [k for k in enabled if k not in _registry]
    if unknown:
        raise ImproperlyConfigured(
            f"GREENROOM_NETWORKS lists {', '.join(map(repr, unknown))}, which Greenroom has no "
            f"connector for. Known connectors: {', '.join(sorted(_registry))}. "
            "Fix the GREENROOM_NETWORKS environment variable."
        )


def channel_kind_problem(kind: str, sandboxed: bool) -> str | None:
    """Why a channel cannot have this network kind, or None (registered with core's actions)."""
    if kind not in known_kinds():
        return f"Unknown network {kind!r}. Known networks: {', '.join(sorted(known_kinds()))}."
    if not sandboxed and kind not in settings.GREENROOM_NETWORKS:
        return f"The {kind} network is not enabled in this installation (GREENROOM_NETWORKS)."
    return None


def connector_for(channel: Channel) -> Connector:
    kind = SANDBOX if channel.sandboxed else channel.kind
    try:
        cls = _registry[kind]
    except KeyError as exc:
        raise ImproperlyConfigured(f"No connector is registered for {kind!r}.") from exc
    return cls(channel)
